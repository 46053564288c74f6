///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS org.hdrhistogram:HdrHistogram:2.2.2

import java.io.IOException;
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
/// Chapter: docs/chapters/19-load-test.adoc · Test: lessons/test/LoadTestTest.java ·
/// Lab: labs/10-measure-it-right
/// Not here: the generator's CPU share, CPU per message, servers side by side (lessons/tools/Benchmark.java).
class LoadTest {
    static final int DEFAULT_PORT = 1234;

    /// `rate` 0 is a closed loop; above 0, an open loop that plans `rate` messages a second in all.
    /// `readyTimeout`: how long the ready barrier waits for every first echo (15 s from the command line).
    record Settings(int connections, int size, int rate, Duration warmup, Duration duration, Duration readyTimeout) {}

    /// Everything one run found, latencies in µs; `sent == replies + errors`; `late`: sent over 1 ms behind plan.
    record Report(InetSocketAddress target, Settings settings, int connected, int refused, long readyMillis,
                  long sent, long replies, long errors, long measured, double seconds,
                  long p50, long p90, long p99, long p999, long max, int starved, long late) {
        double messagesPerSecond() {
            return measured / seconds;
        }
    }

    // tag::connection[]
    /// One connection: at most one message in flight, in either loop.
    static final class Connection {
        final SocketChannel channel;
        final byte[] line;            // the reply so far, up to a bound
        int lineLength;
        long plannedAt;               // when the message in flight was due: its latency counts from here
        boolean waiting;              // a message is in flight
        long measured;                // replies that counted in the measured window
        long owed, nextSlot;          // open loop: slots due while a reply was awaited, and the first of them

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
        final boolean openLoop;
        final Consumer<String> progress;
        final Selector selector = Selector.open();
        final ByteBuffer template;                 // the message, in native memory: written without a copy
        final byte[] payload;                      // the same bytes, to compare the echoes with
        final Consumer<SelectionKey> onReady = key -> { if (key.isValid() && key.isReadable()) read((Connection) key.attachment()); };
        final List<Connection> connections = new ArrayList<>();
        final Histogram latencies = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
        final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
        Phase phase = Phase.READY;
        long measureStart = Long.MAX_VALUE, measureEnd = Long.MAX_VALUE, sent, replies, errors, measured, late;
        int refused, open, inFlight;
        long scheduleStart, scheduled;             // open loop: when slot 0 was due, and slots planned so far

