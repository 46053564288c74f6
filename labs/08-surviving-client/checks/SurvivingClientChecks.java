import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/// The graded checks of lab 08: the learner's client against servers the checks run, each
/// misbehaving in one way: slow, silent, resetting mid-reply, refusing, not answering a SYN, or
/// sending the reply one byte at a time.
public final class SurvivingClientChecks implements Lab {

    /// A policy for the checks where connecting is not the question.
    static final SurvivingClient.Policy PATIENT = new SurvivingClient.Policy(
            Duration.ofSeconds(2), Duration.ofSeconds(4), 3, Duration.ofMillis(50));
    /// How long a check waits for ask() before it says it is stuck.
    static final Duration STUCK = Duration.ofSeconds(8);

    @Override
    public String title() {
        return "A client that survives";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("sends the request, then half-closes", 10,
                        "after writing the request, shut down only the sending side (shutdownOutput): the server reads until end of stream",
                        SurvivingClientChecks::halfCloses),
                Check.core("reads the reply to end of stream", 10,
                        "one read returns what has arrived so far, not the reply: read until read() returns -1",
                        SurvivingClientChecks::readsToEndOfStream),
                Check.core("reads a reply sent one byte at a time", 10,
                        "a short read, or nothing available() for a moment, is not the end: only -1 is",
                        SurvivingClientChecks::oneByteAtATime),
                Check.of("waits for a slow server", 10,
                        "the read timeout bounds one silence, and it is not the connect timeout",
                        SurvivingClientChecks::slowServer),
                Check.core("gives up on a silent server after the read timeout", 10,
                        "a read waits forever unless the socket has a timeout (setSoTimeout)",
                        SurvivingClientChecks::silentServer),
                Check.of("closes the connection when it gives up", 5,
                        "close the socket however the exchange ends, with a reply or with an exception (try-with-resources)",
                        SurvivingClientChecks::closesWhenItGivesUp),
                Check.of("reports a reset in the middle of a reply", 10,
                        "a reset is an IOException, not an end of stream: let it reach the caller instead of returning half a reply",
                        SurvivingClientChecks::resetMidReply),
                Check.of("does not send a request twice", 5,
                        "retry the connect only: once the request is sent, the server may have acted on it",
                        SurvivingClientChecks::noSecondRequest),
                Check.of("times out a connect nobody answers", 10,
                        "connect(address, timeout): without one, a SYN nobody answers is retried by the kernel for about two minutes",
                        SurvivingClientChecks::connectTimesOut),
                Check.of("retries a connect that timed out, and gets through", 10,
                        "a connect timeout is a failed attempt like a refusal: close that socket, wait, try again",
                        SurvivingClientChecks::retriesAfterTimeout).within(Duration.ofSeconds(30)),
                Check.of("gives up after the last attempt, waiting longer each time", 10,
                        "wait firstBackoff, then twice as long before each next attempt; after the last one, stop and throw",
                        SurvivingClientChecks::backoffAndLimit));
    }

    // ---- The servers the checks run. ----

    /// What one of the checks' servers does with each connection.
    @FunctionalInterface
    interface Behaviour {
        void serve(Socket connection, FakeServer server) throws Exception;
    }

    /// A server on a free loopback port that serves each connection on a thread of its own,
    /// counts them, and remembers the first failure of its own side.
    static final class FakeServer implements AutoCloseable {
        final ServerSocket listener;
        final AtomicInteger connections = new AtomicInteger();
        final AtomicReference<String> note = new AtomicReference<>("");
        final CountDownLatch done = new CountDownLatch(1);
        final List<Socket> open = new java.util.concurrent.CopyOnWriteArrayList<>();

        FakeServer(Behaviour behaviour) throws IOException {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofPlatform().daemon().name("check's server").start(() -> {
                try {
                    while (true) {
                        Socket connection = listener.accept();
                        connections.incrementAndGet();
                        open.add(connection);
                        Thread.ofPlatform().daemon().name("check's server: connection").start(() -> {
                            try {
                                connection.setSoTimeout(5_000);
                                behaviour.serve(connection, this);
                            } catch (Exception e) {
                                note.compareAndSet("", "on the check's server's side: " + e);
                            } finally {
                                done.countDown();
                            }
                        });
                    }
                } catch (IOException closed) {
                    // The check is over.
                }
            });
        }

        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket connection : open) {
                connection.close();
            }
        }
    }

    static InetSocketAddress at(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /// Reads the request to end of stream; returns it, or null when no end of stream came in time.
    static byte[] readRequest(Socket connection, Duration limit) throws IOException {
        connection.setSoTimeout((int) limit.toMillis());
        var request = new java.io.ByteArrayOutputStream();
        InputStream in = connection.getInputStream();
        var buffer = new byte[8192];
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                request.write(buffer, 0, n);
            }
            return request.toByteArray();
        } catch (SocketTimeoutException noEndOfStream) {
            return null;
        }
    }

    /// Reads the request to end of stream, or fails the server's side with a note for the check.
    static byte[] requireRequest(Socket connection, FakeServer server) throws IOException {
        byte[] request = readRequest(connection, Duration.ofSeconds(3));
        if (request == null) {
            server.note.compareAndSet("", "the server waited 3 s for the end of the request, and it never came"
                    + " (the client did not shut down its sending side)");
            throw new IOException("no end of stream");
        }
        return request;
    }

    /// What ask() did: returned a reply or threw, and how long it took.
    record Answer(byte[] reply, Throwable failure, Duration took) {
        String describe() {
            return failure != null ? "threw " + describe(failure)
                    : "returned " + String.format("%,d", reply.length) + " bytes " + Expect.show(new String(reply, 0, Math.min(reply.length, 60), StandardCharsets.UTF_8));
        }

        static String describe(Throwable t) {
            return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
        }
    }

    /// Calls ask() on a thread of its own; waits at most `limit` for it.
    static Answer ask(int port, byte[] request, SurvivingClient.Policy policy, Duration limit, String stuck) throws Exception {
        return await(begin(port, request, policy), limit, stuck);
    }

    /// Calls ask() on a thread of its own.
    static CompletableFuture<Answer> begin(int port, byte[] request, SurvivingClient.Policy policy) {
        var answer = new CompletableFuture<Answer>();
        long start = System.nanoTime();
        Thread.ofPlatform().daemon().name("learner's client").start(() -> {
            try {
                byte[] reply = SurvivingClient.ask(at(port), request, policy);
                answer.complete(new Answer(reply, null, Duration.ofNanos(System.nanoTime() - start)));
            } catch (Throwable t) {
                answer.complete(new Answer(null, t, Duration.ofNanos(System.nanoTime() - start)));
            }
        });
        return answer;
    }

    /// What ask() did, within `limit`; a part not written yet is reported as such.
    static Answer await(CompletableFuture<Answer> answer, Duration limit, String stuck) throws Exception {
        try {
            Answer got = answer.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            if (got.failure() instanceof UnsupportedOperationException todo && String.valueOf(todo.getMessage()).startsWith("TODO(lab)")) {
                throw todo;
            }
            return got;
        } catch (TimeoutException e) {
            throw new AssertionError("ask() had not returned " + limit.toSeconds() + " s after it was called: " + stuck);
        }
    }

    /// Requires a reply equal to `expected`.
    static void expectReply(byte[] expected, Answer answer, String what, FakeServer server) {
        if (answer.failure() != null) {
            throw new AssertionError(what + ": expected the reply of " + String.format("%,d", expected.length)
                    + " bytes, but ask() " + answer.describe() + serverNote(server));
        }
        if (!Arrays.equals(expected, answer.reply())) {
            int same = Arrays.mismatch(expected, answer.reply());
            throw new AssertionError(what + ": expected " + String.format("%,d", expected.length) + " bytes, ask() "
                    + answer.describe() + (same >= 0 && same < Math.min(expected.length, answer.reply().length)
                            ? "; they differ from byte " + same : "") + serverNote(server));
        }
    }

    static String serverNote(FakeServer server) {
        String note = server.note.get();
        return note.isEmpty() ? "" : "; " + note;
    }

    static String ms(Duration d) {
        return String.format("%,d ms", d.toMillis());
    }

    // ---- The checks. ----

    private static void halfCloses() throws Exception {
        byte[] request = bytes("hello, server\n");
        try (var server = new FakeServer((connection, self) -> {
            byte[] got = requireRequest(connection, self);
            connection.getOutputStream().write(bytes("got " + got.length + " bytes\n"));
            connection.close();
        })) {
            Answer answer = ask(server.port(), request, PATIENT, STUCK, "the server reads the request until end of stream"
                    + serverNote(server));
            expectReply(bytes("got " + request.length + " bytes\n"), answer,
                    "after sending 14 bytes \"hello, server\\n\"", server);
        }
    }

    private static void readsToEndOfStream() throws Exception {
        byte[] reply = new byte[300_000];
        new Random(8).nextBytes(reply);
        try (var server = new FakeServer((connection, self) -> {
            requireRequest(connection, self);
            var out = connection.getOutputStream();
            // Several writes of different sizes: the client's reads see the pieces TCP makes of them.
            int sent = 0;
            for (int piece = 1; sent < reply.length; piece++) {
                int size = Math.min(reply.length - sent, 7_000 * piece);
                out.write(reply, sent, size);
                out.flush();
                sent += size;
            }
            connection.close();
        })) {
            expectReply(reply, ask(server.port(), bytes("send me 300,000 bytes\n"), PATIENT, STUCK, "the server sent 300,000 bytes and closed"),
                    "a reply of 300,000 bytes in several writes, then end of stream", server);
        }
    }

    private static void oneByteAtATime() throws Exception {
        byte[] reply = bytes("one byte at a time: slow, but all of it arrives.\n");
        try (var server = new FakeServer((connection, self) -> {
            requireRequest(connection, self);
            connection.setTcpNoDelay(true);          // each byte goes out in a segment of its own
            var out = connection.getOutputStream();
            for (byte b : reply) {
                out.write(b);
                out.flush();
                Thread.sleep(5);                      // the server is slow on purpose
            }
            connection.close();
        })) {
            expectReply(reply, ask(server.port(), bytes("trickle\n"), PATIENT, STUCK, "the server sent 50 bytes and closed"),
                    "a reply of 50 bytes sent one at a time, 5 ms apart", server);
        }
    }

    private static void slowServer() throws Exception {
        var policy = new SurvivingClient.Policy(Duration.ofMillis(200), Duration.ofSeconds(3), 1, Duration.ofMillis(50));
        try (var server = new FakeServer((connection, self) -> {
            requireRequest(connection, self);
            var out = connection.getOutputStream();
            out.write(bytes("the first half, "));
            out.flush();
            Thread.sleep(1_000);                      // the server is slow on purpose
            out.write(bytes("and a second later, the rest\n"));
            connection.close();
        })) {
            expectReply(bytes("the first half, and a second later, the rest\n"),
                    ask(server.port(), bytes("take your time\n"), policy, STUCK, "the server replied within 1 s and closed"),
                    "a reply whose two halves are 1 s apart (connect timeout 200 ms, read timeout 3 s)", server);
        }
    }

    /// A server that reads the request and then says nothing, keeping the connection open. Once
    /// the client gave up, it finds out whether the client closed its socket: it writes a byte now
    /// and then, and a closed socket answers the first with a reset, which makes a later write fail.
    static final class SilentServer implements Behaviour {
        final CountDownLatch gaveUp = new CountDownLatch(1);
        final CompletableFuture<String> afterwards = new CompletableFuture<>();

        @Override
        public void serve(Socket connection, FakeServer server) throws Exception {
            requireRequest(connection, server);
            if (!gaveUp.await(10, TimeUnit.SECONDS)) {
                return;
            }
            try {
                for (int i = 0; i < 40; i++) {
                    connection.getOutputStream().write('?');
                    connection.getOutputStream().flush();
                    Thread.sleep(50);
                }
                afterwards.complete("open");
            } catch (IOException closed) {
                afterwards.complete("closed");
            }
        }
    }

    static final SurvivingClient.Policy IMPATIENT = new SurvivingClient.Policy(
            Duration.ofSeconds(2), Duration.ofMillis(500), 1, Duration.ofMillis(50));

    private static Answer askSilent(FakeServer server) throws Exception {
        Answer answer = ask(server.port(), bytes("anyone there?\n"), IMPATIENT, Duration.ofSeconds(6),
                "the server read the request and has said nothing since, and the read timeout is 500 ms" + serverNote(server));
        if (answer.failure() == null) {
            throw new AssertionError("the server said nothing, yet ask() " + answer.describe());
        }
        if (!(answer.failure() instanceof SocketTimeoutException)) {
            throw new AssertionError("a server that says nothing: expected a SocketTimeoutException after the read timeout of 500 ms, but ask() "
                    + answer.describe() + serverNote(server));
        }
        return answer;
    }

    private static void silentServer() throws Exception {
        var silent = new SilentServer();
        try (var server = new FakeServer(silent)) {
            Answer answer = askSilent(server);
            Expect.that(answer.took().toMillis() >= 450, "ask() gave up on a silent server after " + ms(answer.took())
                    + ", before its read timeout of 500 ms");
        }
    }

    private static void closesWhenItGivesUp() throws Exception {
        var silent = new SilentServer();
        try (var server = new FakeServer(silent)) {
            askSilent(server);
            silent.gaveUp.countDown();
            String afterwards = silent.afterwards.get(10, TimeUnit.SECONDS);
            Expect.that(afterwards.equals("closed"), "ask() threw SocketTimeoutException, but its socket is still open:"
                    + " the server wrote to it for 2 s after that, and no reset came back");
        }
    }

    /// A server that reads the request, sends the first 1,000 bytes of a reply, then resets.
    static FakeServer resettingServer() throws IOException {
        return new FakeServer((connection, self) -> {
            requireRequest(connection, self);
            connection.getOutputStream().write(bytes("x".repeat(999) + "\n"));
            connection.getOutputStream().flush();
            connection.setSoLinger(true, 0);          // close with RST, not FIN
            connection.close();
        });
    }

    static final SurvivingClient.Policy RETRYING = new SurvivingClient.Policy(
            Duration.ofSeconds(2), Duration.ofSeconds(3), 3, Duration.ofMillis(50));

    private static void resetMidReply() throws Exception {
        try (var server = resettingServer()) {
            Answer answer = ask(server.port(), bytes("a request\n"), RETRYING, STUCK, "the server reset the connection");
            if (answer.failure() == null) {
                throw new AssertionError("the server sent 1,000 bytes of its reply, then reset the connection (RST), yet ask() "
                        + answer.describe() + " as if that were the whole reply");
            }
            Expect.that(answer.failure() instanceof IOException, "after a reset mid-reply, expected an IOException, but ask() "
                    + answer.describe());
        }
    }

    private static void noSecondRequest() throws Exception {
        try (var server = resettingServer()) {
            Answer answer = ask(server.port(), bytes("transfer 100 euros\n"), RETRYING, STUCK, "the server reset the connection");
            Expect.that(answer.failure() != null, "the server reset the connection mid-reply, yet ask() " + answer.describe());
            Expect.that(server.connections.get() == 1, "the server received the request " + server.connections.get()
                    + " times (a reset after the request, with 3 attempts allowed): it may have acted on each of them");
        }
    }

    // ---- A listener whose accept queue is full: the kernel drops each new SYN, nothing answers. ----

    /// A listener with the smallest backlog, its accept queue filled by connections never accepted.
    static final class FullQueue implements AutoCloseable {
        final ServerSocket listener;
        final List<Socket> fillers = new ArrayList<>();

        FullQueue() throws IOException {
            listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            // Fill the queue until a connect goes unanswered (Linux queues backlog + 1).
            for (int i = 0; i < 8; i++) {
                var filler = new Socket();
                try {
                    filler.connect(at(listener.getLocalPort()), 300);
                    fillers.add(filler);
                } catch (SocketTimeoutException full) {
                    filler.close();
                    return;
                }
            }
            throw new IllegalStateException("the check's listener (backlog 1) still accepted connections after 8");
        }

        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            for (Socket filler : fillers) {
                filler.close();
            }
            listener.close();
        }
    }

    private static void connectTimesOut() throws Exception {
        var policy = new SurvivingClient.Policy(Duration.ofMillis(300), Duration.ofSeconds(2), 1, Duration.ofMillis(50));
        try (var full = new FullQueue()) {
            Answer answer = ask(full.port(), bytes("hello?\n"), policy, Duration.ofSeconds(5),
                    "its SYN goes unanswered (the listener's accept queue is full), and the connect timeout is 300 ms");
            if (answer.failure() == null) {
                throw new AssertionError("a connect nobody answers, yet ask() " + answer.describe());
            }
            Expect.that(answer.failure() instanceof SocketTimeoutException,
                    "a SYN nobody answers, connect timeout 300 ms, 1 attempt: expected a SocketTimeoutException, but ask() "
                            + answer.describe());
        }
    }

    private static void retriesAfterTimeout() throws Exception {
        // A connect timeout long enough to be seen in /proc/net/tcp, which takes a while to read
        // on a machine with many sockets.
        var policy = new SurvivingClient.Policy(Duration.ofMillis(1_500), Duration.ofSeconds(3), 4, Duration.ofMillis(200));
        byte[] reply = bytes("served after a retry\n");
        try (var full = new FullQueue()) {
            var answer = begin(full.port(), bytes("let me in\n"), policy);
            // See the first attempt wait in SYN-SENT, then see it give up.
            Optional<Integer> first = awaitSynSent(full.port(), Duration.ofSeconds(5));
            if (first.isEmpty()) {
                throw new AssertionError("no connect to the server's port appeared within 5 s"
                        + (answer.isDone() ? ": ask() " + await(answer, Duration.ZERO, "").describe() : ""));
            }
            int attempt = first.get();
            Expect.eventually(Duration.ofSeconds(6), () -> !synSentFrom(attempt, full.port()),
                    "the first connect, whose SYN nobody answers, was still waiting 6 s later, though the connect timeout is 1.5 s");
            // Make room: from now on the server accepts and answers.
            for (Socket filler : full.fillers) {
                full.listener.accept().close();
                filler.close();
            }
            Thread.ofPlatform().daemon().start(() -> {
                try (Socket connection = full.listener.accept()) {
                    connection.setSoTimeout(5_000);
                    if (readRequest(connection, Duration.ofSeconds(3)) != null) {
                        connection.getOutputStream().write(reply);
                    }
                } catch (IOException e) {
                    // The check is over.
                }
            });
            Answer got = await(answer, Duration.ofSeconds(12), "the server had room again after the first connect timed out");
            if (got.failure() != null) {
                throw new AssertionError("the first connect timed out (nobody answered its SYN); then the server had room,"
                        + " and 3 more attempts were allowed, but ask() " + got.describe() + " after " + ms(got.took()));
            }
            Expect.equal(new String(reply, StandardCharsets.UTF_8), new String(got.reply(), StandardCharsets.UTF_8),
                    "the reply after a retried connect");
        }
    }

    /// The local port of a socket in SYN-SENT towards `port`, seen in /proc/net/tcp within `limit`.
    static Optional<Integer> awaitSynSent(int port, Duration limit) throws IOException {
        long deadline = System.nanoTime() + limit.toNanos();
        do {
            for (int[] socket : sockets()) {
                if (socket[1] == port && socket[2] == SYN_SENT) {
                    return Optional.of(socket[0]);
                }
            }
            java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
        } while (System.nanoTime() < deadline);
        return Optional.empty();
    }

    static boolean synSentFrom(int localPort, int port) {
        try {
            for (int[] socket : sockets()) {
                if (socket[0] == localPort && socket[1] == port && socket[2] == SYN_SENT) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static final int SYN_SENT = 2;

    /// Every TCP socket of this machine, from /proc/net/tcp and tcp6: local port, remote port, state.
    static List<int[]> sockets() throws IOException {
        var sockets = new ArrayList<int[]>();
        for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            Path path = Path.of(table);
            if (!Files.isReadable(path)) {
                continue;
            }
            for (String line : Files.readAllLines(path)) {
                String[] fields = line.trim().split("\\s+");
                if (fields.length < 4 || !fields[1].contains(":")) {
                    continue;
                }
                sockets.add(new int[] {port(fields[1]), port(fields[2]), Integer.parseInt(fields[3], 16)});
            }
        }
        return sockets;
    }

    private static int port(String address) {
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1), 16);
    }

    // ---- A port where nothing listens: every connect is refused. ----

    private static void backoffAndLimit() throws Exception {
        var policy = new SurvivingClient.Policy(Duration.ofSeconds(1), Duration.ofSeconds(1), 4, Duration.ofMillis(300));
        // A socket bound to the port but not listening: the kernel answers each SYN with a reset.
        try (var holder = new Socket()) {
            holder.bind(at(0));
            // One attempt first, untimed: loading and compiling the client's code is no part of its waits.
            ask(holder.getLocalPort(), bytes("warming up\n"), new SurvivingClient.Policy(Duration.ofSeconds(1), Duration.ofSeconds(1),
                    1, Duration.ofMillis(300)), Duration.ofSeconds(6), "nothing listens on its port, and 1 attempt is allowed");
            Answer answer = ask(holder.getLocalPort(), bytes("hello?\n"), policy, Duration.ofSeconds(8),
                    "nothing listens on its port, and 4 attempts are allowed: it never gives up");
            String expected = "nothing listens; 4 attempts, waiting 300, 600, then 1,200 ms: expected a ConnectException after 2.1 to 4 s";
            if (answer.failure() == null) {
                throw new AssertionError(expected + ", but ask() " + answer.describe());
            }
            Expect.that(answer.failure() instanceof ConnectException, expected + ", but ask() " + answer.describe());
            long took = answer.took().toMillis();
            // Sleeps never end early, so the lower bound is exact; the upper one leaves 1.9 s for a slow
            // machine, while one more wait (2,400 ms) would pass it.
            Expect.that(took >= 2_100 && took < 4_000, expected + ", but it came after " + ms(answer.took())
                    + (took < 300 ? ": no retry, or no wait between attempts" : took < 2_100 ? ": too few waits, or waits that do not double" : ": more attempts, or a wait after the last one"));
        }
    }
}
