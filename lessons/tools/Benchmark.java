///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// The benchmark behind the chapter "What the numbers say": every echo server of the course in its
/// own JVM, pinned to CPU 0, and the same closed-loop load (lesson 19) from another JVM pinned to
/// CPU 1, in interleaved rounds. Writes docs/bench/results.adoc and docs/bench/benchmark.svg.
///
/// Run it: `./jbang lessons/tools/Benchmark.java` (about 20 minutes), or `--quick` for a look.
class Benchmark {
    static final String USAGE = """
            Usage: ./jbang lessons/tools/Benchmark.java [--rounds N] [--duration S] [--warmup S]
                                                        [--quick] [--no-write] [--help]

            Starts each echo server (lessons 05, 08, 10 with platform and virtual threads, 11, 20,
            and the course's Python asyncio server) in its own process pinned to CPU 0, loads it
            with lesson 19 pinned to CPU 1 at 1, 100, 1,000 and 10,000 connections (10,000 only
            for the designs that claim it), one round after another, and reports medians and
            ratios to Netty.

              --rounds N     rounds; every round visits every server (default 3)
              --duration S   seconds measured per cell (default 10)
              --warmup S     seconds of load before each measurement (default 2)
              --quick        1 round, 3 s measured, 1 s warm-up, no 10,000 level: a quick look
              --no-write     print the results only; leave docs/bench alone
              --help         print this help and exit
            """;

    static final List<Integer> LEVELS = List.of(1, 100, 1_000, 10_000);
    static final Path ROOT = Path.of("").toAbsolutePath();

    /// A server under test: how to start it, and the highest level it claims to handle.
    record Server(String name, String file, List<String> arguments, int maxLevel) {
        boolean python() {
            return file.endsWith(".py");
        }
    }

    static final List<Server> SERVERS = List.of(
            new Server("20 Netty", "lessons/20_NettyEcho.java", List.of("--threads", "1"), 10_000),
            new Server("05 passive", "lessons/05_PassiveEcho.java", List.of(), 1_000),
            new Server("08 selector", "lessons/08_NonBlockingEcho.java", List.of(), 10_000),
            new Server("10 platform", "lessons/10_ConcurrentServer.java", List.of("--threads", "platform"), 1_000),
            new Server("10 virtual", "lessons/10_ConcurrentServer.java", List.of("--threads", "virtual"), 10_000),
            new Server("11 pooled", "lessons/11_PooledServer.java", List.of("--workers", "16", "--queue", "16"), 1_000),
            new Server("Python asyncio", "docs/other-languages/python/asyncio_echo_server.py", List.of(), 1_000));

    /// One measured cell, as lesson 19 reported it, plus the server's CPU time.
    record Cell(String server, int level, int round, double msgsPerSecond, long p50, long p99, long errors,
                long starved, long refused, double serverCpuSeconds, double loadCpuPercent, boolean failed) {}

