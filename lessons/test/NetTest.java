import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;

/// The course's network tool: both topologies, what crosses them, the link controls, and that it
/// leaves nothing behind, on close, on a signal, and after a crash.
@ResourceLock("network-namespaces")
class NetTest {
    static final String PREFIX = "slnet" + ProcessHandle.current().pid();

    static List<String> ours() throws IOException {
        return Net.namespaces().stream().filter(ns -> ns.startsWith(PREFIX)).toList();
    }

    @Test
    void aPairIsTwoHostsOnOneCable() throws Exception {
        try (TestNetwork network = TestNetwork.build(Net.Topology.PAIR)) {
            assertThat(network.net.describe()).contains("host a").contains("10.10.1.1/24").contains("link a-b");
            assertThat(network.run("b", Duration.ofSeconds(10), "ip", "-brief", "address", "show", "eth0").output())
                    .contains("10.10.1.2/24").contains("fd10:10:1::2/64");
            try (LessonRun server = network.lesson("a", "PassiveEcho", "--port", "0")) {
                int port = server.awaitListeningPort();
                assertThat(network.connects("a", "127.0.0.1", port)).as("lesson 05 listens on a's loopback").isTrue();
                assertThat(network.connects("b", "a", port)).as("which b cannot reach").isFalse();
            }
        }
    }

    @Test
    void aRouterJoinsTwoLinks() throws Exception {
        try (TestNetwork network = TestNetwork.build(Net.Topology.ROUTED)) {
            try (LessonRun listener = LessonRun.startProcess(network.net.on("b",
                    List.of("socat", "TCP-LISTEN:7000,reuseaddr,fork", "EXEC:cat")))) {
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                        .until(() -> listener.process().isAlive() && network.connects("b", "127.0.0.1", 7000));
                TestNetwork.Result reply = network.run("a", Duration.ofSeconds(10), "sh", "-c", "echo across | nc -N -w 5 b 7000");
                assertThat(reply.output().strip()).as("a reaches b through r, by name").isEqualTo("across");
                assertThat(network.run("a", Duration.ofSeconds(10), "ip", "route").output()).contains("default via 10.10.1.254");
            }
        }
    }

    @Test
    void theLinkControlsChangeTheLink() throws Exception {
        try (TestNetwork network = TestNetwork.build(Net.Topology.PAIR)) {
            network.net.mtu("a-b", 1280);
            assertThat(network.run("a", Duration.ofSeconds(10), "ip", "link", "show", "eth0").output()).contains("mtu 1280");
            network.net.rate("a-b", "1mbit");
            assertThat(network.run("a", Duration.ofSeconds(10), "tc", "qdisc", "show", "dev", "eth0").output())
                    .containsPattern("tbf .*rate 1Mbit");
            network.net.link("a-b", false);
            assertThat(network.run("b", Duration.ofSeconds(10), "ip", "link", "show", "eth0").output()).contains("state DOWN");
            network.net.link("a-b", true);
        }
    }

    @Test
    void leavesNothingBehindEvenAfterACrash() throws Exception {
        TestNetwork.assumeAvailable();
        List<String> before = Net.namespaces();
        Net.build(Net.Topology.ROUTED, PREFIX);            // "crashes": never closed
        assertThat(ours()).hasSize(3);
        try (Net again = Net.build(Net.Topology.PAIR, PREFIX)) {
            assertThat(ours()).as("the leftovers were removed first").containsExactlyInAnyOrder(PREFIX + "-a", PREFIX + "-b");
            assertThat(again.hosts).hasSize(2);
        }
        assertThat(Net.namespaces()).containsExactlyInAnyOrderElementsOf(before);
        assertThat(java.nio.file.Files.exists(java.nio.file.Path.of("/etc/netns", PREFIX + "-a"))).isFalse();
    }

    @Test
    void upRemovesTheNetworkWhenItIsStopped() throws Exception {
        TestNetwork.assumeAvailable();
        try (LessonRun up = LessonRun.start("Net", "--prefix", PREFIX, "--topology", "routed", "up")) {
            up.awaitLine(Pattern.compile("^up;"), Duration.ofSeconds(30));
            assertThat(ours()).hasSize(3);
            up.process().destroy();                        // SIGTERM, as Ctrl-C's SIGINT: the shutdown hook runs
            assertThat(up.exitCode(Duration.ofSeconds(20))).isNotZero();
        }
        assertThat(ours()).isEmpty();
    }

    @Test
    void aMistakeIsExplained() throws Exception {
        try (LessonRun run = LessonRun.start("Net", "--topology", "ring", "up")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(2);
            assertThat(run.stderr()).contains("--topology is pair, routed or lan").contains("Usage:");
        }
    }
}
