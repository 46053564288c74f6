// Mistake: the percentile takes the value at index p / 100 × n, one rank too high. Caught by: "percentiles by nearest rank"
//JAVA 25+

import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/// Lab 10 · Measure it right — an open-loop load generator: requests on a fixed schedule, each
/// latency measured from the moment its request was planned, so that a stalled server cannot hide.
///
/// Run it: `./jbang labs/10-measure-it-right/OpenLoop.java --port 1234 --rate 1000 --seconds 5`
/// against an echo server (`./jbang -Dsocketlab.quiet=true lessons/05_PassiveEcho.java`).
/// Read: labs/10-measure-it-right/README.adoc
class OpenLoop {
    /// Each request has until this long after its planned time to be sent and answered; then it
    /// is an error. So a run ends at most this long after its schedule, however the server behaves.
    static final Duration REPLY_LIMIT = Duration.ofSeconds(5);

    /// What one run found. Latencies in microseconds, sorted, one for each reply;
    /// `replies + errors == planned` always holds.
    record Report(int planned, int sent, int replies, int errors, long startNanos, long[] latenciesMicros) {
        long percentile(double percent) {
            return OpenLoop.percentile(latenciesMicros, percent);
        }
    }

    /// One connection of the generator: a request line out, its reply line back. One request at
    /// a time, as a client of a request-reply protocol (HTTP/1.1, say) keeps to.
    static final class Connection implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;
        private final BufferedReader in;

        private Connection(Socket socket) throws IOException {
            this.socket = socket;
            this.out = socket.getOutputStream();
            this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        }