    public static void main(String[] args) throws Exception {
        int rounds = 3, duration = 10, warmup = 2;
        boolean quick = false, write = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--rounds" -> rounds = number(args, ++i);
                case "--duration" -> duration = number(args, ++i);
                case "--warmup" -> warmup = number(args, ++i);
                case "--quick" -> quick = true;
                case "--no-write" -> write = false;
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        if (!Files.isDirectory(ROOT.resolve("lessons"))) {
            System.err.println("Run the benchmark from the project's top folder: ./jbang lessons/tools/Benchmark.java");
            System.exit(1);
        }
        if (quick) {
            rounds = 1;
            duration = 3;
            warmup = 1;
        }
        List<Cell> cells = new ArrayList<>();
        Instant started = Instant.now();
        for (int round = 1; round <= rounds; round++) {
            // Rotate the order so that no server always runs first, or last.
            List<Server> order = new ArrayList<>(SERVERS);
            java.util.Collections.rotate(order, -(round - 1));
            for (Server server : order) {
                if (!Files.exists(ROOT.resolve(server.file()))) {
                    System.err.printf("skipping %s: %s is not here%n", server.name(), server.file());
                    continue;
                }
                for (int level : LEVELS) {
                    if (level > server.maxLevel() || (quick && level > 1_000)) continue;
                    cells.add(measure(server, level, round, warmup, duration));
                }
            }
        }
        long minutes = ChronoUnit.SECONDS.between(started, Instant.now()) / 60;
        String table = table(cells);
        System.out.println(table);
        if (write) {
            Path dir = ROOT.resolve("docs/bench");
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("results.adoc"), results(cells, table, rounds, warmup, duration, minutes));
            Files.writeString(dir.resolve("benchmark.svg"), chart(cells));
            System.out.println("wrote docs/bench/results.adoc and docs/bench/benchmark.svg");
        }
    }

    // tag::cell[]
    static Cell measure(Server server, int level, int round, int warmup, int duration) throws Exception {
        System.err.printf("round %d · %s · %,d connections%n", round, server.name(), level);
        try (var process = startServer(server)) {
            long cpuBefore = cpuTicks(process.pid());
            // The load generator: a separate JVM on the other CPU, one load thread.
            List<String> load = List.of("taskset", "-c", "1", "./jbang", "-R-Xmx2g", "lessons/19_LoadTest.java",
                    "--host", "127.0.0.1", "--port", String.valueOf(process.port()),
                    "--connections", String.valueOf(level), "--warmup", String.valueOf(warmup),
                    "--duration", String.valueOf(duration));
            Process generator = new ProcessBuilder(load).directory(ROOT.toFile())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String table = new String(generator.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            boolean ended = generator.waitFor(warmup + duration + 120, TimeUnit.SECONDS);
            // A server that has already exited (it crashed under the load) has no count.
            double cpu = process.process().isAlive() ? (cpuTicks(process.pid()) - cpuBefore) / 100.0 : Double.NaN;
            if (!ended || generator.exitValue() != 0 || !table.contains("load CPU")) {
                generator.destroyForcibly();
                System.err.println("  the load generator failed: " + table);
                return new Cell(server.name(), level, round, 0, 0, 0, level, level, 0, cpu, 0, true);
            }
            Map<String, Double> row = lesson19Row(table);
            return new Cell(server.name(), level, round, row.get("msgs/s"), row.get("p50").longValue(),
                    row.get("p99").longValue(), row.get("errors").longValue(), row.get("starved").longValue(),
                    row.get("refused").longValue(), cpu, row.get("load CPU"), false);
        }
    }
    // end::cell[]

    /// A server process pinned to CPU 0, and the port it listens on.
    record ServerProcess(Process process, int port) implements AutoCloseable {
        long pid() {
            return process.pid();
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

    static ServerProcess startServer(Server server) throws Exception {
        // The Python server is the course's own file, run as a learner runs it; the others are lessons.
        List<String> command = new ArrayList<>(server.python()
                ? List.of("taskset", "-c", "0", "python3", server.file(), "--port", "0")
                : List.of("taskset", "-c", "0", "./jbang", "-R-Xmx512m", "-R-Dsocketlab.quiet=true",
                        server.file(), "--port", "0"));
        command.addAll(server.arguments());
        Process p = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true).start();
        var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Pattern listening = Pattern.compile("listening on [^ ]*:(\\d+)");
        for (String line; (line = reader.readLine()) != null; ) {
            Matcher m = listening.matcher(line);
            if (m.find()) {
                // Keep draining its output so that the server never blocks on a full pipe.
                Thread.ofVirtual().start(() -> {
                    try {
                        while (reader.readLine() != null) { /* discard */ }
                    } catch (IOException e) {
                        // The server was stopped: nothing more to drain.
                    }
                });
                return new ServerProcess(p, Integer.parseInt(m.group(1)));
            }
        }
        throw new IOException(server.name() + " ended without listening (exit " + p.waitFor() + ")");
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

    /// The columns of lesson 19's table, in its order; its last line is the row of the run.
    static final List<String> LESSON_19_COLUMNS = List.of("target", "conns", "msgs/s", "MB/s", "p50", "p90",
            "p99", "p99.9", "max", "errors", "refused", "starved", "load CPU");

    /// Lesson 19's row as numbers by column name (`65,857` is 65857; `44%` is 44).
    static Map<String, Double> lesson19Row(String table) {
        String[] values = table.strip().lines().reduce((first, second) -> second).orElse("").trim().split("\\s+");
        if (values.length != LESSON_19_COLUMNS.size()) throw new IllegalArgumentException("not lesson 19's row: " + table);
        Map<String, Double> row = new LinkedHashMap<>();
        for (int i = 1; i < values.length; i++) {
            row.put(LESSON_19_COLUMNS.get(i), Double.parseDouble(values[i].replace(",", "").replace("%", "")));
        }
        return row;
    }

    /// The medians over rounds of one server at one level, and its ratio to Netty in the same rounds.
    record Summary(String server, int level, double median, double min, double max, double ratio,
                   long p50, long p99, long starved, long errors, double cpu, double loadCpu) {}

    static List<Summary> summarize(List<Cell> cells) {
        Map<String, List<Cell>> byKey = new LinkedHashMap<>();
        for (Cell c : cells) byKey.computeIfAbsent(c.server() + "|" + c.level(), k -> new ArrayList<>()).add(c);
        List<Summary> summaries = new ArrayList<>();
        for (List<Cell> group : byKey.values()) {
            Cell first = group.getFirst();
            List<Double> ratios = new ArrayList<>();
            for (Cell c : group) {
                cells.stream().filter(n -> n.server().equals("20 Netty") && n.level() == c.level()
                                && n.round() == c.round() && n.msgsPerSecond() > 0)
                        .findFirst().ifPresent(n -> ratios.add(c.msgsPerSecond() / n.msgsPerSecond()));
            }
            summaries.add(new Summary(first.server(), first.level(),
                    median(group.stream().map(Cell::msgsPerSecond).toList()),
                    group.stream().mapToDouble(Cell::msgsPerSecond).min().orElse(0),
                    group.stream().mapToDouble(Cell::msgsPerSecond).max().orElse(0),
                    ratios.isEmpty() ? Double.NaN : median(ratios),
                    (long) median(group.stream().map(c -> (double) c.p50()).toList()),
                    (long) median(group.stream().map(c -> (double) c.p99()).toList()),
                    group.stream().mapToLong(Cell::starved).max().orElse(0),
                    group.stream().mapToLong(Cell::errors).sum(),
                    median(group.stream().map(Cell::serverCpuSeconds).toList()),
                    median(group.stream().map(Cell::loadCpuPercent).toList())));
        }
        summaries.sort(Comparator.comparingInt(Summary::level).thenComparing(Summary::server));
        return summaries;
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n == 0 ? 0 : n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    static String table(List<Cell> cells) {
        var out = new StringBuilder();
        out.append("|===\n| server | connections | msgs/s (median) | min–max | × Netty | p50 µs | p99 µs "
                + "| starved | errors | server CPU s | load CPU\n\n");
        for (Summary s : summarize(cells)) {
            out.append(String.format(Locale.ROOT, "| %s | %,d | %,.0f | %,.0f–%,.0f | %s | %,d | %,d | %,d | %,d | %.1f | %.0f %%%n",
                    s.server(), s.level(), s.median(), s.min(), s.max(),
                    Double.isNaN(s.ratio()) ? "–" : String.format(Locale.ROOT, "%.2f", s.ratio()),
                    s.p50(), s.p99(), s.starved(), s.errors(), s.cpu(), s.loadCpu()).replace("| NaN |", "| – |"));
        }
        return out.append("|===\n").toString();
    }

    static String results(List<Cell> cells, String table, int rounds, int warmup, int duration, long minutes)
            throws IOException, InterruptedException {
        return """
                // Written by lessons/tools/Benchmark.java: run it again rather than editing this file.
                Measured on %s: %s, %d CPUs, %s, Linux %s. \
                %d round(s), %d s warm-up and %d s measured per cell, 64-byte messages, \
                servers pinned to CPU 0 and the load generator to CPU 1; the whole run took %d minutes.

                [cols="3,>2,>2,>3,>1,>2,>2,>1,>1,>2,>2",options="header"]
                %s""".formatted(Instant.now().truncatedTo(ChronoUnit.MINUTES), cpuModel(),
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.name") + " "
                        + Runtime.version(), kernel(), rounds, warmup, duration, minutes, table);
    }

    /// A grouped bar chart of each server's throughput as a multiple of Netty's, per level.
    static String chart(List<Cell> cells) {
        List<Summary> summaries = summarize(cells).stream().filter(s -> s.level() >= 100).toList();
        List<Integer> levels = summaries.stream().map(Summary::level).distinct().sorted().toList();
        List<String> servers = summaries.stream().map(Summary::server).distinct().sorted().toList();
        String[] colours = {"#4e79a7", "#f28e2b", "#59a14f"};
        int barHeight = 14, group = levels.size() * barHeight + 12, left = 110, width = 780, scale = 400;
        int height = 40 + servers.size() * group + 30;
        var svg = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
                        + "font-size=\"12\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n"
                        + "<text x=\"%d\" y=\"18\" font-weight=\"bold\">Throughput as a multiple "
                        + "of Netty's (median of rounds)</text>%n", width, height, left));
        for (int i = 0; i < levels.size(); i++) {
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"26\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"35\">%,d connections</text>%n", left + i * 140, colours[i % 3],
                    left + i * 140 + 14, levels.get(i)));
        }
        for (int row = 0; row < servers.size(); row++) {
            int y = 44 + row * group;
            svg.append(String.format("<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n", left - 6,
                    y + group / 2, servers.get(row)));
            for (int i = 0; i < levels.size(); i++) {
                String server = servers.get(row);
                int level = levels.get(i);
                var s = summaries.stream().filter(x -> x.server().equals(server) && x.level() == level).findFirst();
                if (s.isEmpty() || Double.isNaN(s.get().ratio())) continue;
                double ratio = s.get().ratio();
                svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                                + "fill=\"%s\"/><text x=\"%.1f\" y=\"%d\">%.2f×%s</text>%n", left, y + i * barHeight,
                        Math.min(ratio, 1.2) * scale, barHeight - 2, colours[i % 3],
                        left + Math.min(ratio, 1.2) * scale + 4, y + i * barHeight + 11, ratio,
                        s.get().starved() > 0 ? String.format(" (%,d starved)", s.get().starved()) : ""));
            }
        }
        int x1 = left + scale;
        svg.append(String.format("<line x1=\"%d\" y1=\"40\" x2=\"%d\" y2=\"%d\" stroke=\"#333\" "
                + "stroke-dasharray=\"4 3\"/><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">Netty = 1.0</text>%n",
                x1, x1, height - 24, x1, height - 10));
        return svg.append("</svg>\n").toString();
    }

    static String cpuModel() throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 2))
                    .findFirst().orElse("unknown CPU");
        }
    }

    static String kernel() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("uname", "-r").start();
        String r = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        p.waitFor();
        return r;
    }

    static int number(String[] args, int i) {
        try {
            int n = Integer.parseInt(args[i]);
            if (n < 0) usageError(args[i - 1] + " takes a positive number");
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
}
