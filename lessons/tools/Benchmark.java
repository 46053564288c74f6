///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS org.hdrhistogram:HdrHistogram:2.2.2
//SOURCES ../19_LoadTest.java
// The generator's JIT: C1 only. C2 compiles for milliseconds at a time on the generator's one CPU, and
// stalls its schedule: docs/bench/jit.sh measures 1-1.7 % of sends late with C2, 0.01-0.04 % without.
//JAVA_OPTIONS -XX:TieredStopAtLevel=1

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// The benchmark behind the chapter "What the numbers say": every echo server of the course, and the
/// C, Python and Elixir echoes of docs/other-languages/, each in its own process pinned to CPU 0,
/// loaded by lesson 19 running inside this JVM, pinned to CPU 1, in interleaved rounds. It measures:
///
/// - CPU per message: the server's own CPU time (from /proc) over the messages it echoed, in an open
///   loop at a fixed rate every server carries, so that the figure does not depend on the generator;
/// - latency under load: open loops at rates stepped up, p50 and p99 against the offered rate, and
///   each server's knee (the highest rate it carries with p99 under a bound);
/// - closed-loop throughput, with the generator's CPU share beside the server's in every cell;
/// - resident memory per connection at 1,000 and 10,000 connections.
///
/// Writes docs/bench/results.adoc, docs/bench/latency.svg and docs/bench/cpu.svg.
/// Run it: `./jbang lessons/tools/Benchmark.java` (about 20 minutes), or `--quick` (under 3).
class Benchmark {
    static final String USAGE = """
            Usage: ./jbang lessons/tools/Benchmark.java [--rounds N] [--rate N] [--quick] [--no-write] [--help]

            Starts each echo server (the C epoll echo, lessons 05, 08, 10 with platform and virtual
            threads, 11, 20, the Python asyncio and the Elixir active-once echo) in its own process
            pinned to CPU 0, loads it with lesson 19 from this process pinned to CPU 1, one round
            after another, and reports CPU per message, latency against offered load, closed-loop
            throughput and memory per connection.

              --rounds N   rounds; every round visits every server (default 3)
              --rate N     the open loop's rate for CPU per message (default 20000); the latency
                           ladder climbs from a quarter of it to ten times it
              --quick      1 round, shorter cells, 100 connections only: a look in under 3 minutes
              --no-write   print the results only; leave docs/bench alone
              --help       print this help and exit
            """;

    static final Path ROOT = Path.of("").toAbsolutePath();
    /// The machine's CPUs, counted before this process pins itself to one of them.
    static final int CPUS = Runtime.getRuntime().availableProcessors();
    /// The open loop's rate for CPU per message (`--rate`): one every server carries at 100 and 1,000
    /// connections. The ladder's steps are multiples of it.
    static int FIXED_RATE = 20_000;
    /// A step of the ladder holds if its p99 stays under this bound (and the server kept up, none starved).
    static final long KNEE_P99_MICROS = 5_000;
    static final List<Double> LADDER = List.of(0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.5, 8.0, 10.0);
    static final List<Double> QUICK_LADDER = List.of(0.5, 2.0, 8.0);
    static final String C_ECHO = "C epoll";

    /// A server under test: how to start it, the highest level it claims, and whether it serves every
    /// connection (a bounded pool does not, so an open loop over all of them measures its refusals).
    record Server(String name, List<String> command, int maxLevel, boolean servesAll, String needs) {}

    static final List<Server> SERVERS = List.of(
            new Server(C_ECHO, List.of("target/bench/epoll_echo", "--port", "0"), 10_000, true, "gcc"),
            new Server("08 selector", java("lessons/08_NonBlockingEcho.java"), 10_000, true, null),
            new Server("20 Netty", java("lessons/20_NettyEcho.java", "--threads", "1"), 10_000, true, null),
            new Server("10 virtual", java("lessons/10_ConcurrentServer.java", "--threads", "virtual"), 10_000, true, null),
            new Server("10 platform", java("lessons/10_ConcurrentServer.java", "--threads", "platform"), 1_000, true, null),
            new Server("05 passive", java("lessons/05_PassiveEcho.java"), 1_000, true, null),
            new Server("11 pooled", java("lessons/11_PooledServer.java", "--workers", "16", "--queue", "16"), 1_000, false, null),
            new Server("Python asyncio", List.of("python3", "docs/other-languages/python/asyncio_echo_server.py",
                    "--port", "0"), 1_000, true, "python3"),
            new Server("Elixir once", List.of("elixir", "docs/other-languages/elixir/once_echo.exs", "--port", "0"),
                    1_000, true, "elixir"));

