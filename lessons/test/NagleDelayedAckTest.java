import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;
import org.junit.jupiter.api.parallel.ResourceLock;

/// Lesson 23: the write-write-read stall, on loopback and across a rate-limited cable between
/// two hosts, and its two fixes; what TCP_NODELAY does to a bulk transfer of small writes.
/// The assertions are rules, never exact figures: the stall is a floor that no load on the machine
/// can lower (the median of several requests is at least 30 ms), and a fix shows itself in its
/// fastest request, well under the stall; load may slow some requests of either kind, never speed
/// one up.
// Alone: how the kernel cuts the bulk transfer into segments depends on how fast the server reads,
// which other test classes running beside it change.
@Timeout(60)
@Isolated
@ResourceLock("network-namespaces")
class NagleDelayedAckTest {
    static final int ROUNDS = 15;

    static List<Double> millis(int port, NagleDelayedAck.Send how) throws IOException {
        return NagleDelayedAck.rounds("127.0.0.1", port, how, ROUNDS).stream().map(d -> d.toNanos() / 1e6).toList();
    }

    static double median(List<Double> times) {
        return times.stream().sorted().toList().get(times.size() / 2);
    }

    static double fastest(List<Double> times) {
        return times.stream().min(Double::compare).orElseThrow();
    }

    @Test
    void twoSmallWritesWaitForTheDelayedAckAndEitherFixEndsTheWait() throws IOException {
        try (var server = NagleDelayedAck.start("127.0.0.1", 0)) {
            double twoWrites = median(millis(server.port(), NagleDelayedAck.Send.TWO_WRITES));
            List<Double> nodelay = millis(server.port(), NagleDelayedAck.Send.NODELAY);
            List<Double> oneWrite = millis(server.port(), NagleDelayedAck.Send.ONE_WRITE);
            // Linux delays an ACK by at least 40 ms; the second write waits for that ACK.
            assertThat(twoWrites).as("two writes, Nagle on: the stall").isGreaterThanOrEqualTo(30.0);
            assertThat(fastest(nodelay)).as("TCP_NODELAY %s, against %.1f ms", nodelay, twoWrites).isLessThan(twoWrites / 2);
            assertThat(fastest(oneWrite)).as("one write %s, against %.1f ms", oneWrite, twoWrites).isLessThan(twoWrites / 2);
        }
    }

    @Test
    void nagleGathersSmallWritesIntoFewSegmentsNodelaySendsMore() throws IOException {
        try (var server = NagleDelayedAck.start("127.0.0.1", 0)) {
            var nagle = NagleDelayedAck.bulk("127.0.0.1", server.port(), false, NagleDelayedAck.BULK_BYTES, 100);
            var nodelay = NagleDelayedAck.bulk("127.0.0.1", server.port(), true, NagleDelayedAck.BULK_BYTES, 100);
            int writes = NagleDelayedAck.BULK_BYTES / 100;
            assertThat(nagle.segments()).as("ss -ti reports the connection's data segments").isPositive();
            assertThat(nagle.segments()).as("10,000 writes, Nagle on").isLessThan(writes / 10);
            assertThat(nodelay.segments()).as("TCP_NODELAY, against %d with Nagle on", nagle.segments())
                    .isGreaterThan(nagle.segments());
        }
    }

    static final Pattern TIMES = Pattern.compile(
            "(TWO_WRITES|NODELAY|ONE_WRITE)(?:: request \\d+ answered after| +median of \\d+ requests:) (\\d+\\.\\d) ms");

    @Test
    void acrossARateLimitedCableTheStallIsTheSame() throws Exception {
        try (TestNetwork network = TestNetwork.build(Net.Topology.PAIR)) {
            network.net.rate("a-b", "10mbit");
            try (LessonRun server = network.lesson("a", "NagleDelayedAck", "--serve", "--port", "0")) {
                int port = server.awaitListeningPort();
                try (LessonRun client = network.lesson("b", "NagleDelayedAck", "--connect", "10.10.1.1",
                        "--port", String.valueOf(port), "--rounds", String.valueOf(ROUNDS))) {
                    // The client prints each request's time, then the median of each way of sending.
                    Map<NagleDelayedAck.Send, Double> medians = new EnumMap<>(NagleDelayedAck.Send.class);
                    Map<NagleDelayedAck.Send, List<Double>> requests = new EnumMap<>(NagleDelayedAck.Send.class);
                    while (medians.size() < 3) {
                        Matcher m = client.awaitLine(TIMES, Duration.ofSeconds(30));
                        var how = NagleDelayedAck.Send.valueOf(m.group(1));
                        double ms = Double.parseDouble(m.group(2));
                        if (m.group().contains("median")) medians.put(how, ms);
                        else requests.computeIfAbsent(how, k -> new ArrayList<>()).add(ms);
                    }
                    double stall = medians.get(NagleDelayedAck.Send.TWO_WRITES);
                    assertThat(stall).as("two writes across the cable").isGreaterThanOrEqualTo(30.0);
                    for (var fix : List.of(NagleDelayedAck.Send.NODELAY, NagleDelayedAck.Send.ONE_WRITE)) {
                        assertThat(fastest(requests.get(fix))).as("%s %s", fix, requests.get(fix)).isLessThan(stall / 2);
                    }
                    // 1 MB at 10 Mbit/s takes at least 0.8 s: the rate limit is real.
                    Matcher bulk = client.awaitLine(Pattern.compile("bulk, Nagle on +: 10000 writes of 100 bytes arrived in (\\d+) ms"),
                            Duration.ofSeconds(30));
                    assertThat(Integer.parseInt(bulk.group(1))).isGreaterThanOrEqualTo(750);
                    assertThat(client.exitCode(Duration.ofSeconds(30))).isZero();
                }
            }
        }
    }
}
