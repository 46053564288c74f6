import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/// Lesson 23: the write-write-read stall, on loopback and across a rate-limited cable between
/// two hosts, and its two fixes; what TCP_NODELAY does to a bulk transfer of small writes.
/// Times are medians of several requests, and the assertions are rules (at least 30 ms; four
/// times faster), never exact figures.
@Timeout(60)
class NagleDelayedAckTest {
    static final int ROUNDS = 9;

    static double medianMillis(int port, NagleDelayedAck.Send how) throws IOException {
        return NagleDelayedAck.median(NagleDelayedAck.rounds("127.0.0.1", port, how, ROUNDS)).toNanos() / 1e6;
    }

    @Test
    void twoSmallWritesWaitForTheDelayedAckAndEitherFixEndsTheWait() throws IOException {
        try (var server = NagleDelayedAck.start("127.0.0.1", 0)) {
            double twoWrites = medianMillis(server.port(), NagleDelayedAck.Send.TWO_WRITES);
            double nodelay = medianMillis(server.port(), NagleDelayedAck.Send.NODELAY);
            double oneWrite = medianMillis(server.port(), NagleDelayedAck.Send.ONE_WRITE);
            // Linux delays an ACK by at least 40 ms; the second write waits for that ACK.
            assertThat(twoWrites).as("two writes, Nagle on: the stall").isGreaterThanOrEqualTo(30.0);
            assertThat(nodelay).as("TCP_NODELAY, against %.1f ms", twoWrites).isLessThan(twoWrites / 4);
            assertThat(oneWrite).as("one write, against %.1f ms", twoWrites).isLessThan(twoWrites / 4);
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

    static final Pattern MEDIAN = Pattern.compile("(TWO_WRITES|NODELAY|ONE_WRITE) +median of \\d+ requests: (\\d+\\.\\d) ms");

    @Test
    void acrossARateLimitedCableTheStallIsTheSame() throws Exception {
        try (TestNetwork network = TestNetwork.build(Net.Topology.PAIR)) {
            network.net.rate("a-b", "10mbit");
            try (LessonRun server = network.lesson("a", "NagleDelayedAck", "--serve", "--port", "0")) {
                int port = server.awaitListeningPort();
                try (LessonRun client = network.lesson("b", "NagleDelayedAck", "--connect", "10.10.1.1",
                        "--port", String.valueOf(port), "--rounds", String.valueOf(ROUNDS))) {
                    Map<NagleDelayedAck.Send, Double> medians = new EnumMap<>(NagleDelayedAck.Send.class);
                    while (medians.size() < 3) {
                        Matcher m = client.awaitLine(MEDIAN, Duration.ofSeconds(30));
                        medians.put(NagleDelayedAck.Send.valueOf(m.group(1)), Double.parseDouble(m.group(2)));
                    }
                    double stall = medians.get(NagleDelayedAck.Send.TWO_WRITES);
                    assertThat(stall).as("two writes across the cable").isGreaterThanOrEqualTo(30.0);
                    assertThat(medians.get(NagleDelayedAck.Send.NODELAY)).as("TCP_NODELAY").isLessThan(stall / 4);
                    assertThat(medians.get(NagleDelayedAck.Send.ONE_WRITE)).as("one write").isLessThan(stall / 4);
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
