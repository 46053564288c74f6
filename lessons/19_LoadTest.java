///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS org.hdrhistogram:HdrHistogram:2.2.2

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;

/// Lesson 19 · Load test — how many messages a server echoes per second, and how long each one waits.
///
/// Run it: `./jbang lessons/19_LoadTest.java --target localhost:1234 --connections 100`
/// against any lesson server started with `--quiet`. Read: docs/chapters/19-load-test.adoc
class LoadTest {
    static final String USAGE = """
            Usage: ./jbang lessons/19_LoadTest.java --target [NAME=]HOST:PORT [--target ...]
                       [--connections N] [--size BYTES] [--warmup SECONDS] [--duration SECONDS]
                       [--threads N] [--ready-timeout SECONDS] [--json] [--help]

            A closed-loop load generator for line echo servers: every connection sends one line,
            waits for its reply, and sends the next. Reports messages per second, latency
            percentiles, errors, refused and starved connections (those served nothing).

              --target T       a server to measure; several targets are measured one after another
              --connections N  concurrent connections (default 10)
              --size BYTES     bytes per message, newline included (default 64)
              --warmup S       seconds of load before measuring (default 2)
              --duration S     seconds measured (default 10)
              --threads N      load threads, each with its own Selector (default: CPUs, at most 4)
              --ready-timeout S  how long to wait for every connection's first echo (default 10);
                               connections still waiting then are reported as starved
              --json           print one JSON object per target instead of the table
              --help           print this help and exit
            """;

    record Target(String name, String host, int port) {
        static Target parse(String text) {
            String name = text.contains("=") ? text.substring(0, text.indexOf('=')) : text;
            String address = text.substring(text.indexOf('=') + 1);
            int colon = address.lastIndexOf(':');
            if (colon < 1) throw new IllegalArgumentException("a target is [NAME=]HOST:PORT, not " + text);
            return new Target(name, address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
        }
    }

    record Settings(int connections, int size, Duration warmup, Duration duration, int threads,
                    Duration readyTimeout) {}

    /// Everything one run found. Latencies in microseconds; `sent == replies + errors` always holds.
    record Report(Target target, Settings settings, int connected, int refused, long readyMillis,
                  long sent, long replies, long errors, long measured, double seconds,
                  long p50, long p90, long p99, long p999, long max, int starved, double cpuSeconds) {
        double messagesPerSecond() {
            return measured / seconds;
        }

        double bytesPerSecond() {
            return messagesPerSecond() * settings.size();
        }

        /// The share of one CPU this load generator used while measuring: near 100 %, it was the
        /// bottleneck (with one load thread), not the server.
        double cpuPercent() {
            return 100 * cpuSeconds / seconds / settings.threads();
        }

        String toJson() {
            return String.format(Locale.ROOT, "{\"target\":\"%s\",\"connections\":%d,\"size\":%d,"
                    + "\"connected\":%d,\"refused\":%d,\"readyMillis\":%d,\"sent\":%d,\"replies\":%d,"
                    + "\"errors\":%d,\"measured\":%d,\"seconds\":%.3f,\"msgsPerSecond\":%.1f,"
                    + "\"bytesPerSecond\":%.1f,\"p50\":%d,\"p90\":%d,\"p99\":%d,\"p999\":%d,\"max\":%d,"
                    + "\"starved\":%d,\"loadCpuPercent\":%.1f}", target.name(), settings.connections(), settings.size(), connected,
                    refused, readyMillis, sent, replies, errors, measured, seconds, messagesPerSecond(),
                    bytesPerSecond(), p50, p90, p99, p999, max, starved, cpuPercent());
        }
    }

    // The phases every connection goes through, in order.
    static final int READY = 0, WARMUP = 1, MEASURE = 2, DRAIN = 3, DONE = 4;

    /// What the load threads share with the thread that runs the clock.
    static final class Run {
        volatile int phase = READY;
        volatile long measureStart = Long.MAX_VALUE, measureEnd = Long.MAX_VALUE;
        final AtomicInteger ready = new AtomicInteger();    // connections that completed one echo
        final CountDownLatch settled;                       // one count per connection: ready, or failed
        final CountDownLatch drained = new CountDownLatch(1);
        final CountDownLatch gone;                          // one count per connection refused or closed
        final LongAdder replies = new LongAdder();
        final LongAdder outstanding = new LongAdder();      // messages sent and not answered yet

