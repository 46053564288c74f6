import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.ResourceLock;

/// Lesson 24 on a - r - b, the r-b cable with an MTU of 1,280 and a rate of 20 Mbit/s, and r
/// delaying what it forwards by 25 ms each way (lessons/tools/DelayLine.java): a datagram too big
/// for the path, with and without DF; the MSS TCP chose; and throughput against the receive buffer.
@Timeout(90)
@ResourceLock("network-namespaces")
class MtuAndBuffersTest {
    static TestNetwork network;
    static LessonRun server, delayLine;

    @BeforeAll
    static void build() throws Exception {
        if (Net.unavailable() != null) return;
        network = TestNetwork.build(Net.Topology.ROUTED);
        network.net.mtu("r-b", 1280);
        network.net.rate("r-b", "20mbit");
        server = network.lesson("b", "MtuAndBuffers", "--serve");
        server.awaitListeningPort();
    }

    @AfterAll
    static void remove() throws Exception {
        for (LessonRun run : new LessonRun[] {delayLine, server}) if (run != null) run.close();
        if (network != null) network.close();
    }

    @Test
    void aDatagramTooBigForThePathIsCutByTheRouterThenLostWithDfThenCutHereOrRefused() throws Exception {
        TestNetwork.assumeAvailable();
        network.run("a", Duration.ofSeconds(10), "ip", "route", "flush", "cache");     // a knows nothing of the path yet
        try (LessonRun client = network.lesson("a", "MtuAndBuffers", "--mtu", "b")) {
            assertThat(client.exitCode(Duration.ofSeconds(30))).as(client.output()).isZero();
            String out = client.stdout();
            // Java sends without DF: r cuts the datagram into fragments, b reassembles it.
            assertThat(out).contains("datagram 1 (1400 bytes): answered \"got 1400\"; fragments made here: 0; path MTU now: the interface's");
            // With DF, r drops it and tells a, in ICMP, the MTU of the next link.
            assertThat(out).contains("datagram 2 (1400 bytes, DF): no answer within 1 s: lost; fragments made here: 0; path MTU now: 1280");
            // Now a's own kernel cuts it (two fragments), or, with DF, refuses at once.
            assertThat(out).contains("datagram 3 (1400 bytes): answered \"got 1400\"; fragments made here: 2; path MTU now: 1280");
            assertThat(out).contains("datagram 4 (1400 bytes, DF): send failed: Message too long");
        }
    }

    static final Pattern MEASURED = Pattern.compile(
            "receive buffer (16 KiB|autotuned) +(\\d+\\.\\d+) Mbit/s +\\(mss (\\d+), rtt ([\\d.]+) ms");

    @Test
    void aConnectionCarriesAWindowPerRoundTripSoALongPathNeedsABigBuffer() throws Exception {
        TestNetwork.assumeAvailable();
        assumeTrue(Files.exists(Path.of("/dev/net/tun")), "skipped: no /dev/net/tun for the delay line");
        delayLine = network.lesson("r", List.of("--enable-native-access=ALL-UNNAMED"), "DelayLine", "--delay", "25");
        delayLine.awaitLine(Pattern.compile("delaying every IPv4 packet"), Duration.ofSeconds(30));
        try (LessonRun client = network.lesson("a", "MtuAndBuffers", "--buffers", "b", "--sizes", "16,0")) {
            Matcher small = client.awaitLine(MEASURED, Duration.ofSeconds(30));
            Matcher tuned = client.awaitLine(MEASURED, Duration.ofSeconds(30));
            assertThat(small.group(1)).isEqualTo("16 KiB");
            // The MTU of 1,280 leaves 1,240 bytes for TCP; timestamps take 12 of them.
            assertThat(small.group(3)).as("the MSS").isEqualTo("1228");
            double rtt = Double.parseDouble(small.group(4)) / 1000;
            assertThat(rtt).as("the round trip, with 25 ms of delay each way").isGreaterThanOrEqualTo(0.045);
            double smallMbits = Double.parseDouble(small.group(2)), tunedMbits = Double.parseDouble(tuned.group(2));
            // At most one window per round trip: 16 KiB per 50 ms is about 2.6 Mbit/s.
            assertThat(smallMbits).as("16 KiB of buffer").isLessThanOrEqualTo(1.5 * 16 * 1024 * 8 / rtt / 1e6);
            assertThat(tunedMbits).as("autotuned, against %.2f Mbit/s with 16 KiB", smallMbits)
                    .isGreaterThan(3 * smallMbits).isGreaterThan(8.0);
        }
    }
}
