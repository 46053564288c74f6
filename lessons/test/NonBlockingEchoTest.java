import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class NonBlockingEchoTest {
    static final Duration LIMIT = Duration.ofSeconds(20);

    NonBlockingEcho.Server server;

    @BeforeEach
    void start() throws IOException {
        server = NonBlockingEcho.start(0);
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    NonBlockingEcho.Connection awaitConnections(int count) {
        await().atMost(LIMIT).until(() -> server.connections.size() == count);
        return server.connections.iterator().next();
    }

    // The raw behaviour, without a Selector.

    @Test
    void aNonBlockingAcceptReturnsNullWhenNoClientWaits() throws IOException {
        try (var listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            listener.configureBlocking(false);
            assertThat(listener.accept()).isNull();
        }
    }

    @Test
    void aNonBlockingReadReturnsZeroWhenNothingArrivedAndPollingBurnsCpu() throws IOException {
        try (var listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (var client = SocketChannel.open(listener.getLocalAddress());
                 var connection = listener.accept()) {
                connection.configureBlocking(false);
                assertThat(connection.read(ByteBuffer.allocate(16))).isZero();

                // Once for a moment first, so that loading classes does not count as waiting.
                NonBlockingEcho.pollWithoutWaiting(connection, Duration.ofMillis(20));
                NonBlockingEcho.waitWithSelector(connection, Duration.ofMillis(20));

                NonBlockingEcho.Spent polling = NonBlockingEcho.pollWithoutWaiting(connection, Duration.ofMillis(500));
                NonBlockingEcho.Spent selecting = NonBlockingEcho.waitWithSelector(connection, Duration.ofMillis(500));
                assertThat(polling.emptyCalls()).as("reads that found nothing").isGreaterThan(1_000);
                assertThat(selecting.emptyCalls()).as("one select() that timed out").isEqualTo(1);
                assertThat(selecting.wall()).isGreaterThanOrEqualTo(Duration.ofMillis(450));
                // On a busy machine the polling thread gets only its share of a CPU, but it takes
                // all of that share; the selecting thread sleeps and takes almost nothing.
                assertThat(polling.cpu()).as("polling keeps the CPU busy while it waits")
                        .isGreaterThan(Duration.ofMillis(10))
                        .isGreaterThan(selecting.cpu().multipliedBy(20));
                assertThat(client.isConnected()).isTrue();
            }
        }
    }

    // The event loop.

    @Test
    void echoesEachLineAndALastLineWithoutNewline() throws IOException {
        try (var client = new LineClient(server.port())) {
            assertThat(client.ask("hello")).isEqualTo("hello");
            client.send("no newline");
            client.shutdownOutput();
            assertThat(client.readLine()).isEqualTo("no newline");
            assertThat(client.readLine()).as("closed after our end of stream").isNull();
        }
    }

    @Test
    @Timeout(60)
    void oneEventLoopThreadServesFiveHundredClients() throws Exception {
        server.close();
        server = NonBlockingEcho.start(0);
        List<LineClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 500; i++) clients.add(new LineClient(server.port()));
            for (int i = 0; i < clients.size(); i++) clients.get(i).sendLine("client " + i);
            for (int i = 0; i < clients.size(); i++) assertThat(clients.get(i).readLine()).isEqualTo("client " + i);
            awaitConnections(500);
            Set<Thread> threads = server.connections.stream().map(c -> c.servedBy)
                    .collect(Collectors.toSet());
            assertThat(threads).as("every connection was read by the same one thread").containsExactly(server.loop);
            // All 500 still connected, and still served: a second round.
            for (int i = 0; i < clients.size(); i++) assertThat(clients.get(i).ask("again " + i)).isEqualTo("again " + i);
        } finally {
            for (LineClient c : clients) c.close();
        }
    }

    @Test
    void aLineSentOneByteAtATimeIsPutBackTogether() throws IOException {
        try (var client = new LineClient(server.port())) {
            client.socket().setTcpNoDelay(true);
            NonBlockingEcho.Connection connection = awaitConnections(1);
            String text = "one byte at a time";
            for (char c : (text + "\n").toCharArray()) {
                long readsBefore = connection.reads;
                client.send(String.valueOf(c));
                // Each byte is a read of its own: the server really saw the line in pieces.
                await().atMost(LIMIT).pollInterval(Duration.ofMillis(5)).until(() -> connection.reads > readsBefore);
            }
            assertThat(client.readLine()).isEqualTo(text);
            assertThat(connection.reads).isGreaterThanOrEqualTo(text.length() + 1);
        }
    }

    @Test
    @Timeout(60)
    void aClientThatDoesNotReadItsRepliesDelaysNobody() throws Exception {
        // 8 MB of lines, more than the kernel's buffers hold, from a client that reads nothing yet.
        try (var slow = new FloodingSender(server.port(), 80_000, 16 * 1024, 16 * 1024)) {
            NonBlockingEcho.Connection connection = awaitConnections(1);
            await().atMost(LIMIT).until(() -> connection.unsentBytes >= NonBlockingEcho.MAX_UNSENT);

            // The loop keeps its replies and stops reading from it, but everyone else is answered.
            for (int i = 0; i < 20; i++) {
                try (var other = new LineClient(server.port(), Duration.ofSeconds(5))) {
                    assertThat(other.ask("not delayed " + i)).isEqualTo("not delayed " + i);
                }
            }
            assertThat(connection.unsentBytes).as("still waiting for the slow client")
                    .isGreaterThanOrEqualTo(NonBlockingEcho.MAX_UNSENT);

            // Once it reads, every kept reply arrives, in order.
            slow.expectAllEchoedInOrder();
            slow.finished().get(LIMIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void aClientThatDisconnectsMidLineDoesNotDisturbTheLoop() throws IOException {
        ReceiveModeChecks.survivesAClientThatResetsMidLine(server.port(), () -> server.connections.size());
        assertThat(server.loop.isAlive()).isTrue();
    }

    @Test
    void refusesAnOversizeLineAndKeepsServingOthers() throws IOException {
        ReceiveModeChecks.refusesAnOversizeLineAndKeepsServingOthers(server.port(), NonBlockingEcho.MAX_LINE);
    }

    @Test
    void aLineOfExactlyTheMaximumIsAccepted() throws IOException {
        try (var client = new LineClient(server.port())) {
            String longest = "y".repeat(NonBlockingEcho.MAX_LINE);
            assertThat(client.ask(longest)).isEqualTo(longest);
        }
    }

    @Test
    void closeEndsTheLoopAndEveryConnection() throws Exception {
        var client = new LineClient(server.port());
        assertThat(client.ask("hi")).isEqualTo("hi");
        server.close();
        assertThat(server.loop.isAlive()).isFalse();
        assertThat(client.readLine()).as("our connection is closed by the server").isNull();
        client.close();
        assertThat(server.connections).isEmpty();
    }

    @Test
    void listensWithTheBacklogItStates() throws Exception {
        assertThat(Listeners.backlog(server.port())).isEqualTo(Math.min(NonBlockingEcho.BACKLOG, Listeners.somaxconn()));
    }

    @Test
    void mainPrintsThePortItGotAndEchoes() throws Exception {
        ReceiveModeChecks.mainPrintsThePortItGotAndEchoes("NonBlockingEcho");
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        ReceiveModeChecks.aPortInUseIsExplainedInOneLine("NonBlockingEcho");
    }
}
