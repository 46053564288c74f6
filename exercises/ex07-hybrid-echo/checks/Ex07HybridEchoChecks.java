import grading.Answers;
import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import grading.TcpQueues;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/// The checked exercises of chapter 07: two predictions about where bytes wait when the reader
/// is disarmed, and lesson 07's reader turned into Erlang's `{active, N}`.
public final class Ex07HybridEchoChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final Duration WAIT = Duration.ofSeconds(10);
    static final int RECEIVE_BUFFER = 16 * 1024;

    @Override
    public String title() {
        return "Hybrid echo";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts where the bytes wait when nobody reads", 10,
                        "TCP's window: a sender's kernel sends only what the receiver has room for, and keeps what it cannot send yet, up to a limit of its own",
                        Ex07HybridEchoChecks::whereBytesWait),
                Check.core("predicts what a buffered reader hides from TCP", 10,
                        "one read() of a BufferedInputStream asks the kernel for up to 8,192 bytes at once, not for one line",
                        Ex07HybridEchoChecks::bufferHidesBytes),
                Check.core("{active, N}: N messages, then the reader waits", 10,
                        "give the reader N permits at once, and new ones only when the owner has taken what it was given",
                        Ex07HybridEchoChecks::activeN).within(Duration.ofSeconds(40)));
    }

    /// "line 00000\n" ... for the {active, N} check, which sends more than 10,000.
    static byte[] longerLines(int count) {
        var text = new StringBuilder();
        for (int i = 0; i < count; i++) text.append(String.format("line %05d%n", i));
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    /// "line 0000\n" ...: 10 bytes each.
    static byte[] lines(int count) {
        var text = new StringBuilder();
        for (int i = 0; i < count; i++) text.append(String.format("line %04d%n", i));
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    /// A listening socket with lesson 07's small receive buffer (accepted sockets inherit it).
    static ServerSocket listener() throws IOException {
        var listener = new ServerSocket();
        listener.setReceiveBufferSize(RECEIVE_BUFFER);
        listener.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        return listener;
    }

    static void whereBytesWait() throws Exception {
        String where = Answers.prediction(FILE, "bytes-wait-in").strip().toLowerCase(Locale.ROOT);
        String returns = Answers.prediction(FILE, "write-returns").strip().toLowerCase(Locale.ROOT);
        int size = 64 << 20;
        try (var listener = listener(); var client = Client.connect(listener.getLocalPort()); Socket server = listener.accept()) {
            // Read one line, as an armed reader would, then never again: the owner does not re-arm.
            client.send("first\n");
            Expect.equal('f', (char) server.getInputStream().read(), "the first byte the server read");
            server.getInputStream().skipNBytes(5);
            CompletableFuture<Void> write = client.sendInBackground(new byte[size]);
            int serverPort = server.getLocalPort();
            int clientPort = server.getPort();
            Expect.eventually(WAIT, () -> write.isDone() || queues(serverPort, clientPort).receive() > 0 && queues(clientPort, serverPort).send() > 0,
                    () -> "after " + WAIT.toSeconds() + " s of a 64 MiB write, server Recv-Q " + queues(serverPort, clientPort).receive()
                            + ", client Send-Q " + queues(clientPort, serverPort).send());
            long recvQ = queues(serverPort, clientPort).receive();
            long sendQ = queues(clientPort, serverPort).send();
            String observedWhere = recvQ > 0 && sendQ > 0 ? "both" : recvQ > 0 ? "server" : sendQ > 0 ? "client" : "neither";
            String observedReturns = write.isDone() ? "yes" : "no";
            Expect.that(where.equals(observedWhere) && returns.equals(observedReturns), String.format(
                    "you predicted bytes-wait-in: %s, write-returns: %s; with nobody reading, the client's write of 64 MiB %s,"
                            + " and the kernel held %,d bytes in the server's Recv-Q and %,d in the client's Send-Q: %s, %s",
                    where, returns, write.isDone() ? "returned" : "is still waiting", recvQ, sendQ, observedWhere, observedReturns));
            client.socket().setSoLinger(true, 0);   // end with a reset: the rest need not be delivered
        }
    }

    static TcpQueues.Queues queues(int localPort, int remotePort) {
        try {
            return TcpQueues.of(localPort, remotePort).orElse(new TcpQueues.Queues(0, 0));
        } catch (IOException e) {
            return new TcpQueues.Queues(0, 0);
        }
    }

    static void bufferHidesBytes() throws Exception {
        long buffered = Answers.number(FILE, "recv-q-buffered");
        long raw = Answers.number(FILE, "recv-q-raw");
        long observedBuffered = recvQAfterOneLine(true);
        long observedRaw = recvQAfterOneLine(false);
        Expect.that(buffered == observedBuffered && raw == observedRaw, String.format(
                "you predicted %,d bytes (buffered) and %,d (raw); after the client wrote 100 lines of 10 bytes in one write and the"
                        + " reader took one line, the server's Recv-Q held %,d bytes behind a BufferedInputStream and %,d behind the raw stream",
                buffered, raw, observedBuffered, observedRaw));
    }

    /// Sends 1,000 bytes in one write; the server reads one line, through a buffer or byte by byte.
    static long recvQAfterOneLine(boolean buffered) throws Exception {
        try (var listener = listener(); var client = Client.connect(listener.getLocalPort()); Socket server = listener.accept()) {
            InputStream in = buffered ? new BufferedInputStream(server.getInputStream()) : server.getInputStream();
            var lineRead = new CountDownLatch(1);
            client.send(lines(100));
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (in.read() != '\n') {
                        // Up to the end of the first line, and no further: the reader is disarmed.
                    }
                    lineRead.countDown();
                } catch (IOException e) {
                    // The check closed the socket.
                }
            });
            Expect.that(lineRead.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the server read no line within " + WAIT.toSeconds() + " s");
            return queues(server.getLocalPort(), server.getPort()).receive();
        }
    }

    static void activeN() throws Exception {
        int count = 20_000;
        int n = ActiveNEcho.ACTIVE_N;
        try (var server = ActiveNEcho.start(0)) {
            server.pauseOwners();
            try (var client = Client.connect(server.port())) {
                client.sendInBackground(longerLines(count));
                Expect.eventually(WAIT, () -> !server.connections().isEmpty(), "the server accepted no connection");
                var connection = server.connections().iterator().next();
                Expect.eventually(WAIT, () -> connection.mailboxDepth() >= n,
                        () -> "with the owner paused and " + count + " lines sent, the reader delivered " + connection.mailboxDepth()
                                + " message(s) and waits; with {active, " + n + "} it delivers " + n + " before it waits");
                int localPort = client.socket().getLocalPort();
                awaitStopped(connection, server.port(), localPort, n, "with the owner paused from the start");
                server.resumeOwners();
                readEchoes(client, 0, count / 2);
                // Pause again halfway: a reader given permits faster than it uses them now runs far ahead.
                server.pauseOwners();
                awaitStopped(connection, server.port(), localPort, n, "with the owner paused again after " + count / 2 + " echoes");
                server.resumeOwners();
                readEchoes(client, count / 2, count);
            }
        }
    }

    /// Waits until the reader has stopped (the kernel holds bytes it does not read), then
    /// requires that no more than N (and the one message being delivered) waited at once.
    static void awaitStopped(ActiveNEcho.Connection connection, int serverPort, int clientPort, int n, String when) {
        Expect.eventually(WAIT, () -> connection.mailboxHighWater() > n + 1 || queues(serverPort, clientPort).receive() > 0,
                () -> when + ", the reader delivered " + connection.mailboxDepth() + " messages, yet the kernel holds nothing for it to read");
        Expect.that(connection.mailboxHighWater() <= n + 1, String.format(
                "%s, the mailbox held %,d messages at once: the reader is armed for more than %d", when, connection.mailboxHighWater(), n));
    }

    static void readEchoes(Client client, int from, int to) throws IOException {
        for (int i = from; i < to; i++) {
            String expected = String.format("line %05d", i);
            String got;
            try {
                got = client.readLine();
            } catch (AssertionError e) {
                throw new AssertionError("after the owner resumed, echo " + (i + 1) + " did not come: " + e.getMessage());
            }
            if (!expected.equals(got)) {
                throw new AssertionError("after the owner resumed, echo " + (i + 1) + " was " + Expect.show(got)
                        + ", expected " + Expect.show(expected));
            }
        }
    }
}
