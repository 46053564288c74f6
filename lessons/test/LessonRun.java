import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// A lesson (or tool) running as its own JVM process, as a learner runs it, on the JDK the tests
/// run on. Its output lines are collected as they come, so a test can wait for a line.
final class LessonRun implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on [^ ]*:(\\d+)");

    /// Short-lived JVMs start faster with the quick JIT tier only and the simplest collector.
    static final List<String> QUICK_START = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    private final Process process;
    private final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
    private final List<String> stdoutSeen = new ArrayList<>();
    private final StringBuilder stderr = new StringBuilder();
    private final Thread stdoutPump;
    private final Thread stderrPump;

    private LessonRun(Process process) {
        this.process = process;
        this.stdoutPump = Thread.ofVirtual().start(() -> pump(process.inputReader(StandardCharsets.UTF_8), stdout::add));
        this.stderrPump = Thread.ofVirtual().start(() -> pump(process.errorReader(StandardCharsets.UTF_8),
                line -> { synchronized (stderr) { stderr.append(line).append('\n'); } }));
    }

    /// Runs the compiled lesson class `mainClass` with `args`, using the test class path.
    static LessonRun start(String mainClass, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(java()));
        command.addAll(QUICK_START);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        return new LessonRun(new ProcessBuilder(command).start());
    }

    /// Runs a lesson file with the JDK's source launcher: `java lessons/05_PassiveEcho.java ...`.
    static LessonRun startSource(Path file, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(java()));
        command.addAll(QUICK_START);
        command.add(file.toString());
        command.addAll(List.of(args));
        return new LessonRun(new ProcessBuilder(command).start());
    }

    /// Runs any other program, for example python3, collecting its output in the same way.
    static LessonRun startProcess(ProcessBuilder builder) throws IOException {
        return new LessonRun(builder.start());
    }

    /// Runs any command, with extra environment variables: a lesson behind a wrapper such as
    /// `systemd-socket-activate`, or a lesson that should believe it runs under systemd.
    static LessonRun startCommand(List<String> command, java.util.Map<String, String> environment) throws IOException {
        var builder = new ProcessBuilder(command);
        builder.environment().putAll(environment);
        return startProcess(builder);
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /// Runs `mainClass --port takenPort` and checks that it explains the taken port in one line on
    /// stderr, with the `--port 0` hint, and exits with status 1.
    static void assertExplainsPortInUse(String mainClass, int takenPort) throws Exception {
        try (LessonRun run = start(mainClass, "--port", String.valueOf(takenPort))) {
            org.assertj.core.api.Assertions.assertThat(run.exitCode(Duration.ofSeconds(30))).as(run.output()).isEqualTo(1);
            org.assertj.core.api.Assertions.assertThat(run.stderr().strip().lines()).hasSize(1);
            org.assertj.core.api.Assertions.assertThat(run.stderr()).contains("already in use").contains("--port 0");
        }
    }

    /// Waits for the process to end and returns its exit status.
    int exitCode(Duration limit) throws InterruptedException {
        if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("process still running after " + limit + "; output so far:\n" + output());
        }
        stdoutPump.join(limit);
        stderrPump.join(limit);
        return process.exitValue();
    }

    /// Waits for an output line that matches `pattern` and returns the match.
    Matcher awaitLine(Pattern pattern, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            String line = stdout.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError("no line matching /" + pattern + "/ within " + limit
                        + "; output so far:\n" + output());
            }
            synchronized (stdoutSeen) { stdoutSeen.add(line); }
            Matcher m = pattern.matcher(line);
            if (m.find()) return m;
        }
    }

    /// Waits for the lesson's "listening on HOST:PORT" line and returns the port.
    int awaitListeningPort() throws InterruptedException {
        return Integer.parseInt(awaitLine(LISTENING, Duration.ofSeconds(45)).group(1));
    }

    /// Everything printed so far: the lines already taken, the lines not taken yet, and stderr.
    String output() {
        List<String> lines;
        synchronized (stdoutSeen) { lines = new ArrayList<>(stdoutSeen); }
        lines.addAll(stdout);
        synchronized (stderr) {
            return String.join("\n", lines) + "\n--- stderr ---\n" + stderr;
        }
    }

    /// All of stdout, once the process has ended.
    String stdout() {
        List<String> lines;
        synchronized (stdoutSeen) { lines = new ArrayList<>(stdoutSeen); }
        lines.addAll(stdout);
        return String.join("\n", lines);
    }

    String stderr() {
        synchronized (stderr) { return stderr.toString(); }
    }

    Process process() {
        return process;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static void pump(BufferedReader reader, java.util.function.Consumer<String> sink) {
        try (reader) {
            for (String line; (line = reader.readLine()) != null; ) sink.accept(line);
        } catch (IOException e) {
            // The process ended: nothing more to read.
        }
    }
}
