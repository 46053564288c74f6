import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;

/// Lesson 22: on loopback, a closed peer and an abortive close; on two hosts (a and b, one cable),
/// a pulled cable, found by nothing, by keep-alive and by a heartbeat, and a firewall that drops
/// against one that rejects.
@ResourceLock("network-namespaces")
class DeadPeersTest {
    static TestNetwork network;

    @BeforeAll
    static void build() throws IOException {
        if (Net.unavailable() == null) network = TestNetwork.build(Net.Topology.PAIR);
    }

    @AfterAll
    static void remove() throws IOException {
        if (network != null) network.close();
    }

    /// The echo server on a, if the test started one.
    LessonRun echoServer;

    @AfterEach
    void plugTheCableBack() throws IOException {
        if (echoServer != null) echoServer.close();
        if (network != null) {
            network.net.cut("a-b", false);
            network.net.firewall("a", 1, Net.Firewall.OPEN);
        }
    }

    @Test
    void aWriteToAClosedPeerSucceedsAndTheNextOneFails() throws Exception {
        List<String> seen = DeadPeers.writeToClosedPeer();
        assertThat(seen.get(0)).isEqualTo("read: end of stream (the peer's FIN)");
        assertThat(seen.get(1)).as("the first write only reaches our kernel").isEqualTo("write 1: succeeded");
        assertThat(seen.get(2)).as("the peer's kernel answered write 1 with a reset")
                .matches("write 2: failed: (Broken pipe|Connection reset( by peer)?)");
    }

    /// The chapter shows this in jshell: SO_LINGER 0 makes close() send a reset instead of a FIN,
    /// and the side that closed keeps no TIME_WAIT.
    @Test
    void anAbortiveCloseLeavesNoTimeWait() throws IOException {
        assertThat(timeWaitAfterClose(false)).as("after a normal close, the side that closed first waits").isEqualTo(1);
        assertThat(timeWaitAfterClose(true)).as("after SO_LINGER 0 (a reset), nothing waits").isZero();
    }

