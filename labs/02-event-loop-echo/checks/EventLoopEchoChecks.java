import grading.Check;
import grading.Client;
import grading.Clients;
import grading.EchoChecks;
import grading.Expect;
import grading.Lab;
import grading.Threads;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/// The graded checks of lab 02: each starts the learner's event loop on port 0 and talks to it.
public final class EventLoopEchoChecks implements Lab {

    /// More than the kernel buffers on loopback (a few MB each way): some replies must wait.
    static final int FLOOD_BYTES = 16 << 20;

    @Override
    public String title() {
        return "Event-loop echo";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("echoes a line", 10,
                        "on OP_READ, read into the connection's buffer, cut out the line, queue it, write it",
                        () -> withClient(client -> client.echo("hello"))),
                Check.core("serves 100 clients on one thread", 10,
                        "no thread per client: the one event-loop thread does all the reads and writes",
                        EventLoopEchoChecks::oneThread),
                Check.core("serves 1,000 clients at once", 15,
                        "every connection is a key in the same Selector, with its own buffers as attachment",
                        EventLoopEchoChecks::thousandClients).within(Duration.ofSeconds(40)),
                Check.of("joins a line split across reads", 10,
                        "a read may end mid-line: keep those bytes in the buffer (compact) until the newline comes",
                        EventLoopEchoChecks::splitLine),
                Check.of("echoes several lines that arrive in one read", 5,
                        "one read can hold several lines: queue every complete line, not just the first",
                        EventLoopEchoChecks::severalLinesInOneRead),
                Check.core("flushes replies the kernel could not take at once", 15,
                        "write() may take only part of a buffer: keep the rest queued and finish on OP_WRITE",
                        EventLoopEchoChecks::flushesEverything).within(Duration.ofSeconds(30)),
                Check.of("a client that does not read holds up nobody", 15,
                        "never loop on write() until it is done: a full send buffer means wait for OP_WRITE",
                        EventLoopEchoChecks::slowReaderHoldsUpNobody).within(Duration.ofSeconds(30)),
                Check.of("closes at end of stream, after the last reply", 10,
                        "read returns -1 at end of stream: send what is queued, then close the channel",
                        () -> EchoChecks.closesAtEndOfStream(EventLoopEchoChecks::start)),
                Check.of("survives a client that resets", 10,
                        "an IOException belongs to one key: close that channel, keep the loop running",
                        () -> EchoChecks.survivesReset(EventLoopEchoChecks::start)));
    }

    /// The learner's server, as the shared echo checks see it.
    static EchoChecks.Server start() throws Exception {
        var server = EventLoopEcho.start(0);
        return new EchoChecks.Server(server.port(), server::close);
    }

    private static void withClient(EchoChecks.Conversation conversation) throws Exception {
        EchoChecks.withClient(EventLoopEchoChecks::start, conversation);
    }

    private static void oneThread() throws Exception {
        try (var server = EventLoopEcho.start(0)) {
            int before = Threads.countAll();
            try (var clients = new Clients().connect(server.port(), 100)) {
                for (int i = 0; i < 100; i++) {
                    clients.get(i).echo("client " + i);
                }
                int during = Threads.countAll();
                Expect.that(during - before <= 2, "the JVM had " + before + " threads before 100 clients and "
                        + during + " with them: the server started threads for clients");
            }
        }
    }

    private static void thousandClients() throws Exception {
        try (var server = EventLoopEcho.start(0)) {
            try (var clients = new Clients().connect(server.port(), 1000)) {
                for (int i = 0; i < 1000; i++) {
                    clients.get(i).send("client " + i + "\n");
                }
                for (int i = 0; i < 1000; i++) {
                    Expect.equal("client " + i, clients.get(i).readLine(), "the reply to client " + i + " of 1,000");
                }
            }
        }
    }

    private static void splitLine() throws Exception {
        withClient(client -> {
            client.send("hel");
            client.expectNothingFor(Duration.ofMillis(300), "half a line must wait for its newline");
            client.send("lo\n");
            Expect.equal("hello", client.readLine(), "the reply to \"hel\" then \"lo\\n\"");
        });
    }

    private static void severalLinesInOneRead() throws Exception {
        withClient(client -> {
            client.send("a\nbb\nccc\n");
            for (String line : List.of("a", "bb", "ccc")) {
                Expect.equal(line, client.readLine(), "a reply to \"a\\nbb\\nccc\\n\" sent in one write");
            }
        });
    }

    /// Lines of 1 KB, FLOOD_BYTES in all, numbered so that a lost or repeated piece shows.
    static byte[] flood() {
        var text = new StringBuilder(FLOOD_BYTES);
        for (int i = 0; text.length() < FLOOD_BYTES; i++) {
            String number = String.format("%08d ", i);
            text.append(number).append("x".repeat(1023 - number.length())).append('\n');
        }
        return text.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void flushesEverything() throws Exception {
        byte[] sent = flood();
        withClient(client -> {
            var sending = client.sendInBackground(sent);
            // Read only when the client has sent everything (or the server stopped reading it).
            awaitQuietly(sending, Duration.ofSeconds(8));
            byte[] received = readExactly(client.input(), sent.length);
            int differsAt = Arrays.mismatch(sent, received);
            Expect.that(differsAt < 0, "the replies differ from the lines sent, from byte " + differsAt
                    + " of " + sent.length + ": replies were lost or sent twice");
        });
    }

    private static void slowReaderHoldsUpNobody() throws Exception {
        try (var server = EventLoopEcho.start(0);
             var flooding = Client.connect(server.port());
             var other = Client.connect(server.port())) {
            var sending = flooding.sendInBackground(flood());
            awaitQuietly(sending, Duration.ofSeconds(8));
            other.echo("am I served?");
        }
    }

    private static byte[] readExactly(InputStream in, int length) throws IOException {
        var bytes = new byte[length];
        int got = 0;
        try {
            while (got < length) {
                int n = in.read(bytes, got, length - got);
                if (n < 0) {
                    break;
                }
                got += n;
            }
        } catch (java.net.SocketTimeoutException e) {
            // Report below what arrived.
        }
        Expect.that(got == length, "only " + got + " of " + length + " bytes came back");
        return bytes;
    }

    private static void awaitQuietly(CompletableFuture<Void> future, Duration limit) throws InterruptedException {
        try {
            future.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            // The check's own expectation decides; the sender may still be blocked.
        }
    }

}
