package grading;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/// The lossy link really drops, duplicates and reorders, and a seed makes the same choices again.
class LossyLinkTest {

    private static final int SENT = 200;

    @Test
    void theSameSeedMakesTheSameChoices() throws Exception {
        List<Integer> first = throughLink(42);
        List<Integer> again = throughLink(42);
        List<Integer> other = throughLink(43);

        assertThat(again).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
    }

    @Test
    void itDropsDuplicatesAndReorders() throws Exception {
        List<Integer> arrived = throughLink(42);

        assertThat(arrived.stream().distinct().count()).as("distinct datagrams that arrived").isBetween(120L, 190L);
        assertThat(arrived.size()).as("datagrams that arrived, repeats included").isGreaterThan((int) arrived.stream().distinct().count());
        assertThat(anyBeforeItsPredecessor(arrived)).as("some datagram arrived before an earlier one").isTrue();
    }

    @Test
    void withoutFaultsEverythingArrivesOnceInOrder() throws Exception {
        List<Integer> arrived = throughLink(42, 0, 0, 0);

        assertThat(arrived).hasSize(SENT).isSorted().doesNotHaveDuplicates();
    }

    private static boolean anyBeforeItsPredecessor(List<Integer> numbers) {
        for (int i = 1; i < numbers.size(); i++) {
            if (numbers.get(i) < numbers.get(i - 1)) {
                return true;
            }
        }
        return false;
    }

    private static List<Integer> throughLink(long seed) throws Exception {
        return throughLink(seed, 0.2, 0.2, 0.2);
    }

    /// Sends datagrams numbered 0 to SENT - 1 through a link; the numbers as they arrived.
    private static List<Integer> throughLink(long seed, double drop, double duplicate, double reorder) throws Exception {
        try (var receiver = bound(); var sender = bound();
             var link = new LossyLink(receiver.getLocalSocketAddress(), seed).faults(drop, duplicate, reorder)) {
            for (int i = 0; i < SENT; i++) {
                byte[] number = String.valueOf(i).getBytes(StandardCharsets.US_ASCII);
                sender.send(new DatagramPacket(number, number.length, link.address()));
                // One at a time, so that no socket buffer overflows: the link's choices alone decide.
                int sent = i + 1;
                await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1)).atMost(Duration.ofSeconds(5))
                        .until(() -> link.received.get() == sent);
            }
            var arrived = new ArrayList<Integer>();
            var packet = new DatagramPacket(new byte[16], 16);
            receiver.setSoTimeout(500);             // a quiet period: the link has passed on all it will
            try {
                while (true) {
                    receiver.receive(packet);
                    arrived.add(Integer.parseInt(new String(packet.getData(), 0, packet.getLength(), StandardCharsets.US_ASCII)));
                }
            } catch (SocketTimeoutException quiet) {
                return arrived;
            }
        }
    }

    private static DatagramSocket bound() throws IOException {
        return new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }
}