        Load(Settings settings, Consumer<String> progress) throws IOException {
            this.settings = settings;
            this.openLoop = settings.rate() > 0;
            this.progress = progress;
            String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";   // the same line each time
            String line = alphabet.repeat(settings.size() / alphabet.length() + 1).substring(0, settings.size() - 1);
            this.payload = (line + "\n").getBytes(StandardCharsets.US_ASCII);
            this.template = ByteBuffer.allocateDirect(payload.length).put(payload);
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
        /// Runs the event loop in `phase` for at most `length` while `going` holds; prints replies per second.
        void pump(Phase phase, Duration length, BooleanSupplier going) throws IOException {
            this.phase = phase;
            long now = System.nanoTime(), end = now + length.toNanos(), tick = now + 1_000_000_000L;
            long repliesAtTick = replies;
            boolean scheduling = openLoop && (phase == Phase.WARMUP || phase == Phase.MEASURE);
            for (int second = 1; now < end && going.getAsBoolean(); ) {
                long untilDue = scheduling ? due(scheduled) - now : Long.MAX_VALUE;
                // onReady takes each ready key: no selected-key set to fill, and no iterator over it at every turn.
                if (untilDue < 1_000_000) selector.selectNow(onReady);   // due within 1 ms: select() counts in ms
                else selector.select(onReady, Math.min(10, untilDue / 1_000_000));   // at most 10 ms: read the clock often
                now = System.nanoTime();
                if (scheduling) keepSchedule(now);
                if (now >= tick && (phase == Phase.WARMUP || phase == Phase.MEASURE)) {
                    progress.accept("  %-9s %3d s %,12d msgs/s".formatted(phase == Phase.WARMUP ? "warm-up" : "measuring",
                            second++, replies - repliesAtTick));
                    repliesAtTick = replies;
                    tick += 1_000_000_000L;
                }
            }
        }

        /// Open loop: slot k of the schedule is due at `scheduleStart + k / rate`, on connection k mod n.
        long due(long slot) {
            return scheduleStart + slot * 1_000_000_000L / settings.rate();
        }

        /// Open loop: sends each message whose time has come; a connection still waiting for a reply owes
        /// it, and sends it when the reply comes. Either way its latency counts from its planned time.
        void keepSchedule(long now) {
            for (long due; (due = due(scheduled)) <= now; scheduled++) {
                Connection c = connections.get((int) (scheduled % connections.size()));
                if (c.owed++ == 0) c.nextSlot = scheduled;
                if (c.waiting) continue;
                if (phase == Phase.MEASURE && now - due > 1_000_000) late++;   // over 1 ms: the generator fell behind
                sendOwed(c);
            }
        }

        void sendOwed(Connection c) {
            c.owed--;
            send(c, due(c.nextSlot));
            c.nextSlot += connections.size();
        }

        void send(Connection c, long plannedAt) {
            if (!c.channel.isOpen()) return;
            template.clear();
            c.plannedAt = plannedAt;                   // closed loop: now
            c.waiting = true;
            sent++;
            inFlight++;
            try {
                // At most 8 KiB, into a send buffer the last echo's ACK emptied: the kernel takes it whole.
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
            if (c.plannedAt >= measureStart && c.plannedAt < measureEnd) {   // planned inside the window
                latencies.recordValue(Math.min(TimeUnit.NANOSECONDS.toMicros(now - c.plannedAt),
                        latencies.getHighestTrackableValue()));
                measured++;
                c.measured++;
            }
            if (openLoop && c.owed > 0) sendOwed(c);   // overdue: it goes now, in the drain too
            else if (!openLoop && (phase == Phase.WARMUP || phase == Phase.MEASURE)) send(c, now);
        }
        // end::loop[]

        /// Our line, or our line after a prefix such as lessons 09 and 10's `ECHO `; \n or \r\n.
        boolean endsWithOurMessage(Connection c) {
            int length = payload.length - 1;           // our line without its \n
            int end = c.lineLength > 0 && c.lineLength <= c.line.length && c.line[c.lineLength - 1] == '\r'
                    ? c.lineLength - 1 : c.lineLength;
            return end >= length && end <= c.line.length
                    && Arrays.equals(c.line, end - length, end, payload, 0, length);
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
            } catch (IOException e) { /* closing a socket that already failed: nothing more to learn */ }
        }

        Report report(InetSocketAddress target, long readyMillis, double seconds) {
            for (Connection c : connections) if (c.waiting) end(c);   // no reply came before the end
            int starved = (int) connections.stream().filter(c -> c.measured == 0).count();
            return new Report(target, settings, connections.size(), refused, readyMillis, sent, replies, errors,
                    measured, seconds, latencies.getValueAtPercentile(50), latencies.getValueAtPercentile(90),
                    latencies.getValueAtPercentile(99), latencies.getValueAtPercentile(99.9), latencies.getMaxValue(),
                    starved, late);
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
            for (Connection c : load.connections) load.send(c, System.nanoTime());
            load.pump(Phase.READY, settings.readyTimeout(), () -> load.inFlight > 0);   // every first echo, or the limit
            long readyMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            progress.accept("%d of %d connections ready after %d ms".formatted(load.replies, settings.connections(), readyMillis));
            load.scheduleStart = System.nanoTime();   // the barrier opens: the closed loop sends, the open one plans
            if (!load.openLoop) for (Connection c : load.connections) if (!c.waiting) load.send(c, load.scheduleStart);
            load.pump(Phase.WARMUP, settings.warmup(), () -> load.open > 0);
            load.measureStart = System.nanoTime();
            load.pump(Phase.MEASURE, settings.duration(), () -> load.open > 0);
            load.measureEnd = System.nanoTime();
            if (load.open == 0) progress.accept("  every connection was refused or closed: stopped early");
            load.pump(Phase.DRAIN, Duration.ofSeconds(2), () -> load.inFlight > 0);   // nothing new is planned
            return load.report(target, readyMillis, (load.measureEnd - load.measureStart) / 1e9);
        }
    }
    // end::run[]

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/19_LoadTest.java [--host NAME] [--port N] [--connections N]
                       [--rate N] [--size BYTES] [--warmup SECONDS] [--duration SECONDS] [--help]

