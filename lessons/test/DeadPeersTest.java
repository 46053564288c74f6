import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
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

    @AfterEach
    void plugTheCableBack() throws IOException {
        if (network != null) {
            network.net.cut("a-b", false);
            network.net.firewall("a", 1, Net.Firewall.OPEN);
        }
    }

    @Test
    void aWriteToAClosedPeerSucceedsAndTheNextOneFails() throws IOException {
        List<String> seen = DeadPeers.writeToClosedPeer();
        assertThat(seen.get(0)).isEqualTo("read: end of stream (the peer's FIN)");
        assertThat(seen.get(1)).as("the first write only reaches our kernel").isEqualTo("write 1: succeeded");
        assertThat(seen.get(2)).as("the peer's kernel answered write 1 with a reset")
                .matches("write 2: failed: (Broken pipe|Connection reset( by peer)?)");
    }

    @Test
    void anAbortiveCloseLeavesNoTimeWait() throws IOException {
        List<Integer> timeWait = DeadPeers.timeWaitAfterClose();
        assertThat(timeWait.get(0)).as("after a normal close, the side that closed first waits").isEqualTo(1);
        assertThat(timeWait.get(1)).as("after SO_LINGER 0 (a reset), nothing waits").isZero();
    }

    static LessonRun serverOnA() throws IOException {
        TestNetwork.assumeAvailable();
        return network.lesson("a", "DeadPeers", "--serve", "--port", "0");
    }

    static LessonRun clientOnB(int port, String detect) throws IOException {
        return network.lesson("b", "DeadPeers", "--connect", "a", "--port", String.valueOf(port), "--detect", detect);
    }

    @Test
    void aRejectingFirewallRefusesAtOnceADroppingOneLetsConnectWait() throws Exception {
        try (LessonRun server = serverOnA()) {
            int port = server.awaitListeningPort();
            network.net.firewall("a", port, Net.Firewall.REJECT);
            try (LessonRun client = clientOnB(port, "none")) {
                assertThat(client.exitCode(Duration.ofSeconds(20))).isEqualTo(1);
                // At once: the RST comes back in a round trip; a busy machine may add a second, never five.
                assertThat(client.stdout()).containsPattern("connect failed after [0-2]\\.\\d s: Connection refused");
            }
            network.net.firewall("a", port, Net.Firewall.DROP);
            try (LessonRun client = clientOnB(port, "none")) {
                assertThat(client.exitCode(Duration.ofSeconds(30))).isEqualTo(1);
                assertThat(client.stdout()).containsPattern("connect failed after [5-9]\\.\\d s: Connect timed out");
            }
        }
    }

    @Test
    void withTheCableOutAWriteSucceedsAndTheReadWaitsUntilItIsBack() throws Exception {
        try (LessonRun server = serverOnA()) {
            int port = server.awaitListeningPort();
            try (LessonRun client = clientOnB(port, "none")) {
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
    }

    @Test
    void keepAliveFindsTheDeadPeerInAboutFiveSeconds() throws Exception {
        try (LessonRun server = serverOnA()) {
            int port = server.awaitListeningPort();
            try (LessonRun client = clientOnB(port, "keepalive")) {
                client.awaitLine(Pattern.compile("keep-alive on"), Duration.ofSeconds(20));
                network.net.cut("a-b", true);
                Matcher found = client.awaitLine(Pattern.compile(
                        "dead peer found by keep-alive after (\\d+\\.\\d) s idle: Connection timed out"), Duration.ofSeconds(30));
                // 2 s idle, then 3 probes 1 s apart: about 5 s, not Linux's default of 2 h 11 min.
                assertThat(Double.parseDouble(found.group(1))).isBetween(4.0, 9.0);
            }
        }
    }

    @Test
    void aHeartbeatFindsTheDeadPeerWithinItsDeadline() throws Exception {
        try (LessonRun server = serverOnA()) {
            int port = server.awaitListeningPort();
            try (LessonRun client = clientOnB(port, "heartbeat")) {
                server.awaitLine(Pattern.compile("read \"ping 2\""), Duration.ofSeconds(20));
                network.net.cut("a-b", true);
                Matcher found = client.awaitLine(Pattern.compile(
                        "dead peer found by heartbeat: no reply to ping \\d+ within 2 s, (\\d+\\.\\d) s after the last reply"),
                        Duration.ofSeconds(20));
                assertThat(Double.parseDouble(found.group(1))).isBetween(2.0, 4.5);
            }
        }
    }
}