    static List<Integer> steps(List<Double> multiples) {
        return multiples.stream().map(m -> (int) Math.round(m * FIXED_RATE)).toList();
    }

    static List<String> java(String file, String... arguments) {
        List<String> command = new ArrayList<>(List.of("./jbang", "-R-Xmx512m", "-R-Dsocketlab.quiet=true",
                file, "--port", "0"));
        command.addAll(List.of(arguments));
        return command;
    }

    /// What a run does, and for how long: the full run and the quick look differ only here.
    record Plan(int rounds, Duration warmup, Duration measured, Duration ladderMeasured, List<Integer> closedLevels,
                List<Integer> fixedLevels, List<Integer> ladder, boolean quick) {
        /// The level whose ladder this round climbs, if any: 100 connections in round 1, 1,000 in round 2.
        Optional<Integer> ladderLevel(int round) {
            return round == 1 ? Optional.of(100) : round == 2 && !quick ? Optional.of(1_000) : Optional.empty();
        }
    }

    enum Kind { CLOSED, FIXED, LADDER }

    /// Lesson 19 and the C epoll client against the C echo at 100 connections, in the same round.
    record GeneratorCheck(int round, double cClient, double lesson19) {}

    static final List<GeneratorCheck> CHECKS = new ArrayList<>();

    /// One measured cell: lesson 19's report, and what the probe saw of both processes in the same seconds.
    record Cell(Server server, Kind kind, int level, int rate, int round, LoadTest.Report report,
                double serverCpuShare, double loadCpuShare, double cpuMicrosPerMessage, double kibPerConnection) {
        boolean failed() {
            return report == null;
        }

        /// The generator sent more than 0.1 % of its messages over 1 ms behind their plan.
        boolean generatorLate() {
            return report != null && report.late() > report.sent() / 1000;
        }

        /// An open loop whose server answered at least 95 % of the messages planned in the window.
        boolean carried() {
            return report != null && report.messagesPerSecond() >= 0.95 * rate;
        }

        /// A ladder step holds: the rate was carried, with p99 under the bound, nobody starved, no errors.
        boolean holds() {
            return carried() && !generatorLate() && report.p99() <= KNEE_P99_MICROS && report.starved() == 0
                    && report.errors() == 0;
        }
    }

    public static void main(String[] args) throws Exception {
        int rounds = 3;
        boolean quick = false, write = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--rounds" -> rounds = number(args, ++i);
                case "--quick" -> quick = true;
                case "--rate" -> FIXED_RATE = number(args, ++i);
                case "--no-write" -> write = false;
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        if (!Files.isDirectory(ROOT.resolve("lessons"))) {
            System.err.println("Run the benchmark from the project's top folder: ./jbang lessons/tools/Benchmark.java");
            System.exit(1);
        }
        Plan plan = quick
                ? new Plan(1, Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(1), List.of(100),
                        List.of(100), steps(QUICK_LADDER), true)
                : new Plan(rounds, Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofSeconds(2),
                        List.of(1, 100, 1_000, 10_000), List.of(100, 1_000), steps(LADDER), false);
        // This process is the load generator: all its threads on CPU 1, the servers on CPU 0.
        run("taskset", "-a", "-p", "-c", "1", String.valueOf(ProcessHandle.current().pid()));
        buildCEcho();
        List<Server> servers = SERVERS.stream().filter(Benchmark::available).toList();
        List<Cell> cells = new ArrayList<>();
        Instant started = Instant.now();
        for (int round = 1; round <= plan.rounds(); round++) {
            // Rotate the order so that no server always runs first, or last.
            List<Server> order = new ArrayList<>(servers);
            Collections.rotate(order, -(round - 1));
            for (Server server : order) cells.addAll(visit(server, round, plan));
            // Write after every round: a run stopped early still leaves the rounds it finished.
            long minutes = Math.round(ChronoUnit.SECONDS.between(started, Instant.now()) / 60.0);
            String command = "./jbang lessons/tools/Benchmark.java" + (quick ? " --quick" : rounds != 3 ? " --rounds " + rounds : "")
                    + (FIXED_RATE != 20_000 ? " --rate " + FIXED_RATE : "");
            String results = results(cells, plan, round, command, minutes);
            if (round == plan.rounds()) System.out.println(results);
            if (write) {
                Path dir = ROOT.resolve("docs/bench");
                Files.createDirectories(dir);
                Files.writeString(dir.resolve("results.adoc"), results);
                Files.writeString(dir.resolve("latency.svg"), Charts.latency(cells, servers));
                Files.writeString(dir.resolve("cpu.svg"), Charts.cpu(cells, servers));
                System.err.printf("round %d done: wrote docs/bench/results.adoc, latency.svg and cpu.svg%n", round);
            }
        }
    }