            Loads a line echo server. Closed loop: each connection sends a line, waits for its echo,
            sends the next. Open loop (--rate): lines go out on a fixed schedule, and each latency
            counts from the planned time. Reports msgs/s, latency percentiles, errors, refused and
            starved connections (served nothing), and late sends (over 1 ms behind the plan).

              --host NAME      the server's host (default localhost)
              --port N         the server's port (default %d)
              --connections N  concurrent connections, all on one thread (default 10)
              --rate N         open loop: N messages a second in all (default 0: closed loop)
              --size BYTES     bytes per message, newline included (default 64, at most 8192)
              --warmup S       seconds of load before measuring (default 2)
              --duration S     seconds measured (default 10)
              --help           print this help and exit
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        var target = new InetSocketAddress(commandLine.text("--host", "localhost"), commandLine.port(DEFAULT_PORT));
        var settings = new Settings(commandLine.number("--connections", 10, 1, 100_000),
                commandLine.number("--size", 64, 16, 8_192), commandLine.number("--rate", 0, 0, 10_000_000),
                Duration.ofSeconds(commandLine.number("--warmup", 2, 0, 3_600)),
                Duration.ofSeconds(commandLine.number("--duration", 10, 1, 3_600)), Duration.ofSeconds(15));
        commandLine.done();
        if (target.isUnresolved()) throw commandLine.fail("unknown host: " + target.getHostString());
        Report r = run(target, settings, System.err::println);   // progress on stderr, the results on stdout
        System.out.printf("%-21s %6s %9s %12s %8s %8s %8s %8s %8s %7s %7s %7s %7s%n", "target", "conns", "rate",
                "msgs/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "errors", "refused", "starved", "late");
        System.out.printf(Locale.ROOT, "%-21s %6d %9s %,12.0f %8d %8d %8d %8d %8d %7d %7d %7d %7d%n", target.getHostString()
                + ":" + target.getPort(), settings.connections(), settings.rate() == 0 ? "closed" : "%,d".formatted(settings.rate()),
                r.messagesPerSecond(), r.p50(), r.p90(), r.p99(), r.p999(), r.max(), r.errors(), r.refused(), r.starved(), r.late());
    }

    /// Prints a line of narration: the time, the thread, what happens.
    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    /// Narration for every message. `-Dsocketlab.quiet=true` turns it off for the benchmark.
    static void trace(String format, Object... args) {
        if (!QUIET) log(format, args);
    }

    static final boolean QUIET = Boolean.getBoolean("socketlab.quiet");

    /// `--help`, options `--name value` (or `--name=value`) and flags `--name`. A mistake prints what
    /// is wrong and the usage, and exits 2; a port in use prints one line, and exits 1.
    record CommandLine(String usage, List<String> args) {
        CommandLine(String usage, String[] args) {
            this(usage, new ArrayList<>());
            // --port=1234 becomes --port 1234; a split limit of 1 leaves any other argument whole.
            for (String arg : args) this.args.addAll(List.of(arg.split("=", arg.startsWith("--") ? 2 : 1)));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        int port(int otherwise) { return number("--port", otherwise, 0, 65_535); }

        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        String text(String name, String otherwise) {
            int at = args.indexOf(name);
            if (at == -1) return otherwise;
            if (at + 1 == args.size()) throw fail(name + " needs a value");
            args.remove(at);
            return args.remove(at);
        }

        boolean flag(String name) { return args.remove(name); }

        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.print("error: " + problem + "\n" + usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