        Run(int connections) {
            settled = new CountDownLatch(connections);
            gone = new CountDownLatch(connections);
        }

        /// A message in flight got its answer (or never will): once draining, the last one ends the wait.
        void answered() {
            outstanding.decrement();
            if (phase == DRAIN && outstanding.sum() == 0) drained.countDown();
        }
    }

    // tag::connection[]
    /// One connection of the closed loop: at most one message in flight.
    static final class Connection {
        final SocketChannel channel;
        final ByteBuffer message;
        final byte[] line;            // the reply so far, up to a bound
        int lineLength;
        long sentAt;
        boolean waiting, ready, settled;
        long measured;                // replies that counted in the measured window

        Connection(SocketChannel channel, ByteBuffer message) {
            this.channel = channel;
            this.message = message;
            this.line = new byte[2 * message.capacity() + 64];
        }
    }
    // end::connection[]

    /// One load thread: its own Selector, its share of the connections, its own histogram.
    static final class Worker implements Runnable {
        final Run run;
        final InetSocketAddress address;
        final int count;
        final ByteBuffer template;
        final List<Connection> connections = new ArrayList<>();
        final Histogram histogram = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
        final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
        int refused;
        long sent, replies, errors, measured;
        Selector selector;

        Worker(Run run, InetSocketAddress address, int count, ByteBuffer template) {
            this.run = run;
            this.address = address;
            this.count = count;
            this.template = template;
        }

        @Override
        public void run() {
            try (Selector s = Selector.open()) {
                selector = s;
                connectAll();
                for (Connection c : connections) send(c);
                loop();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } finally {
                for (Connection c : connections) close(c);
            }
        }

        void connectAll() throws IOException {
            for (int i = 0; i < count; i++) {
                try {
                    SocketChannel channel = SocketChannel.open();
                    channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    channel.socket().connect(address, 10_000);
                    channel.configureBlocking(false);
                    var c = new Connection(channel, template.duplicate());
                    channel.register(selector, SelectionKey.OP_READ, c);
                    connections.add(c);
                } catch (ConnectException e) {
                    refused++;
                    run.settled.countDown();
                    run.gone.countDown();
                } catch (IOException e) {
                    refused++;                         // a connect that timed out counts as refused too
                    run.settled.countDown();
                    run.gone.countDown();
                }
            }
        }

        // tag::loop[]
        void loop() throws IOException {
            int phaseSeen = READY;
            while (run.phase != DONE) {
                selector.select(10);
                for (SelectionKey key : selector.selectedKeys()) {
                    Connection c = (Connection) key.attachment();
                    if (key.isValid() && key.isWritable()) write(c, key);
                    if (key.isValid() && key.isReadable()) read(c);
                }
                selector.selectedKeys().clear();
                if (phaseSeen == READY && run.phase >= WARMUP) {
                    // The barrier has opened: ready connections that waited start their loop.
                    for (Connection c : connections) if (c.channel.isOpen() && !c.waiting) send(c);
                }
                phaseSeen = run.phase;
            }
            for (Connection c : connections) {
                if (c.waiting) {                       // no reply came before the end
                    errors++;
                    c.waiting = false;
                    run.answered();
                }
            }
        }

        void send(Connection c) throws IOException {
            if (!c.channel.isOpen()) return;
            c.message.rewind();
            c.sentAt = System.nanoTime();
            c.waiting = true;
            sent++;
            run.outstanding.increment();
            try {
                c.channel.write(c.message);
            } catch (IOException e) {
                lost(c);
                return;
            }
            if (c.message.hasRemaining()) c.channel.keyFor(selector).interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
        }

        void write(Connection c, SelectionKey key) {
            try {
                c.channel.write(c.message);
                if (!c.message.hasRemaining()) key.interestOps(SelectionKey.OP_READ);
            } catch (IOException e) {
                lost(c);
            }
        }

