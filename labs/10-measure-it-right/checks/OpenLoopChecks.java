import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// The graded checks of lab 10: the learner's generator against servers the checks run, which
/// record when each request arrived. One of them stalls on purpose, for known periods.
public final class OpenLoopChecks implements Lab {

    @Override
    public String title() {
        return "Measure it right";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("sends every planned request once and counts each reply", 10,
                        "rate × seconds requests, each index once; a reply that is the echo is one reply",
                        OpenLoopChecks::sendsEveryRequest),
                Check.core("keeps the schedule: none early, none falling behind", 15,
                        "wait for each request's own planned time, start + i / rate: never send ahead, and never let waits add up",
                        OpenLoopChecks::keepsTheSchedule),
                Check.core("measures from the planned time: a stalled server shows in p99", 20,
                        "a request that could not be sent on time has been waiting since its planned time: measure from then, not from when it went out",
                        OpenLoopChecks::stallShows),
                Check.of("latencies are microseconds: 100 ms of service reads 100,000 or more", 10,
                        "latency is the reply's time minus the request's planned time, in µs (nanoseconds / 1,000)",
                        OpenLoopChecks::inMicroseconds),
                Check.of("percentiles by nearest rank", 10,
                        "the p-th percentile of n sorted values is the one at rank ceil(p / 100 × n), counting from 1",
                        OpenLoopChecks::nearestRank),
                Check.of("a reply that is not the echo is an error", 5,
                        "compare each reply with its request: only the echo counts as a reply",
                        OpenLoopChecks::wrongReplyIsAnError),
                Check.of("a refused connection is an error, not an exception", 10,
                        "catch the failure to connect: each request that could not be sent is an error, and the run goes on",
                        OpenLoopChecks::refusedIsAnError),
                Check.of("a server that vanishes: every later request is an error", 10,
                        "after end of stream, connect again for the next request; where that is refused too, it is an error",
                        OpenLoopChecks::vanishingServer),
                Check.of("a silent server: errors after REPLY_LIMIT, and the run still ends", 10,
                        "a request has until REPLY_LIMIT after its planned time, not after it was sent: then it is an error",
                        OpenLoopChecks::silentServer));
    }

    // ---- The servers the checks run ----

    /// What a test server answers to request `index` (the line `line`), or null for no answer.
    @FunctionalInterface
    interface Answer {
        String to(TestServer server, int index, String line, long arrivalNanos) throws Exception;
    }

    /// A line server on loopback, a thread per connection, that records when each request arrived.
    static final class TestServer implements AutoCloseable {
        final ServerSocket listener;
        final Answer answer;
        final Map<Integer, Long> arrivals = new ConcurrentHashMap<>();
        final Map<Integer, Integer> times = new ConcurrentHashMap<>();
        final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
        volatile long firstArrival;
        int replied;                     // guarded by this

        TestServer(Answer answer) throws IOException {
            this.answer = answer;
            this.listener = new ServerSocket();
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread.ofPlatform().daemon().name("test server").start(this::acceptLoop);
        }

        int port() {
            return listener.getLocalPort();
        }

        private void acceptLoop() {
            try {
                while (true) {
                    Socket socket = listener.accept();
                    sockets.add(socket);
                    Thread.ofVirtual().start(() -> serve(socket));
                }
            } catch (IOException closed) {
                // The check is over, or the server vanishes on purpose.
            }
        }

        private void serve(Socket socket) {
            try (socket) {
                var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                OutputStream out = socket.getOutputStream();
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    long now = System.nanoTime();
                    synchronized (this) {
                        if (firstArrival == 0) firstArrival = now;
                    }
                    int index = line.matches("\\d{1,9}") ? Integer.parseInt(line) : -1;
                    arrivals.putIfAbsent(index, now);
                    times.merge(index, 1, Integer::sum);
                    String reply = answer.to(this, index, line, now);
                    if (reply != null) {
                        out.write((reply + "\n").getBytes(StandardCharsets.UTF_8));
                        out.flush();
                    }
                }
            } catch (Exception gone) {
                // The generator closed or reset the connection: nothing to answer.
            }
        }

        /// Stops listening and ends every connection with an orderly close (FIN), as a server
        /// that exits does; what the generator still sends is read and dropped.
        void vanish() throws IOException {
            listener.close();
            for (Socket socket : sockets) {
                if (!socket.isClosed()) socket.shutdownOutput();
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket socket : sockets) socket.close();
        }
    }

    static final Answer ECHO = (server, index, line, at) -> line;

    /// An echo that takes SERVICE_TIME for each request, as real work would. A generator that
    /// sleeps an interval after each reply drifts by at least this much a request. (Long enough
    /// that the scheduler's delays, a few milliseconds, are small beside it.)
    static final Duration SERVICE_TIME = Duration.ofMillis(100);

    static final Answer SLOW_ECHO = (server, index, line, at) -> {
        Thread.sleep(SERVICE_TIME);
        return line;
    };

    /// Two stalls of STALL, at 0.5 s and at 1.2 s after the first request: a request that arrives
    /// during one is answered when it ends, and so are the ones behind it.
    static final Duration STALL = Duration.ofMillis(300);
    static final long[] STALL_STARTS_MILLIS = {500, 1200};   // after the first request

    static final Answer STALLS = (server, index, line, at) -> {
        long since = (at - server.firstArrival) / 1_000_000;
        for (long start : STALL_STARTS_MILLIS) {
            if (since >= start && since < start + STALL.toMillis()) {
                // Stall on purpose: this is the server misbehaving, not the check waiting.
                Thread.sleep(start + STALL.toMillis() - since);
            }
        }
        return line;
    };

    // ---- Helpers ----

    /// A run, timed, with a failure that says what the generator was asked to do.
    record Run(OpenLoop.Report report, Duration took, String asked) {
    }

    static Run run(TestServer server, int rate, Duration duration, int connections) throws Exception {
        return run(server.port(), rate, duration, connections);
    }

    static Run run(int port, int rate, Duration duration, int connections) throws Exception {
        String asked = "run(port, rate " + rate + "/s, " + duration.toMillis() + " ms, " + connections + " connections)";
        long start = System.nanoTime();
        OpenLoop.Report report = OpenLoop.run(port, rate, duration, connections);
        var took = Duration.ofNanos(System.nanoTime() - start);
        Expect.that(report != null, asked + " returned null instead of a Report");
        return new Run(report, took, asked);
    }

    static String counts(OpenLoop.Report r) {
        return "planned " + r.planned() + ", sent " + r.sent() + ", replies " + r.replies() + ", errors " + r.errors();
    }

    static void expectCounts(Run run, int planned, int replies, int errors) {
        var r = run.report();
        String got = run.asked() + " reported " + counts(r);
        Expect.that(r.planned() == planned, got + ": expected " + planned + " planned (rate × seconds)");
        Expect.that(r.replies() == replies && r.errors() == errors,
                got + ": expected " + replies + " replies and " + errors + " errors");
        Expect.that(r.latenciesMicros() != null && r.latenciesMicros().length == replies,
                got + ", and " + (r.latenciesMicros() == null ? "no" : r.latenciesMicros().length)
                        + " latencies: expected one latency for each reply");
    }

    /// A short good run first: a program that fails everything earns no points for its failures.
    static void worksFirst(String why) throws Exception {
        try (var server = new TestServer(ECHO)) {
            Run good = run(server, 100, Duration.ofMillis(500), 2);
            Expect.that(good.report().replies() == 50 && good.report().errors() == 0,
                    "before " + why + ", against an echo server: " + good.asked() + " reported " + counts(good.report())
                            + ": expected 50 replies and no errors");
        }
    }

    static String ms(long micros) {
        return String.format("%,d ms", micros / 1000);
    }

    // ---- The checks ----

    private static void sendsEveryRequest() throws Exception {
        try (var server = new TestServer(ECHO)) {
            Run run = run(server, 200, Duration.ofSeconds(1), 2);
            expectCounts(run, 200, 200, 0);
            Expect.that(run.report().sent() == 200, run.asked() + " reported " + counts(run.report()) + ": expected 200 sent");
            var missing = new ArrayList<Integer>();
            var twice = new ArrayList<Integer>();
            for (int i = 0; i < 200; i++) {
                int n = server.times.getOrDefault(i, 0);
                if (n == 0) missing.add(i);
                if (n > 1) twice.add(i);
            }
            Expect.that(missing.isEmpty() && twice.isEmpty() && server.times.size() == 200,
                    "the server got " + server.times.size() + " different requests; never got " + first(missing)
                            + ", got more than once " + first(twice) + ": expected the lines 0 to 199, each once");
        }
    }

    private static String first(List<Integer> indexes) {
        return indexes.isEmpty() ? "none" : indexes.subList(0, Math.min(5, indexes.size())) + (indexes.size() > 5 ? "…" : "");
    }

    /// How far a request may arrive from its plan: early, at all; late, for the best tenth of the
    /// second half of the run. At 200 a second on 50 connections, each connection has a request
    /// every 250 ms and is busy SERVICE_TIME of it. One that sleeps 250 ms after each reply falls
    /// SERVICE_TIME behind on every request and never catches up: a second in, 400 ms late for
    /// good. A right one held up for a moment (a garbage collection, another program's turn on
    /// the CPU) catches up, and is on time again.
    static final Duration EARLY_LIMIT = Duration.ofMillis(2);
    static final Duration LATE_LIMIT = Duration.ofMillis(250);

    private static void keepsTheSchedule() throws Exception {
        int rate = 200;
        int planned = 400;
        try (var server = new TestServer(SLOW_ECHO)) {
            Run run = run(server, rate, Duration.ofSeconds(2), 50);
            expectCounts(run, planned, planned, 0);
            long start = run.report().startNanos();
            long[] lagMicros = new long[planned];
            for (int i = 0; i < planned; i++) {
                Long arrived = server.arrivals.get(i);
                Expect.that(arrived != null, "request " + i + " never reached the server");
                lagMicros[i] = (arrived - (start + i * 1_000_000_000L / rate)) / 1000;
            }
            long earliest = Arrays.stream(lagMicros).min().orElseThrow();
            int earliestAt = indexOf(lagMicros, earliest);
            Expect.that(earliest >= -EARLY_LIMIT.toNanos() / 1000, "at 200 requests a second from startNanos, request " + earliestAt
                    + " reached the server " + ms(-earliest) + " before its planned time: expected none more than "
                    + EARLY_LIMIT.toMillis() + " ms early");
            long[] secondHalf = Arrays.copyOfRange(lagMicros, planned / 2, planned);
            Arrays.sort(secondHalf);
            long tenth = secondHalf[secondHalf.length / 10];
            Expect.that(tenth <= LATE_LIMIT.toNanos() / 1000, "at 200 requests a second on 50 connections, to a server that takes "
                    + SERVICE_TIME.toMillis() + " ms a request, 90 % of requests 200 to 399 reached the server more than " + ms(tenth)
                    + " after their planned times (median " + ms(secondHalf[secondHalf.length / 2]) + ", request 399: "
                    + ms(lagMicros[planned - 1]) + "): expected a tenth of them within " + LATE_LIMIT.toMillis() + " ms");
        }
    }

    private static int indexOf(long[] values, long value) {
        for (int i = 0; i < values.length; i++) if (values[i] == value) return i;
        return -1;
    }

    private static void stallShows() throws Exception {
        // 1,000 requests; each stall holds up the 150 due during it, the first of them for the
        // whole 300 ms. The worst 1 % (10) all waited most of a stall. A generator that waits for
        // each reply, or measures from when it sent, sees the stall in at most 2 requests a stall.
        try (var server = new TestServer(STALLS)) {
            Run run = run(server, 500, Duration.ofSeconds(2), 2);
            var r = run.report();
            expectCounts(run, 1000, 1000, 0);
            long least = STALL.toNanos() / 1000 * 9 / 10;
            long most = STALL.toNanos() / 1000 + 1_000_000;
            String seen = run.asked() + " against a server that stalls twice for " + STALL.toMillis() + " ms reported p50 "
                    + ms(r.percentile(50)) + ", p99 " + ms(r.percentile(99)) + ", max " + ms(r.percentile(100));
            Expect.that(r.percentile(99) >= least && r.percentile(100) >= least,
                    seen + ": expected p99 and max of at least " + ms(least) + " (the requests due during a stall waited for it)");
            Expect.that(r.percentile(99) <= most, seen + ": expected p99 under " + ms(most) + " (a stall plus a second)");
        }
    }

    private static void inMicroseconds() throws Exception {
        try (var server = new TestServer(SLOW_ECHO)) {
            Run run = run(server, 200, Duration.ofSeconds(1), 50);
            var r = run.report();
            expectCounts(run, 200, 200, 0);
            long[] sorted = r.latenciesMicros().clone();
            Arrays.sort(sorted);
            Expect.that(Arrays.equals(sorted, r.latenciesMicros()), run.asked() + ": latenciesMicros is not sorted");
            long median = sorted[99];
            long least = SERVICE_TIME.toNanos() / 1000;
            Expect.that(median >= least && median < 1_000_000, run.asked() + " against an echo server that takes "
                    + SERVICE_TIME.toMillis() + " ms a request: the median latency was " + median
                    + " µs: expected " + least + " µs (the service time) or more, and under a second");
        }
    }

    private static void nearestRank() {
        long[] tens = {10, 20, 30, 40};
        long[] hundred = new long[100];
        for (int i = 0; i < 100; i++) hundred[i] = i + 1;
        long[] thousand = new long[1000];
        for (int i = 0; i < 1000; i++) thousand[i] = (i + 1) * 10L;
        Object[][] cases = {
                {tens, 50.0, 20L}, {tens, 75.0, 30L}, {tens, 76.0, 40L}, {tens, 100.0, 40L}, {tens, 1.0, 10L},
                {hundred, 50.0, 50L}, {hundred, 90.0, 90L}, {hundred, 99.0, 99L}, {hundred, 99.5, 100L},
                {thousand, 99.0, 9_900L}, {thousand, 99.95, 10_000L}, {new long[] {7}, 99.0, 7L},
        };
        for (Object[] c : cases) {
            long[] values = (long[]) c[0];
            double p = (Double) c[1];
            long got = OpenLoop.percentile(values.clone(), p);
            String shown = values.length <= 4 ? Arrays.toString(values) : "[" + values[0] + ", " + values[1] + ", …, " + values[values.length - 1] + "] ("
                    + values.length + " values)";
            Expect.equal(c[2], got, "percentile(" + shown + ", " + p + ")");
        }
        Expect.equal(0L, OpenLoop.percentile(new long[0], 99), "percentile of no values");
    }

    private static void wrongReplyIsAnError() throws Exception {
        Answer busyEveryTenth = (server, index, line, at) -> index % 10 == 9 ? "busy, try later" : line;
        try (var server = new TestServer(busyEveryTenth)) {
            Run run = run(server, 200, Duration.ofSeconds(1), 2);
            expectCounts(run, 200, 180, 20);
        }
    }

    private static void refusedIsAnError() throws Exception {
        worksFirst("a refused connection");
        int closedPort;
        try (var probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            closedPort = probe.getLocalPort();
        }
        Run run;
        try {
            run = run(closedPort, 100, Duration.ofMillis(500), 2);
        } catch (IOException e) {
            throw new AssertionError("run(...) on a port where nothing listens threw " + e + ": expected a Report of 50 errors");
        }
        expectCounts(run, 50, 0, 50);
        Expect.that(run.report().sent() == 0, "on a port where nothing listens: " + counts(run.report()) + ": expected 0 sent");
        Expect.that(run.took().toMillis() < 3_000, "on a port where nothing listens, run(...) took "
                + run.took().toMillis() + " ms: expected it to end with its schedule, after 500 ms");
    }

    static final int VANISH_AFTER = 100;

    private static void vanishingServer() throws Exception {
        // The server answers 100 requests, then stops listening and closes every connection.
        Answer vanishes = (server, index, line, at) -> {
            synchronized (server) {
                if (++server.replied <= VANISH_AFTER) return line;
                server.vanish();
                return null;
            }
        };
        try (var server = new TestServer(vanishes)) {
            Run run = run(server, 200, Duration.ofSeconds(1), 2);
            expectCounts(run, 200, VANISH_AFTER, 200 - VANISH_AFTER);
            Expect.that(run.took().toMillis() < 4_000, "after the server vanished, run(...) took " + run.took().toMillis()
                    + " ms: expected it to end with its schedule, after 1 s");
        }
    }

    private static void silentServer() throws Exception {
        worksFirst("a silent server");
        try (var server = new TestServer((s, index, line, at) -> null)) {
            Run run = run(server, 100, Duration.ofMillis(500), 2);
            expectCounts(run, 50, 0, 50);
            long limit = 500 + OpenLoop.REPLY_LIMIT.toMillis() + 1_500;
            Expect.that(run.took().toMillis() <= limit, "against a server that never answers, run(...) took "
                    + run.took().toMillis() + " ms: expected at most " + limit + " ms (the schedule, then REPLY_LIMIT"
                    + " past the last request's planned time, and a margin)");
        }
    }
}