        /// Connects to `port` on loopback, within REPLY_LIMIT.
        static Connection open(int port) throws IOException {
            var socket = new Socket();
            try {
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), (int) REPLY_LIMIT.toMillis());
                socket.setTcpNoDelay(true);
                return new Connection(socket);
            } catch (IOException e) {
                socket.close();
                throw e;
            }
        }

        /// Sends `request` as a line and returns the reply line: SocketTimeoutException when no
        /// reply has come by `deadline` (in System.nanoTime() terms), EOFException when the server
        /// closed the connection. After either, the connection is no use: close it.
        String exchange(String request, long deadline) throws IOException {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new SocketTimeoutException("the deadline passed before the request was sent");
            }
            socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
            out.write((request + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            String reply = in.readLine();
            if (reply == null) {
                throw new EOFException("the server closed the connection");
            }
            return reply;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /// Sends `rate` requests a second for `duration` over `connections` connections to `port`,
    /// and reports each latency from the request's planned time.
    static Report run(int port, int rate, Duration duration, int connections) throws InterruptedException {
        int planned = (int) (rate * duration.toMillis() / 1000);
        long start = System.nanoTime();
        var schedule = new Schedule(start, rate, planned);
        var workers = new ArrayList<Thread>();
        var failure = new AtomicReference<RuntimeException>();
        for (int c = 0; c < connections; c++) {
            workers.add(Thread.ofPlatform().name("connection-" + c).start(() -> {
                try {
                    schedule.work(port);
                } catch (RuntimeException e) {
                    failure.compareAndSet(null, e);     // A bug, not the server's fault: rethrown below.
                }
            }));
        }
        for (Thread worker : workers) {
            worker.join();
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        long[] latencies = Arrays.stream(schedule.latencies).filter(micros -> micros >= 0).sorted().toArray();
        return new Report(planned, schedule.sent.get(), latencies.length, schedule.errors.get(), start, latencies);
    }

    /// The plan, shared by the connections: request `i` is due at `start + i / rate` seconds,
    /// whether or not the server has answered the ones before.
    static final class Schedule {
        final long start;
        final int rate;
        final int planned;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger sent = new AtomicInteger();
        final AtomicInteger errors = new AtomicInteger();
        final long[] latencies;          // microseconds; -1 where request i got no good reply

        Schedule(long start, int rate, int planned) {
            this.start = start;
            this.rate = rate;
            this.planned = planned;
            this.latencies = new long[planned];
            Arrays.fill(latencies, -1);
        }

        /// When request `i` is due, in System.nanoTime() terms.
        long due(int i) {
            return start + i * 1_000_000_000L / rate;
        }

        /// One connection's loop: take the next request, wait for its time, send it, and
        /// measure from its time. A connection stuck on a slow reply takes its next request
        /// late, and that lateness is the server's: it counts.
        void work(int port) {
            Connection connection = null;
            for (int i = next.getAndIncrement(); i < planned; i = next.getAndIncrement()) {
                long due = due(i);
                for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                    LockSupport.parkNanos(wait);
                }
                long deadline = due + REPLY_LIMIT.toNanos();
                if (System.nanoTime() >= deadline) {
                    errors.incrementAndGet();         // Too late to be worth sending.
                    continue;
                }
                try {
                    if (connection == null) {
                        connection = Connection.open(port);
                    }
                    sent.incrementAndGet();
                    String reply = connection.exchange(Integer.toString(i), deadline);
                    long latency = System.nanoTime() - due;
                    if (reply.equals(Integer.toString(i))) {
                        latencies[i] = latency / 1000;
                    } else {
                        errors.incrementAndGet();
                    }
                } catch (IOException e) {
                    errors.incrementAndGet();
                    closeQuietly(connection);
                    connection = null;              // The next request connects again.
                }
            }
            closeQuietly(connection);
        }
    }

    /// The nearest-rank percentile of sorted values: the smallest value that at least `percent`
    /// per cent of them are no greater than. 0 when there are none.
    static long percentile(long[] sorted, double percent) {
        if (sorted.length == 0) {
            return 0;
        }
        long index = (long) (percent / 100 * sorted.length);
        return sorted[Math.clamp(index, 0, sorted.length - 1)];
    }

    private static void closeQuietly(Connection connection) {
        if (connection == null) {
            return;
        }
        try {
            connection.close();
        } catch (IOException ignored) {
            // Closed anyway.
        }
    }

    // ---- The command line: the same block as in the lessons; read it once. ----

    static final int DEFAULT_PORT = 1234;

    static final String USAGE = """
            Usage: ./jbang labs/10-measure-it-right/OpenLoop.java [--port N] [--rate R] [--seconds S]
                   [--connections C] [--help]

            Lab 10's open-loop load generator: R requests a second for S seconds, on a fixed
            schedule, over C connections to an echo server on loopback; each latency is measured
            from the moment its request was planned.

              --port N         the echo server's TCP port (default %d)
              --rate R         requests a second, 1 to 100000 (default 1000)
              --seconds S      how long to send, 1 to 600 (default 5)
              --connections C  connections, each with one request in flight, 1 to 1000 (default 8)
              --help           print this help and exit

            First, in another terminal:  ./jbang -Dsocketlab.quiet=true lessons/05_PassiveEcho.java
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        int rate = commandLine.number("--rate", 1000, 1, 100_000);
        int seconds = commandLine.number("--seconds", 5, 1, 600);
        int connections = commandLine.number("--connections", 8, 1, 1000);
        commandLine.done();
        Report report = run(port, rate, Duration.ofSeconds(seconds), connections);
        System.out.printf("planned %d  sent %d  replies %d  errors %d%n",
                report.planned(), report.sent(), report.replies(), report.errors());
        System.out.printf("latency from the planned time, µs:  p50 %d  p90 %d  p99 %d  p99.9 %d  max %d%n",
                report.percentile(50), report.percentile(90), report.percentile(99), report.percentile(99.9),
                report.percentile(100));
        if (report.replies() == 0) {
            System.err.printf("No replies at all: is an echo server listening on port %d?%n", port);
            System.exit(1);
        }
    }

    /// Reads `--help` and the options a lab asks for. Anything else is a learner's mistake:
    /// say what, print the usage, exit with status 2; never a stack trace.
    static final class CommandLine {
        private final String usage;
        private final List<String> args;

        CommandLine(String usage, String[] args) {
            this.usage = usage;
            this.args = new ArrayList<>(List.of(args));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        /// `--port N`: 0 to 65535; 0 asks the kernel for any free port.
        int port(int otherwise) {
            return number("--port", otherwise, 0, 65_535);
        }

        /// `--name N` or `--name=N`, a whole number from `min` to `max`.
        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        /// `--name TEXT` or `--name=TEXT`.
        String text(String name, String otherwise) {
            for (int i = 0; i < args.size(); i++) {
                if (args.get(i).startsWith(name + "=")) return args.remove(i).substring(name.length() + 1);
                if (!args.get(i).equals(name)) continue;
                if (i + 1 == args.size()) throw fail(name + " needs a value");
                args.remove(i);
                return args.remove(i);
            }
            return otherwise;
        }

        /// `--name`, present or not.
        boolean flag(String name) {
            return args.remove(name);
        }

        /// After the last option: whatever is left is a mistake.
        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.println("error: " + problem);
            System.err.print(usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        /// A port in use is an ordinary mistake too: one line with a hint, exit status 1.
        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lab or lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}