        void read(Connection c) throws IOException {
            readBuffer.clear();
            int n;
            try {
                n = c.channel.read(readBuffer);
            } catch (IOException e) {
                lost(c);
                return;
            }
            if (n == -1) {
                lost(c);
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

        void replied(Connection c, long now) throws IOException {
            boolean echo = c.waiting && endsWithOurMessage(c);
            c.lineLength = 0;
            if (!c.waiting) {                          // a line we did not ask for ("busy", say)
                return;
            }
            c.waiting = false;
            run.answered();
            settle(c);
            if (!echo) {                               // "busy", an error line: this connection is done
                errors++;
                close(c);
                return;
            }
            replies++;
            run.replies.increment();
            if (!c.ready) {
                c.ready = true;
                run.ready.incrementAndGet();
            }
            if (run.phase == MEASURE && c.sentAt >= run.measureStart && now <= run.measureEnd) {
                histogram.recordValue(Math.min(TimeUnit.NANOSECONDS.toMicros(now - c.sentAt),
                        histogram.getHighestTrackableValue()));
                measured++;
                c.measured++;
            }
            if (run.phase == WARMUP || run.phase == MEASURE) send(c);
        }
        // end::loop[]

        boolean endsWithOurMessage(Connection c) {
            int payload = c.message.capacity() - 1;    // our line without its \n
            int end = c.lineLength > 0 && c.lineLength <= c.line.length && c.line[c.lineLength - 1] == '\r'
                    ? c.lineLength - 1 : c.lineLength;
            if (end < payload || end > c.line.length) return false;
            return Arrays.equals(c.line, end - payload, end, template.array(), 0, payload);
        }

        void settle(Connection c) {
            if (!c.settled) {
                c.settled = true;
                run.settled.countDown();
            }
        }

        void lost(Connection c) {
            settle(c);
            if (c.waiting) {
                errors++;
                c.waiting = false;
                run.answered();
            }
            close(c);
        }

        void close(Connection c) {
            if (!c.channel.isOpen()) return;
            run.gone.countDown();
            try {
                c.channel.close();
            } catch (IOException e) {
                // Closing a socket that already failed: nothing more to learn.
            }
        }
    }

    static ByteBuffer message(int size) {
        byte[] bytes = new byte[size];
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for (int i = 0; i < size - 1; i++) bytes[i] = (byte) alphabet.charAt(i % alphabet.length());
        bytes[size - 1] = '\n';
        return ByteBuffer.wrap(bytes);
    }

    // tag::run[]
    static Report run(Target target, Settings settings, Consumer<String> progress) throws InterruptedException {
        var run = new Run(settings.connections());
        var address = new InetSocketAddress(target.host(), target.port());
        ByteBuffer template = message(settings.size());
        List<Worker> workers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < settings.threads(); i++) {
            int share = settings.connections() / settings.threads() + (i < settings.connections() % settings.threads() ? 1 : 0);
            var worker = new Worker(run, address, share, template);
            workers.add(worker);
            threads.add(Thread.ofPlatform().name("load-" + i).start(worker));
        }
        // The ready barrier: every connection completes one echo before the clock starts.
        long start = System.nanoTime();
        run.settled.await(settings.readyTimeout().toMillis(), TimeUnit.MILLISECONDS);
        long readyMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        progress.accept("%s: %d of %d connections ready after %d ms".formatted(
                target.name(), run.ready.get(), settings.connections(), readyMillis));

        run.phase = WARMUP;
        tick(run, settings.warmup(), "warm-up", progress);
        long cpuBefore = cpuNanos();
        run.measureStart = System.nanoTime();
        run.phase = MEASURE;
        tick(run, settings.duration(), "measuring", progress);
        run.measureEnd = System.nanoTime();
        double cpuSeconds = (cpuNanos() - cpuBefore) / 1e9;
        run.phase = DRAIN;                              // no new messages; wait for the replies in flight
        if (run.outstanding.sum() > 0) run.drained.await(2, TimeUnit.SECONDS);
        run.phase = DONE;
        for (Thread t : threads) t.join();
        int connected = workers.stream().mapToInt(w -> w.connections.size()).sum();

        Histogram all = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
        long sent = 0, replies = 0, errors = 0, measured = 0;
        int refused = 0, starved = 0;
        for (Worker w : workers) {
            all.add(w.histogram);
            sent += w.sent;
            replies += w.replies;
            errors += w.errors;
            measured += w.measured;
            refused += w.refused;
            for (Connection c : w.connections) if (c.measured == 0) starved++;
        }
        double seconds = (run.measureEnd - run.measureStart) / 1e9;
        return new Report(target, settings, connected, refused, readyMillis, sent, replies, errors, measured,
                seconds, all.getValueAtPercentile(50), all.getValueAtPercentile(90),
                all.getValueAtPercentile(99), all.getValueAtPercentile(99.9), all.getMaxValue(), starved, cpuSeconds);
    }
    // end::run[]

