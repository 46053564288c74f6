import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/// The kernel's socket table as the tool reads it, checked against sockets this test made.
class SocketTableTest {

    @Test
    void decodesTheKernelsHexAddresses() throws IOException {
        assertThat(SocketTable.endpoint(new String[] {"0100007F", "04D2"})).isEqualTo("127.0.0.1:1234");
        assertThat(SocketTable.endpoint(new String[] {"0000000000000000FFFF00000100007F", "04D2"}))
                .isEqualTo("[::ffff:127.0.0.1]:1234");
        assertThat(SocketTable.endpoint(new String[] {"00000000000000000000000001000000", "0050"})).isEqualTo("[0:0:0:0:0:0:0:1]:80");
    }

    @Test
    void aFullAcceptQueueShowsInRecvQAndInListenOverflows() throws Exception {
        long overflowsBefore = SocketTable.listenCounters().get("ListenOverflows");
        List<AutoCloseable> clients = new ArrayList<>();
        try (var listener = new ServerSocket(0, 2, InetAddress.getLoopbackAddress())) {
            int port = listener.getLocalPort();
            // Nobody calls accept(). Linux queues backlog + 1 finished connections.
            for (int i = 0; i < 3; i++) clients.add(new Socket(InetAddress.getLoopbackAddress(), port));
            await().atMost(Duration.ofSeconds(5)).until(() -> listenRow(port).recvQ() == 3);
            // One more: its SYN meets a full queue and is dropped; the client is left retrying.
            var late = SocketChannel.open();
            clients.add(late);
            late.configureBlocking(false);
            late.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> SocketTable.listenCounters().get("ListenOverflows") > overflowsBefore);
            assertThat(listenRow(port).recvQ()).as("the accept queue stays full").isEqualTo(3);
            List<SocketTable.Row> rows = SocketTable.rows(port);
            assertThat(rows).filteredOn(r -> r.state().equals("SYN-SENT")).singleElement()
                    .satisfies(r -> assertThat(r.timer()).isEqualTo("retransmit"));
        } finally {
            for (AutoCloseable client : clients) client.close();
        }
    }

    @Test
    void theSideThatClosesFirstWaitsInTimeWaitForAMinute() throws Exception {
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = listener.getLocalPort();
            var client = new Socket(InetAddress.getLoopbackAddress(), port);
            try (Socket accepted = listener.accept()) {
                client.close();
                accepted.setSoTimeout(5_000);
                assertThat(accepted.getInputStream().read()).isEqualTo(-1);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> SocketTable.rows(port).stream()
                    .anyMatch(r -> r.state().equals("TIME-WAIT")));
            SocketTable.Row waiting = SocketTable.rows(port).stream().filter(r -> r.state().equals("TIME-WAIT"))
                    .findFirst().orElseThrow();
            assertThat(waiting.timer()).isEqualTo("time-wait");
            assertThat(waiting.timerSeconds()).isBetween(50.0, 60.0);
            assertThat(waiting.remote()).endsWith(":" + port);
        }
    }

    static SocketTable.Row listenRow(int port) throws IOException {
        return SocketTable.rows(port).stream().filter(r -> r.state().equals("LISTEN")).findFirst().orElseThrow();
    }
}
