import grading.Check;
import grading.Client;
import grading.Clients;
import grading.EchoChecks;
import grading.Expect;
import grading.Lab;
import grading.Threads;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/// The graded checks of lab 02: each starts the learner's event loop on port 0 and talks to it.
public final class EventLoopEchoChecks implements Lab {

    /// More than the kernel buffers on loopback (a few MB each way): some replies must wait.
    static final int FLOOD_BYTES = 16 << 20;
    /// Sent before end of stream: less than MAX_QUEUED, more than the server's send buffer can
    /// hold (on Linux it grows to net.ipv4.tcp_wmem's maximum, 4 MB by default) and the client's
    /// small receive buffer together, so replies are still queued when the end of stream comes.
    static final int EOF_FLOOD_BYTES = 6 << 20;

    @Override
    public String title() {
        return "Event-loop echo";
    }

    /// What a client sends without reading, to see whether the server stops reading it: more
    /// than the kernel can hold on loopback (its receive buffer grows to 32 MB at most here).
    static final long SLOW_READER_BYTES = 160L << 20;
    /// Below this, the sending stopped because the server stopped reading: what the kernel holds
    /// (its receive buffer grows to 32 MB here, the send buffer to 4 MB) and MAX_QUEUED together.
    static final long BACKPRESSURE_BOUND = 80L << 20;
    /// How long the loop is watched while its one client is quiet.
    static final Duration IDLE = Duration.ofMillis(2000);
    /// The most CPU the server's threads may use in that time: a loop that sleeps in select()
    /// uses next to nothing (under 5 ms measured), one that spins uses what the scheduler gives it
    /// (over 100 ms even on a machine whose cores are all busy).
    static final Duration IDLE_CPU = Duration.ofMillis(25);

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("echoes a line", 10,
                        "on OP_READ, read into the connection's buffer, cut out the line, queue it, write it",
                        () -> withClient(client -> client.echo("hello"))),
                Check.core("serves 100 clients on one thread", 10,
                        "no thread per client: the one event-loop thread does all the reads and writes",
                        EventLoopEchoChecks::oneThread),
                Check.core("serves 1,000 clients at once", 10,
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
                Check.of("a client that does not read holds up nobody", 10,
                        "never loop on write() until it is done: a full send buffer means wait for OP_WRITE",
                        EventLoopEchoChecks::slowReaderHoldsUpNobody).within(Duration.ofSeconds(30)),
                Check.of("stops reading from a client that does not read", 10,
                        "while MAX_QUEUED bytes of replies wait, leave OP_READ out: the client's sending stops, not your memory",
                        EventLoopEchoChecks::backpressure).within(Duration.ofSeconds(40)),
                Check.of("sleeps while its clients are quiet", 10,
                        "want OP_WRITE only while replies wait: with it set and nothing to write, select() returns at once, forever",
                        EventLoopEchoChecks::idleLoopSleeps),
                Check.of("closes at end of stream, after the last reply", 5,
                        "read returns -1 at end of stream: send everything still queued, then close the channel",
                        EventLoopEchoChecks::closesAfterEveryReply).within(Duration.ofSeconds(30)),
                Check.of("survives a client that resets", 5,
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
        return flood(FLOOD_BYTES);
    }

    /// Lines of 1 KB, `bytes` in all, numbered.
    static byte[] flood(int bytes) {
        var text = new StringBuilder(bytes);
        for (int i = 0; text.length() < bytes; i++) {
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

    /// A client that sends lines without reading: it writes until the server stops taking them.
    private static void backpressure() throws Exception {
        try (var server = EventLoopEcho.start(0); var socket = new java.net.Socket()) {
            // Small buffers on the grader's side, so that what the client could send is what the
            // server took.
            socket.setReceiveBufferSize(64 << 10);
            socket.setSendBufferSize(64 << 10);
            socket.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), server.port()), 3000);
            var sent = new AtomicLong();
            var sender = Thread.ofPlatform().daemon().name("client that does not read").start(() -> {
                byte[] lines = flood(64 << 10);
                try (var out = socket.getOutputStream()) {
                    while (sent.get() < SLOW_READER_BYTES) {
                        out.write(lines);
                        sent.addAndGet(lines.length);
                    }
                } catch (IOException closed) {
                    // The check closed the socket.
                }
            });
            // Wait until the sending has stopped for a second, or everything is sent.
            long last = -1;
            long stillSince = System.nanoTime();
            while (sender.isAlive() && System.nanoTime() - stillSince < 1_000_000_000L) {
                if (sent.get() != last) {
                    last = sent.get();
                    stillSince = System.nanoTime();
                }
                java.util.concurrent.locks.LockSupport.parkNanos(50_000_000);
            }
            Expect.that(sent.get() < BACKPRESSURE_BOUND, String.format("a client that never read its replies sent %,d MB and"
                    + " the server took all of it%s: it buffers without bound (a client that sends and never reads"
                    + " fills the server's memory). Expected the sending to stop below %,d MB",
                    sent.get() >> 20, sender.isAlive() ? "" : " (everything)", BACKPRESSURE_BOUND >> 20));
        }
    }

