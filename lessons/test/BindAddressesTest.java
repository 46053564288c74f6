import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;

/// Lesson 21 on two hosts, a (10.10.1.1, fd10:10:1::1) and b, joined by one cable: which bind
/// address lets b in, and a client that falls back from one address to the next.
@ResourceLock("network-namespaces")
class BindAddressesTest {
    static TestNetwork network;

    /// One network for the class; tests that need it are skipped, with the reason, where there is none.
    @BeforeAll
    static void build() throws IOException {
        if (Net.unavailable() == null) network = TestNetwork.build(Net.Topology.PAIR);
    }

    @AfterAll
    static void remove() throws IOException {
        if (network != null) network.close();
    }

    /// Starts the lesson's server on host a, bound to `bind`, and returns its port.
    static LessonRun serverOnA(String bind) throws Exception {
        TestNetwork.assumeAvailable();
        return network.lesson("a", "BindAddresses", "--bind", bind, "--port", "0");
    }

    @Test
    void loopbackIsReachableFromTheSameHostOnly() throws Exception {
        try (LessonRun server = serverOnA("127.0.0.1")) {
            int port = server.awaitListeningPort();
            assertThat(network.connects("a", "127.0.0.1", port)).as("from a itself").isTrue();
            assertThat(network.connects("b", "10.10.1.1", port)).as("from b, to a's address").isFalse();
        }
    }

    @Test
    void javasIpv4WildcardLetsInIpv6Too() throws Exception {
        try (LessonRun server = serverOnA("0.0.0.0")) {
            int port = server.awaitListeningPort();
            assertThat(network.connects("b", "10.10.1.1", port)).as("from b over IPv4").isTrue();
            assertThat(network.connects("a", "127.0.0.1", port)).as("from a over loopback").isTrue();
            assertThat(network.connects("b", "fd10:10:1::1", port)).as("from b over IPv6: Java bound ::").isTrue();
        }
    }

    @Test
    void withTheIpv4StackTheWildcardIsIpv4Only() throws Exception {
        TestNetwork.assumeAvailable();
        try (LessonRun server = network.lesson("a", List.of("-Djava.net.preferIPv4Stack=true"),
                "BindAddresses", "--bind", "0.0.0.0", "--port", "0")) {
            int port = server.awaitListeningPort();
            assertThat(network.connects("b", "10.10.1.1", port)).as("from b over IPv4").isTrue();
            assertThat(network.connects("b", "fd10:10:1::1", port)).as("from b over IPv6").isFalse();
        }
    }

    @Test
    void oneAddressIsReachableThroughThatAddressOnly() throws Exception {
        try (LessonRun server = serverOnA("10.10.1.1")) {
            int port = server.awaitListeningPort();
            assertThat(network.connects("b", "10.10.1.1", port)).isTrue();
            assertThat(network.connects("a", "127.0.0.1", port)).as("a's own loopback is another address").isFalse();
        }
    }

    @Test
    void javasIpv6WildcardIsDualStack() throws Exception {
        try (LessonRun server = serverOnA("::")) {
            int port = server.awaitListeningPort();
            assertThat(network.connects("b", "fd10:10:1::1", port)).as("over IPv6").isTrue();
            assertThat(network.connects("b", "10.10.1.1", port)).as("over IPv4, as ::ffff:10.10.1.2").isTrue();
            // The kernel hands Java the peer as ::ffff:10.10.1.2; Java shows it as a plain IPv4 address.
            server.awaitLine(Pattern.compile("you reached /10\\.10\\.1\\.1:\\d+ from /10\\.10\\.1\\.2"), Duration.ofSeconds(10));
        }
    }

