import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import grading.TcpQueues;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/// The checked exercises of chapter 08: what non-blocking reads return, and a drain that takes
/// everything the kernel holds without ever waiting.
public final class Ex08NonBlockingEchoChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final Duration WAIT = Duration.ofSeconds(10);

    @Override
    public String title() {
        return "Non-blocking echo";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts how many reads three writes take", 10,
                        "TCP carries a stream of bytes: a write is not a message, and a read takes whatever the kernel holds, up to the buffer's size",
                        Ex08NonBlockingEchoChecks::threeWrites),
                Check.core("predicts what a non-blocking read returns", 10,
                        "a non-blocking read never waits: it needs one answer for \"nothing yet\" and another for \"never again\"",
                        Ex08NonBlockingEchoChecks::readResults),
                Check.core("drains everything there is, never waiting", 10,
                        "read in a loop: a full buffer may mean more is waiting; stop at the answer that says the kernel has nothing now",
                        Ex08NonBlockingEchoChecks::drains).within(Duration.ofSeconds(30)));
    }

    /// A connected pair on loopback: the client end blocking, the server end non-blocking.
    record Pair(ServerSocketChannel listener, SocketChannel client, SocketChannel server) implements AutoCloseable {
        static Pair open() throws IOException {
            var listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            var client = SocketChannel.open(listener.getLocalAddress());
            client.setOption(StandardSocketOptions.TCP_NODELAY, true);   // each write its own segment
            var server = listener.accept();
            server.configureBlocking(false);
            return new Pair(listener, client, server);
        }

        int serverPort() throws IOException {
            return ((InetSocketAddress) server.getLocalAddress()).getPort();
        }

        int clientPort() throws IOException {
            return ((InetSocketAddress) client.getLocalAddress()).getPort();
        }

        /// Waits until the server's kernel holds `bytes` bytes for it to read.
        void awaitReceived(long bytes) throws IOException {
            int serverPort = serverPort();
            int clientPort = clientPort();
            Expect.eventually(WAIT, () -> recvQ(serverPort, clientPort) == bytes,
                    () -> "the server's Recv-Q holds " + recvQ(serverPort, clientPort) + " bytes, not the " + bytes + " sent");
        }

        @Override
        public void close() throws IOException {
            server.close();
            client.close();
            listener.close();
        }
    }

    static long recvQ(int localPort, int remotePort) {
        try {
            return TcpQueues.of(localPort, remotePort).map(TcpQueues.Queues::receive).orElse(-1L);
        } catch (IOException e) {
            return -1;
        }
    }

    static void threeWrites() throws Exception {
        long predictedReads = Answers.number(FILE, "reads-that-return-data");
        long predictedFirst = Answers.number(FILE, "bytes-in-first-read");
        try (var pair = Pair.open()) {
            for (String line : new String[] {"one\n", "two\n", "three\n"}) {
                pair.client().write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)));
            }
            pair.awaitReceived(14);
            var buffer = ByteBuffer.allocate(64 * 1024);
            int reads = 0;
            int first = -1;
            for (int n; (n = pair.server().read(buffer.clear())) > 0; reads++) {
                if (first < 0) first = n;
            }
            Expect.that(predictedReads == reads && predictedFirst == first, String.format(
                    "you predicted %d read(s), the first with %d bytes; the client wrote \"one\\n\", \"two\\n\", \"three\\n\" in three"
                            + " writes, and once all 14 bytes had arrived, non-blocking reads into a 64 KiB buffer returned data %d time(s),"
                            + " the first with %d bytes", predictedReads, predictedFirst, reads, first));
        }
    }

    static void readResults() throws Exception {
        long predictedEmpty = Answers.number(FILE, "read-with-nothing-there");
        long predictedEnd = Answers.number(FILE, "read-after-end-of-stream");
        try (var pair = Pair.open()) {
            var buffer = ByteBuffer.allocate(1024);
            int empty = pair.server().read(buffer);
            pair.client().shutdownOutput();
            int serverPort = pair.serverPort();
            int clientPort = pair.clientPort();
            // Wait for the FIN: a read returns something other than "nothing yet".
            var end = new int[] {0};
            Expect.eventually(WAIT, () -> (end[0] = readQuietly(pair.server(), buffer)) != 0,
                    "no end of stream within " + WAIT.toSeconds() + " s after the client's shutdownOutput()");
            int again = pair.server().read(buffer.clear());
            Expect.that(predictedEmpty == empty && predictedEnd == end[0] && again == end[0], String.format(
                    "you predicted %d and %d; with nothing sent, read() returned %d at once; after the client's shutdownOutput()"
                            + " (port %d to %d), it returned %d, and %d when asked again",
                    predictedEmpty, predictedEnd, empty, clientPort, serverPort, end[0], again));
        }
    }

    static int readQuietly(SocketChannel channel, ByteBuffer buffer) {
        try {
            return channel.read(buffer.clear());
        } catch (IOException e) {
            return -2;
        }
    }

    /// Calls the learner's readAvailable on a thread of its own: it must come back at once.
    static byte[] drain(SocketChannel channel, String situation) throws Exception {
        var call = CompletableFuture.supplyAsync(() -> {
            try {
                return Drain.readAvailable(channel);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, runnable -> Thread.ofPlatform().daemon().name("readAvailable").start(runnable));
        try {
            return call.get(2, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError(situation + ": readAvailable did not return within 2 s; it must never wait for more bytes");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new AssertionError(situation + ": readAvailable threw " + e.getCause(), e.getCause());
        }
    }

    static void drains() throws Exception {
        try (var pair = Pair.open()) {
            byte[] none = drain(pair.server(), "with nothing sent");
            Expect.that(none != null && none.length == 0, "with nothing sent, readAvailable returned "
                    + (none == null ? "null (end of stream)" : none.length + " bytes") + "; expected no bytes");

            byte[] sent = new byte[40_000];
            for (int i = 0; i < sent.length; i++) sent[i] = (byte) ('a' + i % 26);
            for (int i = 0; i < 4; i++) pair.client().write(ByteBuffer.wrap(sent, i * 10_000, 10_000));
            pair.awaitReceived(sent.length);
            byte[] got = drain(pair.server(), "with 40,000 bytes waiting");
            Expect.that(got != null && Arrays.equals(sent, got), "with 40,000 bytes waiting in the kernel (four writes of"
                    + " 10,000), one call of readAvailable returned " + (got == null ? "null" : String.format("%,d bytes", got.length)
                    + (got.length == sent.length ? " that differ from those sent" : "")) + "; expected all 40,000");

            byte[] after = drain(pair.server(), "after taking everything");
            Expect.that(after != null && after.length == 0, "called again with nothing more sent, readAvailable returned "
                    + (after == null ? "null (end of stream)" : after.length + " bytes") + "; expected no bytes");

            pair.client().write(ByteBuffer.wrap("last\n".getBytes(StandardCharsets.UTF_8)));
            pair.awaitReceived(5);
            pair.client().shutdownOutput();
            pair.awaitReceived(6);                  // /proc/net/tcp counts the FIN as one byte more
            byte[] last = drain(pair.server(), "with a last line and end of stream waiting");
            Expect.that(last != null && new String(last, StandardCharsets.UTF_8).equals("last\n"),
                    "with \"last\\n\" and then end of stream waiting, readAvailable returned "
                            + (last == null ? "null: the last line is lost" : Expect.show(new String(last, StandardCharsets.UTF_8))));
            byte[] end = drain(pair.server(), "at end of stream");
            Expect.that(end == null, "after the last line, at end of stream, readAvailable returned "
                    + (end == null ? "null" : end.length + " bytes") + "; expected null");
        }
    }
}
