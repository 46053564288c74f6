///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS org.hdrhistogram:HdrHistogram:2.2.2

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;

/// Lesson 19 · Load test — how many messages a server echoes per second, and how long each one waits.
///
/// Run it: `./jbang lessons/19_LoadTest.java --port 1234 --connections 100` against any
/// lesson server, started with `./jbang -Dsocketlab.quiet=true ...` so that it does not narrate every line.
/// Chapter: docs/chapters/19-load-test.adoc · Test: lessons/test/LoadTestTest.java
/// Not here: an open loop that sends on a fixed schedule (this one waits for each reply); servers
/// side by side, each pinned to its own CPU (lessons/tools/Benchmark.java, chapter "What the numbers say").
class LoadTest {
    static final int DEFAULT_PORT = 1234;

    record Settings(int connections, int size, Duration warmup, Duration duration, Duration readyTimeout) {}

    /// How long the ready barrier waits for every connection's first echo; those still waiting then are starved.
    static final Duration READY_LIMIT = Duration.ofSeconds(15);

    /// Everything one run found. Latencies in microseconds; `sent == replies + errors` always holds.
    record Report(InetSocketAddress target, Settings settings, int connected, int refused, long readyMillis,
                  long sent, long replies, long errors, long measured, double seconds,
                  long p50, long p90, long p99, long p999, long max, int starved, double cpuSeconds) {
        double messagesPerSecond() {
            return measured / seconds;
        }

        /// The share of one CPU the generator used while measuring: near 100 %, it was the
        /// bottleneck, not the server.
        double cpuPercent() {
            return 100 * cpuSeconds / seconds;
        }
    }

    // tag::connection[]
    /// One connection of the closed loop: at most one message in flight.
    static final class Connection {
        final SocketChannel channel;
        final byte[] line;            // the reply so far, up to a bound
        int lineLength;
        long sentAt;
        boolean waiting;              // a message is in flight
        long measured;                // replies that counted in the measured window

        Connection(SocketChannel channel, Selector selector, int size) throws IOException {
            this.channel = channel;
            channel.register(selector, SelectionKey.OP_READ, this);
            this.line = new byte[2 * size + 64];
        }
    }
    // end::connection[]

    /// What a run goes through, in order. READY is a barrier: every connection answers once first.
    enum Phase { READY, WARMUP, MEASURE, DRAIN }

    /// The generator: one thread, one Selector, every connection (lesson 08's model, from the client side).
    static final class Load implements AutoCloseable {
        final Settings settings;
        final Consumer<String> progress;
        final Selector selector = Selector.open();
        final ByteBuffer template;
        final List<Connection> connections = new ArrayList<>();
        final Histogram latencies = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
        final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
        Phase phase = Phase.READY;
        long measureStart, sent, replies, errors, measured;
        int refused, open, inFlight;

        Load(Settings settings, Consumer<String> progress) throws IOException {
            this.settings = settings;
            this.progress = progress;
            this.template = message(settings.size());
        }

        void connectAll(InetSocketAddress address) throws IOException {
            for (int i = 0; i < settings.connections(); i++) {
                SocketChannel channel = SocketChannel.open();
                try {
                    channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    channel.socket().connect(address, 10_000);   // one at a time, blocking: simple
                    channel.configureBlocking(false);
                    connections.add(new Connection(channel, selector, settings.size()));
                    open++;
                } catch (IOException e) {              // refused, or a connect that timed out
                    channel.close();
                    refused++;
                }
            }
        }

        // tag::loop[]
        /// Runs the event loop in `phase` for at most `length`, while `going` holds; during warm-up
        /// and measuring, prints once a second how many replies came in that second.
        void pump(Phase phase, Duration length, BooleanSupplier going) throws IOException {
            this.phase = phase;
            long now = System.nanoTime(), end = now + length.toNanos(), tick = now + 1_000_000_000L;
            long repliesAtTick = replies;
            for (int second = 1; now < end && going.getAsBoolean(); ) {
                selector.select(10);                   // at most 10 ms, so the clock is read often
                for (SelectionKey key : selector.selectedKeys()) {
                    Connection c = (Connection) key.attachment();
                    if (key.isValid() && key.isReadable()) read(c);
                }
                selector.selectedKeys().clear();
                now = System.nanoTime();
                if (now >= tick && (phase == Phase.WARMUP || phase == Phase.MEASURE)) {
                    progress.accept("  %-9s %3d s %,12d msgs/s".formatted(phase == Phase.WARMUP ? "warm-up" : "measuring",
                            second++, replies - repliesAtTick));
                    repliesAtTick = replies;
                    tick += 1_000_000_000L;
                }
            }
        }