    /// Closes a loopback connection, abortively or not, checks what the peer's read sees, and
    /// counts whether the kernel keeps the client's end in TIME_WAIT.
    static long timeWaitAfterClose(boolean abort) throws IOException {
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            var client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
            String clientPort = ":" + client.getLocalPort();
            try (Socket accepted = listener.accept()) {
                accepted.setSoTimeout(5_000);
                if (abort) client.setOption(StandardSocketOptions.SO_LINGER, 0);
                client.close();
                if (abort) {
                    assertThatThrownBy(() -> accepted.getInputStream().read()).hasMessageContaining("Connection reset");
                } else {
                    assertThat(accepted.getInputStream().read()).as("the FIN: end of stream").isEqualTo(-1);
                }
            }
            // This connection only: the port 0 gave the listener may have served others a minute ago,
            // and their TIME_WAITs may still be there.
            return SocketTable.rows(listener.getLocalPort()).stream()
                    .filter(row -> row.state().equals("TIME-WAIT") && row.local().endsWith(clientPort)).count();
        }
    }

    /// The echo server's port on a: a's namespace is this test's own, so nothing else listens there.
    static final int PORT = 1234;

    /// Starts the peer on a: socat's echo (PIPE: what it reads, it writes back), for one connection.
    void startEchoServerOnA() throws IOException {
        TestNetwork.assumeAvailable();
        echoServer = LessonRun.startProcess(network.net.on("a",
                List.of("socat", "TCP-LISTEN:" + PORT + ",reuseaddr", "PIPE")));
        await().atMost(Duration.ofSeconds(10)).until(() -> network.run("a", Duration.ofSeconds(10),
                "ss", "-Hltn", "sport = :" + PORT).output().contains(":" + PORT));
    }

    static LessonRun clientOnB(String detect) throws IOException {
        return network.lesson("b", "DeadPeers", "--connect", "a", "--port", String.valueOf(PORT), "--detect", detect);
    }

    @Test
    void aRejectingFirewallRefusesAtOnceADroppingOneLetsConnectWait() throws Exception {
        startEchoServerOnA();
        network.net.firewall("a", PORT, Net.Firewall.REJECT);
        try (LessonRun client = clientOnB("none")) {
            assertThat(client.exitCode(Duration.ofSeconds(20))).isEqualTo(1);
            // At once: the RST comes back in a round trip; a busy machine may add a second, never five.
            assertThat(client.stdout()).containsPattern("connect failed after [0-2]\\.\\d s: Connection refused");
        }
        network.net.firewall("a", PORT, Net.Firewall.DROP);
        try (LessonRun client = clientOnB("none")) {
            assertThat(client.exitCode(Duration.ofSeconds(30))).isEqualTo(1);
            assertThat(client.stdout()).containsPattern("connect failed after [5-9]\\.\\d s: Connect timed out");
        }
    }

    @Test
    void withTheCableOutAWriteSucceedsAndTheReadWaitsUntilItIsBack() throws Exception {
        startEchoServerOnA();
        try (LessonRun client = clientOnB("none")) {
            client.awaitLine(Pattern.compile("reply \"tick 1\""), Duration.ofSeconds(20));
            network.net.cut("a-b", true);
            Matcher wrote = client.awaitLine(Pattern.compile("wrote \"tick (\\d+)\""), Duration.ofSeconds(10));
            String tick = wrote.group(1);
            // No FIN, no RST: for five seconds the read just waits, while the kernel retransmits.
            assertThatThrownBy(() -> client.awaitLine(Pattern.compile("reply"), Duration.ofSeconds(5)))
                    .isInstanceOf(AssertionError.class).hasMessageContaining("no line matching");
            // ss -o shows the retransmission timer: timer:(on,TIME LEFT,RETRANSMISSIONS SO FAR).
            assertThat(network.run("b", Duration.ofSeconds(10), "ss", "-tnio", "dst", "10.10.1.1").output())
                    .as("b's kernel is retransmitting").containsPattern("timer:\\(on,[^,]+,[1-9]\\d*\\)")
                    .containsPattern("backoff:[1-9]");
            network.net.cut("a-b", false);
            client.awaitLine(Pattern.compile("reply \"tick " + tick + "\" after [5-9]\\.\\d s|reply \"tick " + tick
                    + "\" after \\d\\d\\.\\d s"), Duration.ofSeconds(30));
        }
    }

    @Test
    void keepAliveFindsTheDeadPeerInAboutFiveSeconds() throws Exception {
        startEchoServerOnA();
        try (LessonRun client = clientOnB("keepalive")) {
            client.awaitLine(Pattern.compile("keep-alive on"), Duration.ofSeconds(20));
            network.net.cut("a-b", true);
            Matcher found = client.awaitLine(Pattern.compile(
                    "dead peer found by keep-alive after (\\d+\\.\\d) s idle: Connection timed out"), Duration.ofSeconds(30));
            // 2 s idle, then 3 probes 1 s apart: about 5 s, not Linux's default of 2 h 11 min.
            assertThat(Double.parseDouble(found.group(1))).isBetween(4.0, 9.0);
        }
    }

    @Test
    void aHeartbeatFindsTheDeadPeerWithinItsDeadline() throws Exception {
        startEchoServerOnA();
        try (LessonRun client = clientOnB("heartbeat")) {
            client.awaitLine(Pattern.compile("ping 2 answered"), Duration.ofSeconds(20));
            network.net.cut("a-b", true);
            Matcher found = client.awaitLine(Pattern.compile(
                    "dead peer found by heartbeat: no reply to ping \\d+ within 2 s, (\\d+\\.\\d) s after the last reply"),
                    Duration.ofSeconds(20));
            assertThat(Double.parseDouble(found.group(1))).isBetween(2.0, 4.5);
        }
    }
}