    /// With one client connected and quiet, the server's threads use (almost) no CPU.
    private static void idleLoopSleeps() throws Exception {
        var threads = ManagementFactory.getThreadMXBean();
        Set<Long> before = ids(threads);
        try (var server = EventLoopEcho.start(0); var client = Client.connect(server.port())) {
            client.echo("then quiet");
            client.echo("still here");
            var serverThreads = ids(threads);
            serverThreads.removeAll(before);
            Expect.that(!serverThreads.isEmpty(), "found no thread the server started");
            long cpuBefore = cpuNanos(threads, serverThreads);
            long start = System.nanoTime();
            long cpu = 0;
            // Watch the quiet loop for a fixed time (the measurement, not a wait for an event),
            // stopping early once it has used more than its share.
            while (System.nanoTime() - start < IDLE.toNanos() && cpu < IDLE_CPU.toNanos()) {
                java.util.concurrent.locks.LockSupport.parkNanos(50_000_000);
                cpu = cpuNanos(threads, serverThreads) - cpuBefore;
            }
            long wall = System.nanoTime() - start;
            Expect.that(cpu < IDLE_CPU.toNanos(), String.format("with one quiet client, the server's threads used %,d ms of CPU"
                    + " in %,d ms (at most %,d ms expected): the loop spins instead of sleeping in select()",
                    cpu / 1_000_000, wall / 1_000_000, IDLE_CPU.toMillis()));
            client.echo("after the quiet");
        }
    }

    private static Set<Long> ids(ThreadMXBean threads) {
        return Arrays.stream(threads.getAllThreadIds()).boxed().collect(Collectors.toCollection(HashSet::new));
    }

    private static long cpuNanos(ThreadMXBean threads, Set<Long> ids) {
        long total = 0;
        for (long id : ids) {
            total += Math.max(0, threads.getThreadCpuTime(id));
        }
        return total;
    }

    /// A flood sent, then end of stream: every reply must come back before the server closes.
    private static void closesAfterEveryReply() throws Exception {
        byte[] sent = flood(EOF_FLOOD_BYTES);
        try (var server = EventLoopEcho.start(0); var socket = new java.net.Socket()) {
            // A small receive buffer, so that most replies are still queued in the server when
            // it reads the end of stream.
            socket.setReceiveBufferSize(64 << 10);
            socket.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), server.port()), 3000);
            var client = Client.over(socket);
            var sending = CompletableFuture.runAsync(() -> {
                try {
                    client.send(sent);
                    socket.shutdownOutput();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, runnable -> Thread.ofPlatform().daemon().name("sending client").start(runnable));
            // Read only once the client has sent everything and ended its stream (or after 8 s,
            // should the server stop reading it earlier), and the server has read it all: both
            // kernel queues on the way are empty. Then the server meets the end of stream with
            // replies still queued, every time.
            awaitQuietly(sending, Duration.ofSeconds(8));
            awaitInputRead(socket, server.port());
            byte[] received = readUpTo(client.input(), sent.length);
            Expect.that(received.length == sent.length, String.format("sent %,d bytes of lines, then end of stream;"
                    + " %,d bytes came back before the server closed: it closed with replies still queued",
                    sent.length, received.length));
            int differsAt = Arrays.mismatch(sent, received);
            Expect.that(differsAt < 0, "the replies differ from the lines sent, from byte " + differsAt);
            client.expectClosed("after the last reply to a client that ended its stream");
        }
    }

    /// Waits (at most 8 s) until what the client sent has left its send queue and the server's
    /// receive queue; where the kernel does not say (not Linux), a second.
    private static void awaitInputRead(java.net.Socket client, int serverPort) throws IOException {
        int clientPort = client.getLocalPort();
        long deadline = System.nanoTime() + 8_000_000_000L;
        while (System.nanoTime() < deadline) {
            var mine = grading.TcpQueues.of(clientPort, serverPort);
            var theirs = grading.TcpQueues.of(serverPort, clientPort);
            if (mine.isEmpty() || theirs.isEmpty()) {
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000_000L);
                return;
            }
            if (mine.get().send() == 0 && theirs.get().receive() == 0) {
                return;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
        }
    }

    /// Up to `length` bytes, until end of stream or 3 s of silence.
    private static byte[] readUpTo(InputStream in, int length) throws IOException {
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
        } catch (java.net.SocketTimeoutException | java.net.SocketException e) {
            // Report what arrived.
        }
        return Arrays.copyOf(bytes, got);
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
        Expect.that(got == length, String.format("only %,d of %,d bytes came back%s", got, length, grading.ServerLog.hint()));
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