        void send(Connection c) {
            if (!c.channel.isOpen()) return;
            template.clear();                          // every connection sends the same bytes
            c.sentAt = System.nanoTime();
            c.waiting = true;
            sent++;
            inFlight++;
            try {
                // The kernel takes the whole message at once: at most 8 KiB, into a send buffer of 16 KiB
                // or more that the last echo's ACK has emptied. For longer messages, a generator would
                // finish the write when the Selector says the socket is writable (OP_WRITE, lesson 08).
                c.channel.write(template);
                if (template.hasRemaining()) throw new IOException("the kernel took only part of a message");
            } catch (IOException e) {
                end(c);
            }
        }

        void read(Connection c) {
            readBuffer.clear();
            try {
                if (c.channel.read(readBuffer) == -1) throw new IOException("end of stream");
            } catch (IOException e) {                  // the server closed or reset the connection
                end(c);
                return;
            }
            readBuffer.flip();
            while (readBuffer.hasRemaining()) {
                byte b = readBuffer.get();
                if (b == '\n') {
                    replied(c, System.nanoTime());
                } else if (c.lineLength < c.line.length) {
                    c.line[c.lineLength++] = b;
                } else {
                    c.lineLength = c.line.length + 1;  // too long to be our echo; keep reading to \n
                }
            }
        }

        void replied(Connection c, long now) {
            boolean echo = c.waiting && endsWithOurMessage(c);
            c.lineLength = 0;
            if (!c.waiting) return;                    // a line we did not ask for
            if (!echo) {                               // "busy", an error line: this connection is done
                end(c);
                return;
            }
            c.waiting = false;
            inFlight--;
            replies++;
            if (phase == Phase.MEASURE && c.sentAt >= measureStart) {
                latencies.recordValue(Math.min(TimeUnit.NANOSECONDS.toMicros(now - c.sentAt),
                        latencies.getHighestTrackableValue()));
                measured++;
                c.measured++;
            }
            if (phase == Phase.WARMUP || phase == Phase.MEASURE) send(c);
        }
        // end::loop[]

        /// Our line, or our line after a prefix such as lessons 09 and 10's `ECHO `; \n or \r\n.
        boolean endsWithOurMessage(Connection c) {
            int payload = template.capacity() - 1;    // our line without its \n
            int end = c.lineLength > 0 && c.lineLength <= c.line.length && c.line[c.lineLength - 1] == '\r'
                    ? c.lineLength - 1 : c.lineLength;
            if (end < payload || end > c.line.length) return false;
            return Arrays.equals(c.line, end - payload, end, template.array(), 0, payload);
        }

        /// Closes a connection that failed, ended, or is done: a message still in flight is an error.
        void end(Connection c) {
            if (c.waiting) {
                c.waiting = false;
                inFlight--;
                errors++;
            }
            if (!c.channel.isOpen()) return;
            open--;
            try {
                c.channel.close();
            } catch (IOException e) {
                // Closing a socket that already failed: nothing more to learn.
            }
        }

        Report report(InetSocketAddress target, long readyMillis, double seconds, double cpuSeconds) {
            for (Connection c : connections) if (c.waiting) end(c);   // no reply came before the end
            int starved = (int) connections.stream().filter(c -> c.measured == 0).count();
            return new Report(target, settings, connections.size(), refused, readyMillis, sent, replies, errors,
                    measured, seconds, latencies.getValueAtPercentile(50), latencies.getValueAtPercentile(90),
                    latencies.getValueAtPercentile(99), latencies.getValueAtPercentile(99.9), latencies.getMaxValue(),
                    starved, cpuSeconds);
        }

        @Override
        public void close() throws IOException {
            for (Connection c : connections) end(c);
            selector.close();
        }
    }