    /// One server in one round: a fresh process; closed loops first (they also warm its JIT), then
    /// the fixed rate, then, in the rounds that have one, the ladder until a step no longer holds.
    static List<Cell> visit(Server server, int round, Plan plan) throws Exception {
        List<Cell> cells = new ArrayList<>();
        try (var process = ServerProcess.start(server)) {
            for (int level : plan.closedLevels()) {
                if (level <= server.maxLevel()) cells.add(measure(process, Kind.CLOSED, level, 0, round, plan.warmup(), plan.measured()));
            }
            if (server.name().equals(C_ECHO) && plan.closedLevels().contains(100)) {
                select(cells, Kind.CLOSED, c -> c.level() == 100).stream().findFirst().ifPresent(lesson19 ->
                        CHECKS.add(new GeneratorCheck(round, cClient(process, plan.measured()), lesson19.report().messagesPerSecond())));
            }
            if (!server.servesAll()) return cells;
            for (int level : plan.fixedLevels()) {
                cells.add(measure(process, Kind.FIXED, level, FIXED_RATE, round, plan.warmup(), plan.measured()));
            }
            if (plan.ladderLevel(round).isEmpty()) return cells;
            for (int rate : plan.ladder()) {
                Cell step = measure(process, Kind.LADDER, plan.ladderLevel(round).get(), rate, round, plan.warmup(),
                        plan.ladderMeasured());
                cells.add(step);
                // A step the generator could not keep on schedule says little: climb on while the server
                // still carried the rate (the chart marks such steps); stop at the first the server did not.
                if (!step.holds() && !(step.generatorLate() && step.carried())) break;
            }
        } catch (IOException e) {
            System.err.printf("  %s could not be measured: %s%n", server.name(), e.getMessage());
        }
        return cells;
    }

    // tag::cell[]
    static Cell measure(ServerProcess server, Kind kind, int level, int rate, int round, Duration warmup,
                        Duration measured) {
        System.err.printf("round %d · %s · %,d connections · %s%n", round, server.server().name(), level,
                rate == 0 ? "closed loop" : "%,d msgs/s planned".formatted(rate));
        var settings = new LoadTest.Settings(level, 64, rate, warmup, measured, Duration.ofSeconds(15));
        var probe = new Probe(server.pid());
        Sample before = Sample.take(server.pid());
        try {
            LoadTest.Report report = LoadTest.run(new InetSocketAddress("127.0.0.1", server.port()), settings, probe);
            if (probe.start == null || probe.end == null) throw new IOException("no measured seconds");
            // The probe read both processes' CPU time at the ticks that open and close the measured window.
            double seconds = (probe.end.nanos() - probe.start.nanos()) / 1e9;
            double serverCpu = (probe.end.serverTicks() - probe.start.serverTicks()) / 100.0;
            double loadCpu = (probe.end.selfCpuNanos() - probe.start.selfCpuNanos()) / 1e9;
            double perMessage = probe.messages == 0 ? Double.NaN : serverCpu * 1e6 / probe.messages;
            double kib = (probe.end.rssKiB() - before.rssKiB()) / (double) report.connected();
            System.err.printf("  %,.0f msgs/s · p50 %,d µs · p99 %,d µs · server CPU %.0f %% · load CPU %.0f %%%n",
                    report.messagesPerSecond(), report.p50(), report.p99(), 100 * serverCpu / seconds, 100 * loadCpu / seconds);
            return new Cell(server.server(), kind, level, rate, round, report, serverCpu / seconds, loadCpu / seconds,
                    perMessage, kib);
        } catch (IOException | RuntimeException e) {
            System.err.println("  failed: " + e);
            return new Cell(server.server(), kind, level, rate, round, null, 0, 0, Double.NaN, Double.NaN);
        }
    }
    // end::cell[]