    /// CPU time this whole process has used so far: the load threads, and this one ticking the clock.
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /// Lets `length` pass, printing the rate once a second; ends early once every connection is
    /// gone, since then there is nothing left to measure.
    static void tick(Run run, Duration length, String what, Consumer<String> progress) throws InterruptedException {
        long end = System.nanoTime() + length.toNanos();
        long before = run.replies.sum();
        int second = 0;
        while (System.nanoTime() < end) {
            boolean allGone = run.gone.await(Math.min(TimeUnit.SECONDS.toNanos(1), end - System.nanoTime()),
                    TimeUnit.NANOSECONDS);
            long now = run.replies.sum();
            progress.accept("  %-9s %3d s %,12d msgs/s".formatted(what, ++second, now - before));
            before = now;
            if (allGone) {
                progress.accept("  every connection was refused or closed: stopping early");
                return;
            }
        }
    }

    static void printTable(List<Report> reports, PrintStream out) {
        out.printf("%-16s %6s %12s %9s %8s %8s %8s %8s %8s %7s %7s %7s %6s%n", "target", "conns", "msgs/s",
                "MB/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "errors", "refused", "starved",
                "load CPU");
        for (Report r : reports) {
            out.printf(Locale.ROOT, "%-16s %6d %,12.0f %9.2f %8d %8d %8d %8d %8d %7d %7d %7d %7.0f%%%n",
                    r.target().name(), r.settings().connections(), r.messagesPerSecond(), r.bytesPerSecond() / 1e6,
                    r.p50(), r.p90(), r.p99(), r.p999(), r.max(), r.errors(), r.refused(), r.starved(), r.cpuPercent());
        }
    }

    public static void main(String[] args) throws Exception {
        List<Target> targets = new ArrayList<>();
        int connections = 10, size = 64, warmup = 2, duration = 10, readyTimeout = 10;
        int threads = Math.min(4, Runtime.getRuntime().availableProcessors());
        boolean json = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--target" -> {
                    try {
                        targets.add(Target.parse(value(args, ++i)));
                    } catch (IllegalArgumentException e) {
                        usageError(e.getMessage());
                    }
                }
                case "--connections" -> connections = number(args, ++i, 1, 100_000);
                case "--size" -> size = number(args, ++i, 16, 65_536);
                case "--warmup" -> warmup = number(args, ++i, 0, 3_600);
                case "--duration" -> duration = number(args, ++i, 1, 3_600);
                case "--threads" -> threads = number(args, ++i, 1, 64);
                case "--ready-timeout" -> readyTimeout = number(args, ++i, 1, 600);
                case "--json" -> json = true;
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        if (targets.isEmpty()) usageError("name at least one --target HOST:PORT");
        var settings = new Settings(connections, size, Duration.ofSeconds(warmup), Duration.ofSeconds(duration),
                Math.min(threads, connections), Duration.ofSeconds(readyTimeout));
        List<Report> reports = new ArrayList<>();
        for (Target target : targets) {
            reports.add(run(target, settings, System.err::println));
        }
        if (json) {
            reports.forEach(r -> System.out.println(r.toJson()));
        } else {
            printTable(reports, System.out);
        }
    }

    static String value(String[] args, int i) {
        if (i >= args.length) usageError(args[i - 1] + " needs a value");
        return args[i];
    }

    static int number(String[] args, int i, int min, int max) {
        String text = value(args, i);
        try {
            int n = Integer.parseInt(text);
            if (n < min || n > max) usageError(args[i - 1] + " takes a number from " + min + " to " + max);
            return n;
        } catch (NumberFormatException e) {
            usageError("not a number: " + text);
            return -1;
        }
    }

    static void usageError(String problem) {
        System.err.println("error: " + problem);
        System.err.print(USAGE);
        System.exit(2);
    }
}
