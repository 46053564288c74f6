import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/// The relay on loopback: its delay, its seeded loss, and that it keeps a stream whole and in order.
class RelayTest {

    @Test
    void aTcpRoundTripTakesTwiceTheDelayAndTheStreamArrivesWhole() throws Exception {
        try (var echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Relay relay = Relay.tcp(0, new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort()),
                     Duration.ofMillis(100))) {
            Thread.ofVirtual().start(() -> {
                try (Socket s = echo.accept()) {
                    s.getInputStream().transferTo(s.getOutputStream());
                } catch (IOException e) {
                    // the test is over
                }
            });
            try (var client = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
                client.setSoTimeout(10_000);
                long start = System.nanoTime();
                client.getOutputStream().write('x');
                assertThat(client.getInputStream().read()).isEqualTo('x');
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(200), Duration.ofSeconds(3));
                byte[] data = new byte[1 << 20];
                new Random(3).nextBytes(data);
                Thread.ofVirtual().start(() -> {
                    try {
                        client.getOutputStream().write(data);
                        client.shutdownOutput();
                    } catch (IOException e) {
                        // reported by the read below
                    }
                });
                assertThat(client.getInputStream().readAllBytes()).as("every byte, in order").isEqualTo(data);
            }
        }
    }

    /// Sends 100 numbered datagrams through a relay losing 30 % each way; returns the numbers echoed.
    static Set<Integer> survivors(long seed) throws Exception {
        try (var echo = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             Relay relay = Relay.udp(0, new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort()),
                     Duration.ZERO, 0.3, seed);
             var client = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                byte[] buffer = new byte[100];
                try {
                    while (true) {
                        var p = new DatagramPacket(buffer, buffer.length);
                        echo.receive(p);
                        echo.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
                    }
                } catch (IOException e) {
                    // closed
                }
            });
            var relayAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(), relay.port());
            Set<Integer> seen = new TreeSet<>();
            for (int i = 0; i < 100; i++) {
                byte[] text = String.valueOf(i).getBytes(StandardCharsets.UTF_8);
                client.send(new DatagramPacket(text, text.length, relayAddress));
                // One at a time, so that the relay sees the datagrams in the same order every run.
                receiveAvailable(client, seen, Duration.ofMillis(50));
            }
            // A late echo is counted by the next receive; the last one gets longer.
            receiveAvailable(client, seen, Duration.ofMillis(500));
            return seen;
        }
    }

    static void receiveAvailable(DatagramSocket client, Set<Integer> seen, Duration wait) throws IOException {
        byte[] buffer = new byte[100];
        try {
            var p = new DatagramPacket(buffer, buffer.length);
            client.setSoTimeout((int) wait.toMillis());
            client.receive(p);
            seen.add(Integer.parseInt(new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8)));
        } catch (SocketTimeoutException e) {
            // Lost on the way there or back.
        }
    }

    @Test
    void theSameSeedLosesTheSameDatagrams() throws Exception {
        Set<Integer> first = survivors(42);
        Set<Integer> second = survivors(42);
        assertThat(second).isEqualTo(first);
        // 70 % survive each way: about 49 % come back.
        assertThat(first.size()).isBetween(30, 70);
        assertThat(survivors(43)).as("another seed, another pattern").isNotEqualTo(first);
    }
}