    /// The course's C epoll load client (one thread, 100 connections, closed loop) against the same server.
    static double cClient(ServerProcess server, Duration measured) {
        System.err.printf("  %s · 100 connections · the C epoll client%n", server.server().name());
        try {
            String out = run("taskset", "-c", "1", "target/bench/epoll_load", "--port", String.valueOf(server.port()),
                    "--connections", "100", "--seconds", String.valueOf(measured.toSeconds()));
            Matcher m = Pattern.compile("([\\d.]+) msgs/s").matcher(out);
            System.err.println("  " + out);
            return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
        } catch (IOException | InterruptedException e) {
            System.err.println("  failed: " + e.getMessage());
            return Double.NaN;
        }
    }

    /// Both processes' clocks at one moment: this JVM's CPU time, the server's (in 1/100 s), its resident memory.
    record Sample(long nanos, long selfCpuNanos, long serverTicks, long rssKiB) {
        static Sample take(long pid) {
            long self = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime();
            return new Sample(System.nanoTime(), self, cpuTicks(pid), Benchmark.rssKiB(pid));
        }
    }

    /// Reads lesson 19's progress lines as they come: the last warm-up tick opens the measured window,
    /// each measuring tick (once a second) moves its end and adds the replies of that second.
    static final class Probe implements Consumer<String> {
        static final Pattern TICK = Pattern.compile("^\\s+(warm-up|measuring)\\s+\\d+ s\\s+([\\d,]+) msgs/s");
        final long pid;
        Sample start, end;
        long messages;

        Probe(long pid) {
            this.pid = pid;
        }

        @Override
        public void accept(String line) {
            Matcher m = TICK.matcher(line);
            if (!m.find()) return;
            Sample now = Sample.take(pid);
            if (m.group(1).equals("warm-up")) {
                start = now;
            } else if (start != null) {
                end = now;
                messages += Long.parseLong(m.group(2).replace(",", ""));
            }
        }
    }

    /// A server process pinned to CPU 0, and the port it listens on.
    record ServerProcess(Server server, Process process, int port) implements AutoCloseable {
        long pid() {
            return process.pid();
        }

        static ServerProcess start(Server server) throws IOException {
            List<String> command = new ArrayList<>(List.of("taskset", "-c", "0"));
            command.addAll(server.command());
            Process p = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true).start();
            Runtime.getRuntime().addShutdownHook(new Thread(p::destroy));   // stopped early: stop the server too
            var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Pattern listening = Pattern.compile("listening on [^ ]*:(\\d+)");
            for (String line; (line = reader.readLine()) != null; ) {
                Matcher m = listening.matcher(line);
                if (!m.find()) continue;
                // Keep draining its output so that the server never blocks on a full pipe.
                Thread.ofVirtual().start(() -> {
                    try {
                        while (reader.readLine() != null) { /* discard */ }
                    } catch (IOException e) {
                        // The server was stopped: nothing more to drain.
                    }
                });
                return new ServerProcess(server, p, Integer.parseInt(m.group(1)));
            }
            throw new IOException(server.name() + " ended without listening");
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /// User plus system CPU time of a process, in clock ticks (1/100 s on Linux).
    static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /// The process's resident memory (VmRSS), in KiB. The kernel's socket buffers are not in it.
    static long rssKiB(long pid) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/" + pid + "/status"))) {
            return lines.filter(l -> l.startsWith("VmRSS:")).map(l -> Long.parseLong(l.replaceAll("\\D", "")))
                    .findFirst().orElse(0L);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    static void buildCEcho() throws IOException, InterruptedException {
        if (!onPath("gcc")) return;
        Files.createDirectories(ROOT.resolve("target/bench"));
        run("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", "target/bench/epoll_echo", "docs/other-languages/c/epoll_echo.c");
        run("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", "target/bench/epoll_load", "docs/other-languages/c/epoll_load.c");
    }

    static boolean available(Server server) {
        if (server.needs() == null || onPath(server.needs())) return true;
        System.err.printf("skipping %s: %s is not installed%n", server.name(), server.needs());
        return false;
    }