    @Test
    void anIpv6OnlySocketRefusesIpv4() throws Exception {
        TestNetwork.assumeAvailable();
        // Java sets no IPV6_V6ONLY; socat does, with ipv6only=1, as a C server would with setsockopt.
        int port = 4321;
        try (LessonRun socat = LessonRun.startProcess(network.net.on("a", java.util.List.of(
                "socat", "TCP6-LISTEN:" + port + ",ipv6only=1,reuseaddr,fork", "EXEC:/bin/true")))) {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> socat.process().isAlive() && network.connects("a", "::1", port));
            assertThat(network.connects("b", "fd10:10:1::1", port)).as("over IPv6").isTrue();
            assertThat(network.connects("b", "10.10.1.1", port)).as("over IPv4").isFalse();
        }
    }

    @Test
    void theClientTriesEachAddressInTurn() throws Exception {
        // a listens on its IPv6 address only; Java lists "a"'s IPv4 address first.
        try (LessonRun server = serverOnA("fd10:10:1::1")) {
            int port = server.awaitListeningPort();
            try (LessonRun client = network.lesson("b", "BindAddresses", "--connect", "a", "--port", String.valueOf(port))) {
                assertThat(client.exitCode(Duration.ofSeconds(30))).as(client.output()).isZero();
                assertThat(client.stdout()).containsSubsequence(
                        "a resolves to 2 addresses: 10.10.1.1, fd10:10:1:0:0:0:0:1",
                        "trying 10.10.1.1", "Connection refused",
                        "trying fd10:10:1:0:0:0:0:1", "connected to a/[fd10:10:1:0:0:0:0:1]",
                        "the server says: you reached /[fd10:10:1:0:0:0:0:1]:" + port);
            }
        }
    }

    @Test
    void theResolversOwnOrderPutsIpv6First() throws Exception {
        TestNetwork.assumeAvailable();
        try (LessonRun server = serverOnA("10.10.1.1")) {
            int port = server.awaitListeningPort();
            try (LessonRun client = network.lesson("b", List.of("-Djava.net.preferIPv6Addresses=system"),
                    "BindAddresses", "--connect", "a", "--port", String.valueOf(port))) {
                assertThat(client.exitCode(Duration.ofSeconds(30))).as(client.output()).isZero();
                assertThat(client.stdout()).containsSubsequence(
                        "a resolves to 2 addresses: fd10:10:1:0:0:0:0:1, 10.10.1.1",
                        "trying fd10:10:1:0:0:0:0:1", "Connection refused", "trying 10.10.1.1", "connected to a/10.10.1.1");
            }
        }
    }

    @Test
    void aDroppedAddressCostsTheClientItsTimeoutBeforeTheNext() throws Exception {
        try (LessonRun server = serverOnA("::")) {
            int port = server.awaitListeningPort();
            // Make a drop every IPv4 packet to that port: the first attempt now gets no answer at all.
            network.net.run("a", "nft", "add", "table", "ip", "course");
            network.net.run("a", "nft", "add", "chain", "ip", "course", "input", "{ type filter hook input priority 0 ; }");
            network.net.run("a", "nft", "add", "rule", "ip", "course", "input", "tcp", "dport", String.valueOf(port), "drop");
            try (LessonRun client = network.lesson("b", "BindAddresses", "--connect", "a", "--port", String.valueOf(port))) {
                assertThat(client.exitCode(Duration.ofSeconds(30))).as(client.output()).isZero();
                assertThat(client.stdout()).containsSubsequence("trying 10.10.1.1",
                        "10.10.1.1: no answer within " + BindAddresses.ATTEMPT_TIMEOUT.toMillis() + " ms",
                        "connected to a/[fd10:10:1:0:0:0:0:1]");
            } finally {
                network.net.run("a", "nft", "delete", "table", "ip", "course");
            }
        }
    }

    /// A chat peer in Python: joins, prints what arrives, and stops after a line containing `until`
    /// (or sends `say` and stops, when `until` is empty).
    static final String PEER = """
            import socket, sys
            server, say, until = (sys.argv[1], 1234), sys.argv[2], sys.argv[3]
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(10)
            s.sendto(b"/join", server)
            while True:
                line = s.recv(2048).decode()
                print(line, flush=True)
                if line.startswith("* welcome") and say:
                    s.sendto(say.encode(), server)
                    break
                if until and until in line:
                    break
            """;

    @Test
    void theUdpChatServesPeersOnTwoHostsThroughTheServersOwnAddress() throws Exception {
        TestNetwork.assumeAvailable();
        try (LessonRun server = network.lesson("a", "UdpChat", "--bind", "0.0.0.0", "--port", "1234")) {
            // The peers start once the server is bound: a /join sent before that is lost, as UDP loses it.
            server.awaitListeningPort();
            try (LessonRun onA = LessonRun.startProcess(network.net.on("a", List.of("python3", "-c", PEER, "10.10.1.1", "", "hello from b")))) {
                onA.awaitLine(Pattern.compile("\\* welcome"), Duration.ofSeconds(20));
                TestNetwork.Result onB = network.run("b", Duration.ofSeconds(20), "python3", "-c", PEER, "10.10.1.1", "hello from b", "");
                assertThat(onB.exitCode()).as(onB.output()).isZero();
                assertThat(onA.exitCode(Duration.ofSeconds(20))).as(onA.output()).isZero();
                assertThat(onA.stdout()).as("b's line, relayed to a with b's address").containsPattern("10\\.10\\.1\\.2:\\d+: hello from b");
            }
        }
    }

    @Test
    void explainsEachKindOfAddress() throws Exception {
        assertThat(BindAddresses.whoCanConnect(InetAddress.getByName("127.0.0.1"))).contains("only programs on this host");
        assertThat(BindAddresses.whoCanConnect(InetAddress.getByName("0.0.0.0"))).contains("Java binds 0.0.0.0 as ::");
        assertThat(BindAddresses.whoCanConnect(InetAddress.getByName("::"))).contains("dual-stack");
        assertThat(BindAddresses.whoCanConnect(InetAddress.getByName("10.10.1.1"))).contains("only connections addressed to 10.10.1.1");
    }
}