    // tag::run[]
    /// Connects, waits at the ready barrier, warms up, measures, drains; then reports.
    static Report run(InetSocketAddress target, Settings settings, Consumer<String> progress) throws IOException {
        progress.accept("connecting %d connections to %s".formatted(settings.connections(), target));
        long started = System.nanoTime();
        try (var load = new Load(settings, progress)) {
            load.connectAll(target);
            for (Connection c : load.connections) load.send(c);
            // The ready barrier: each connection's first message is answered (or lost) before the clock starts.
            load.pump(Phase.READY, settings.readyTimeout(), () -> load.inFlight > 0);
            long readyMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            progress.accept("%d of %d connections ready after %d ms".formatted(load.replies, settings.connections(), readyMillis));
            for (Connection c : load.connections) if (!c.waiting) load.send(c);   // the barrier opens
            load.pump(Phase.WARMUP, settings.warmup(), () -> load.open > 0);
            long cpuBefore = cpuNanos();
            load.measureStart = System.nanoTime();
            load.pump(Phase.MEASURE, settings.duration(), () -> load.open > 0);
            double seconds = (System.nanoTime() - load.measureStart) / 1e9;
            double cpuSeconds = (cpuNanos() - cpuBefore) / 1e9;
            if (load.open == 0) progress.accept("  every connection was refused or closed: stopped early");
            load.pump(Phase.DRAIN, Duration.ofSeconds(2), () -> load.inFlight > 0);   // no new messages
            return load.report(target, readyMillis, seconds, cpuSeconds);
        }
    }
    // end::run[]

    static ByteBuffer message(int size) {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        String line = alphabet.repeat(size / alphabet.length() + 1).substring(0, size - 1) + "\n";
        return ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII));
    }

    /// The results: a header, then a row per run.
    static void printTable(List<Report> reports) {
        System.out.printf("%-21s %6s %12s %9s %8s %8s %8s %8s %8s %7s %7s %7s %6s%n", "target", "conns", "msgs/s",
                "MB/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "errors", "refused", "starved",
                "load CPU");
        for (Report r : reports) {
            System.out.printf(Locale.ROOT, "%-21s %6d %,12.0f %9.2f %8d %8d %8d %8d %8d %7d %7d %7d %7.0f%%%n",
                    r.target().getHostString() + ":" + r.target().getPort(), r.settings().connections(), r.messagesPerSecond(),
                    r.messagesPerSecond() * r.settings().size() / 1e6,
                    r.p50(), r.p90(), r.p99(), r.p999(), r.max(), r.errors(), r.refused(), r.starved(), r.cpuPercent());
        }
    }

    /// CPU time this whole process has used so far: the load thread, and the JVM's own (JIT, GC).
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/19_LoadTest.java [--host NAME] [--port N] [--connections N]
                       [--size BYTES] [--warmup SECONDS] [--duration SECONDS] [--help]

            A closed-loop load generator for line echo servers: every connection sends one line,
            waits for its reply, and sends the next. Reports messages per second, latency
            percentiles, errors, refused and starved connections (those served nothing).

              --host NAME      the server's host (default localhost)
              --port N         the server's port (default %d)
              --connections N  concurrent connections, all on one thread (default 10)
              --size BYTES     bytes per message, newline included (default 64, at most 8192)
              --warmup S       seconds of load before measuring (default 2)
              --duration S     seconds measured (default 10)
              --help           print this help and exit
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        var target = new InetSocketAddress(commandLine.text("--host", "localhost"), commandLine.port(DEFAULT_PORT));
        var settings = new Settings(commandLine.number("--connections", 10, 1, 100_000),
                commandLine.number("--size", 64, 16, 8_192),
                Duration.ofSeconds(commandLine.number("--warmup", 2, 0, 3_600)),
                Duration.ofSeconds(commandLine.number("--duration", 10, 1, 3_600)), READY_LIMIT);
        commandLine.done();
        if (target.isUnresolved()) throw commandLine.fail("unknown host: " + target.getHostString());
        printTable(List.of(run(target, settings, System.err::println)));   // progress on stderr, results on stdout
    }

    /// Prints a line of narration: the time, the thread, what happens.
    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    /// Narration for every message. `-Dsocketlab.quiet=true` turns it off: the benchmark measures
    /// the server, and printing a line costs more than echoing one.
    static void trace(String format, Object... args) {
        if (!QUIET) log(format, args);
    }

    static final boolean QUIET = Boolean.getBoolean("socketlab.quiet");

    /// Reads `--help` and the options a lesson asks for. Anything else is a learner's mistake:
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
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