    static boolean onPath(String program) {
        try {
            return new ProcessBuilder("sh", "-c", "command -v " + program).start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (p.waitFor() != 0) throw new IOException(String.join(" ", command) + " failed: " + output);
        return output;
    }

    // ---- Summaries: medians over rounds, ratios to the C echo measured in the same round. ----

    static List<Cell> select(List<Cell> cells, Kind kind, Predicate<Cell> more) {
        return cells.stream().filter(c -> c.kind() == kind && !c.failed() && more.test(c)).toList();
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().filter(v -> !v.isNaN()).sorted().toList();
        int n = sorted.size();
        return n == 0 ? Double.NaN : n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /// The median over rounds of `value` divided by the C echo's in the same round and cell.
    static double ratioToC(List<Cell> cells, Cell of, java.util.function.ToDoubleFunction<Cell> value) {
        List<Double> ratios = new ArrayList<>();
        for (Cell c : select(cells, of.kind(), x -> x.server().equals(of.server()) && x.level() == of.level())) {
            select(cells, of.kind(), x -> x.server().name().equals(C_ECHO) && x.level() == c.level() && x.round() == c.round())
                    .stream().findFirst().ifPresent(floor -> ratios.add(value.applyAsDouble(c) / value.applyAsDouble(floor)));
        }
        return median(ratios);
    }

    static String format(String pattern, Object... values) {
        return String.format(Locale.ROOT, pattern, values).replace("NaN", "–");
    }

    static String results(List<Cell> cells, Plan plan, int rounds, String command, long minutes) throws Exception {
        var out = new StringBuilder();
        out.append(format("""
                // Written by lessons/tools/Benchmark.java: run it again rather than editing this file.
                Measured with `%s` on %s: %s, %d CPUs, %s, Linux %s. %d round(s) of %d, every round visiting every \
                server in a rotated order; 64-byte messages; servers pinned to CPU 0, lesson 19 to CPU 1; \
                %d s warm-up and %d s measured per cell (%d s per ladder step); %d minutes.

                """, command, Instant.now().truncatedTo(ChronoUnit.MINUTES), cpuModel(),
                CPUS, System.getProperty("java.vm.name") + " " + Runtime.version(),
                run("uname", "-r"), rounds, plan.rounds(), plan.warmup().toSeconds(), plan.measured().toSeconds(),
                plan.ladderMeasured().toSeconds(), minutes));
        out.append(cpuTable(cells)).append('\n').append(kneeTable(cells)).append('\n')
                .append(closedTable(cells)).append('\n').append(generatorTable()).append('\n').append(memoryTable(cells));
        return out.toString();
    }

    static List<Cell> firstPerServerAndLevel(List<Cell> cells) {
        List<Cell> firsts = new ArrayList<>();
        for (Cell c : cells) {
            if (firsts.stream().noneMatch(f -> f.server().equals(c.server()) && f.level() == c.level())) firsts.add(c);
        }
        firsts.sort((a, b) -> a.level() != b.level() ? Integer.compare(a.level(), b.level()) : 0);
        return firsts;
    }

    static String cpuTable(List<Cell> cells) {
        var out = new StringBuilder(format("""
                [[cpu-per-message]]
                .CPU per message: the server's CPU time over the messages it echoed, at %,d msgs/s planned (open loop)
                [cols="3,>2,>2,>3,>2,>2,>2,>2,>2",options="header"]
                |===
                | server | connections | µs per message (median) | min–max | × C echo | server CPU | msgs/s answered | p50 µs | p99 µs

                """, FIXED_RATE));
        for (Cell first : firstPerServerAndLevel(select(cells, Kind.FIXED, c -> true))) {
            List<Cell> group = select(cells, Kind.FIXED, c -> c.server().equals(first.server()) && c.level() == first.level());
            long fellShort = group.stream().filter(c -> !c.carried()).count();
            out.append(format("| %s | %,d | %.1f | %.1f–%.1f | %.2f | %.0f %% | %,.0f%s | %,.0f | %,.0f%n", first.server().name(),
                    first.level(), median(group.stream().map(Cell::cpuMicrosPerMessage).toList()),
                    group.stream().mapToDouble(Cell::cpuMicrosPerMessage).min().orElse(Double.NaN),
                    group.stream().mapToDouble(Cell::cpuMicrosPerMessage).max().orElse(Double.NaN),
                    ratioToC(cells, first, Cell::cpuMicrosPerMessage),
                    100 * median(group.stream().map(Cell::serverCpuShare).toList()),
                    median(group.stream().map(c -> c.report().messagesPerSecond()).toList()),
                    fellShort == 0 ? "" : format(" (%d of %d rounds short of the plan)", fellShort, group.size()),
                    median(group.stream().map(c -> (double) c.report().p50()).toList()),
                    median(group.stream().map(c -> (double) c.report().p99()).toList())));
        }
        return out.append("|===\n").toString();
    }

    /// The highest step that held before the first that did not, and why that one did not.
    static String kneeTable(List<Cell> cells) {
        var out = new StringBuilder(format("""
                [[knees]]
                .Latency under load: open loops at rates stepped up; the knee is the highest rate carried with p99 under %,d µs
                [cols="3,>2,>2,>2,>2,4",options="header"]
                |===
                | server | connections | knee, msgs/s | p50 µs there | p99 µs there | the next step

                """, KNEE_P99_MICROS));
        for (Cell first : firstPerServerAndLevel(select(cells, Kind.LADDER, c -> true))) {
            List<Cell> steps = cells.stream().filter(c -> c.kind() == Kind.LADDER && c.server().equals(first.server())
                    && c.level() == first.level()).toList();
            Cell knee = null, over = null;
            for (Cell step : steps) {
                if (step.holds()) knee = step;
                else {
                    over = step;
                    break;
                }
            }
            out.append(format("| %s | %,d | %s | %s | %s | %s%n", first.server().name(), first.level(),
                    knee == null ? "below " + format("%,d", steps.getFirst().rate()) : format("%,d", knee.rate()),
                    knee == null ? "–" : format("%,d", knee.report().p50()), knee == null ? "–" : format("%,d", knee.report().p99()),
                    over == null ? "the last step held" : whyNot(over)));
        }
        return out.append("|===\n").toString();
    }

    static String whyNot(Cell step) {
        if (step.failed()) return format("%,d: the run failed", step.rate());
        LoadTest.Report r = step.report();
        if (step.generatorLate()) return format("%,d: the generator sent %,d of %,d messages late", step.rate(), r.late(), r.sent());
        return format("%,d: %,.0f msgs/s carried, p99 %,d µs%s", step.rate(), r.messagesPerSecond(), r.p99(),
                r.starved() + r.errors() > 0 ? format(", %,d starved, %,d errors", r.starved(), r.errors()) : "");
    }

    static String closedTable(List<Cell> cells) {
        var out = new StringBuilder("""
                [[closed-loop]]
                .Closed loop: one message in flight per connection; ‡ where the generator used 90 % of its CPU or more
                [cols="3,>2,>2,>3,>1,>2,>2,>1,>1,>2,>2",options="header"]
                |===
                | server | connections | msgs/s (median) | min–max | × C echo | p50 µs | p99 µs | starved | errors | server CPU | generator CPU

                """);
        for (Cell first : firstPerServerAndLevel(select(cells, Kind.CLOSED, c -> true))) {
            List<Cell> group = select(cells, Kind.CLOSED, c -> c.server().equals(first.server()) && c.level() == first.level());
            double load = median(group.stream().map(Cell::loadCpuShare).toList());
            out.append(format("| %s | %,d | %,.0f | %,.0f–%,.0f | %.2f | %,.0f | %,.0f | %,d | %,d | %.0f %% | %.0f %%%s%n",
                    first.server().name(), first.level(),
                    median(group.stream().map(c -> c.report().messagesPerSecond()).toList()),
                    group.stream().mapToDouble(c -> c.report().messagesPerSecond()).min().orElse(0),
                    group.stream().mapToDouble(c -> c.report().messagesPerSecond()).max().orElse(0),
                    ratioToC(cells, first, c -> c.report().messagesPerSecond()),
                    median(group.stream().map(c -> (double) c.report().p50()).toList()),
                    median(group.stream().map(c -> (double) c.report().p99()).toList()),
                    group.stream().mapToLong(c -> c.report().starved()).max().orElse(0),
                    group.stream().mapToLong(c -> c.report().errors()).sum(),
                    100 * median(group.stream().map(Cell::serverCpuShare).toList()), 100 * load, load >= 0.9 ? " ‡" : ""));
        }
        return out.append("|===\n").toString();
    }

    static String generatorTable() {
        if (CHECKS.isEmpty()) return "";
        var out = new StringBuilder("""
                [[generator-check]]
                .Is lesson 19 the limit? Its closed loop and the C epoll client, each against the C echo, 100 connections, round by round
                [cols=">1,>2,>2,>2",options="header"]
                |===
                | round | C client, msgs/s | lesson 19, msgs/s | lesson 19 ÷ C client

                """);
        for (GeneratorCheck c : CHECKS) {
            out.append(format("| %d | %,.0f | %,.0f | %.2f%n", c.round(), c.cClient(), c.lesson19(), c.lesson19() / c.cClient()));
        }
        return out.append("|===\n").toString();
    }

    static String memoryTable(List<Cell> cells) {
        var out = new StringBuilder("""
                [[memory]]
                .Resident memory per connection: the server's VmRSS at the end of a closed-loop cell, less before it, over the connections
                [cols="3,>2,>2",options="header"]
                |===
                | server | KiB per connection at 1,000 | at 10,000

                """);
        List<Server> servers = select(cells, Kind.CLOSED, c -> c.level() >= 1_000).stream().map(Cell::server).distinct().toList();
        if (servers.isEmpty()) return "";   // the quick look has no 1,000-connection cells
        for (Server s : servers) {
            out.append("| ").append(s.name());
            for (int level : List.of(1_000, 10_000)) {
                double kib = median(select(cells, Kind.CLOSED, c -> c.server().equals(s) && c.level() == level).stream()
                        .map(Cell::kibPerConnection).toList());
                out.append(format(" | %.1f", kib));
            }
            out.append('\n');
        }
        return out.append("|===\n").toString();
    }

    static String cpuModel() throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 2))
                    .findFirst().orElse("unknown CPU");
        }
    }

    static int number(String[] args, int i) {
        try {
            int n = Integer.parseInt(args[i]);
            if (n < 1) usageError(args[i - 1] + " takes a number from 1 up");
            return n;
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            usageError(args[i - 1] + " needs a number");
            return -1;
        }
    }

    static void usageError(String problem) {
        System.err.println("error: " + problem);
        System.err.print(USAGE);
        System.exit(2);
    }

    /// The two charts of the book, as plain SVG.
    static final class Charts {
        static final String[] COLOURS = {"#222222", "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                "#b07aa1", "#9c755f", "#edc948"};

        static String colour(List<Server> servers, Server s) {
            return COLOURS[Math.max(0, servers.indexOf(s)) % COLOURS.length];
        }

        /// p50 and p99 against the offered rate, one line per server, a panel per percentile and level.
        static String latency(List<Cell> cells, List<Server> servers) {
            List<Integer> levels = cells.stream().filter(c -> c.kind() == Kind.LADDER).map(Cell::level).distinct().sorted().toList();
            int panelW = 360, panelH = 240, left = 60, top = 40, gap = 70;
            int legendH = 20 * ((servers.size() + 3) / 4);
            int width = left + 2 * panelW + gap + 20, height = top + levels.size() * (panelH + 60) + legendH + 10;
            int maxRate = cells.stream().filter(c -> c.kind() == Kind.LADDER).mapToInt(Cell::rate).max().orElse(1);
            var svg = header(width, height, "Latency against offered load (open loop, log scale; dashed: the knee's bound; "
                    + "rings: the generator was late)");
            double lo = Math.log10(10), hi = Math.log10(1_000_000);   // 10 µs to 1 s
            for (int row = 0; row < levels.size(); row++) {
                int level = levels.get(row);
                for (int col = 0; col < 2; col++) {
                    int x0 = left + col * (panelW + gap), y0 = top + row * (panelH + 60);
                    boolean p99 = col == 1;
                    svg.append(format("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>%n",
                            x0, y0, panelW, panelH));
                    svg.append(format("<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s, %,d connections</text>%n",
                            x0, y0 - 6, p99 ? "p99" : "p50", level));
                    for (int decade = 1; decade <= 6; decade++) {
                        double y = y0 + panelH - (decade - lo) / (hi - lo) * panelH;
                        svg.append(format("<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
                                + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">%s</text>%n",
                                x0, y, x0 + panelW, y, x0 - 4, y + 3, new String[]{"", "10 µs", "100 µs", "1 ms", "10 ms", "100 ms", "1 s"}[decade]));
                    }
                    double bound = y0 + panelH - (Math.log10(KNEE_P99_MICROS) - lo) / (hi - lo) * panelH;
                    if (p99) svg.append(format("<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#c00\" "
                            + "stroke-dasharray=\"5 4\"/>%n", x0, bound, x0 + panelW, bound));
                    for (int tick = 0; tick <= 4; tick++) {
                        int rate = maxRate * tick / 4;
                        svg.append(format("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\">%,dk</text>%n",
                                x0 + (double) rate / maxRate * panelW, y0 + panelH + 14, rate / 1000));
                    }
                    svg.append(format("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">offered msgs/s</text>%n",
                            x0 + panelW / 2, y0 + panelH + 30));
                    for (Server s : servers) {
                        List<Cell> steps = select(cells, Kind.LADDER, c -> c.server().equals(s) && c.level() == level);
                        if (steps.isEmpty()) continue;
                        var points = new StringBuilder();
                        for (Cell c : steps) {
                            long v = Math.max(10, p99 ? c.report().p99() : c.report().p50());
                            double x = x0 + (double) c.rate() / maxRate * panelW;
                            double y = y0 + panelH - (Math.min(Math.log10(v), hi) - lo) / (hi - lo) * panelH;
                            points.append(format("%.1f,%.1f ", x, y));
                            // A filled dot: the step held its schedule; a ring: the generator sent over 0.1 % late.
                            svg.append(format("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\" stroke=\"%s\"/>%n", x, y,
                                    c.generatorLate() ? "white" : colour(servers, s), colour(servers, s)));
                        }
                        svg.append(format("<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>%n",
                                points.toString().strip(), colour(servers, s)));
                    }
                }
            }
            legend(svg, servers, left, height - legendH);
            return svg.append("</svg>\n").toString();
        }

        /// CPU per message at the fixed rate: a bar per server and level, the C echo's marked as the floor.
        static String cpu(List<Cell> cells, List<Server> servers) {
            List<Cell> fixed = select(cells, Kind.FIXED, c -> true);
            List<Integer> levels = fixed.stream().map(Cell::level).distinct().sorted().toList();
            List<Server> shown = servers.stream().filter(s -> fixed.stream().anyMatch(c -> c.server().equals(s))).toList();
            int left = 120, bar = 14, group = levels.size() * bar + 10, width = 760, scaleW = 520;
            int height = 50 + shown.size() * group + 30;
            double max = 0;
            for (Server s : shown) for (int level : levels) max = Math.max(max, perMessage(fixed, s, level));
            var svg = header(width, height, format("CPU per message at %,d msgs/s planned (median of rounds), µs", FIXED_RATE));
            String[] shades = {"#4e79a7", "#f28e2b"};
            for (int i = 0; i < levels.size(); i++) {
                svg.append(format("<rect x=\"%d\" y=\"28\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"37\">"
                        + "%,d connections</text>%n", left + i * 150, shades[i % 2], left + i * 150 + 14, levels.get(i)));
            }
            for (int row = 0; row < shown.size(); row++) {
                Server s = shown.get(row);
                int y = 48 + row * group;
                svg.append(format("<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n", left - 6, y + group / 2, s.name()));
                for (int i = 0; i < levels.size(); i++) {
                    double v = perMessage(fixed, s, levels.get(i));
                    if (Double.isNaN(v)) continue;
                    svg.append(format("<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                                    + "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%.1f</text>%n", left, y + i * bar,
                            v / max * scaleW, bar - 2, shades[i % 2], left + v / max * scaleW + 4, y + i * bar + 11, v));
                }
            }
            return svg.append("</svg>\n").toString();
        }

        static double perMessage(List<Cell> fixed, Server s, int level) {
            return median(fixed.stream().filter(c -> c.server().equals(s) && c.level() == level)
                    .map(Cell::cpuMicrosPerMessage).toList());
        }

        static StringBuilder header(int width, int height, String title) {
            return new StringBuilder(format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                    + "font-family=\"sans-serif\" font-size=\"12\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n"
                    + "<text x=\"10\" y=\"18\" font-weight=\"bold\">%s</text>%n", width, height, title));
        }

        static void legend(StringBuilder svg, List<Server> servers, int left, int y) {
            for (int i = 0; i < servers.size(); i++) {
                int x = left + (i % 4) * 180, row = y + (i / 4) * 20;
                svg.append(format("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>"
                        + "<text x=\"%d\" y=\"%d\">%s</text>%n", x, row + 8, x + 24, row + 8, colour(servers, servers.get(i)),
                        x + 30, row + 12, servers.get(i).name()));
            }
        }
    }
}
