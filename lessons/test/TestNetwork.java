import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/// The course's hosts (lessons/tools/Net.java) for a test: namespaces named after this test JVM,
/// so that runs side by side never share one, removed when the test closes it. Where they cannot be
/// built (not Linux, not root, no `ip`), the test is skipped with the one-line reason.
final class TestNetwork implements AutoCloseable {
    final Net net;

    private TestNetwork(Net net) {
        this.net = net;
    }

    /// Skips the calling test, saying why, where the course's network cannot be built.
    static void assumeAvailable() {
        String why = Net.unavailable();
        assumeTrue(why == null, () -> "skipped: the course's network " + why);
    }

    static TestNetwork build(Net.Topology topology) throws IOException {
        assumeAvailable();
        return new TestNetwork(Net.build(topology, "slt" + ProcessHandle.current().pid()));
    }

    /// A lesson's class from the test class path, run on `host` as its own JVM.
    LessonRun lesson(String host, String mainClass, String... args) throws IOException {
        return lesson(host, List.of(), mainClass, args);
    }

    /// The same, with options for the JVM (`-Djava.net.preferIPv4Stack=true`, say).
    LessonRun lesson(String host, List<String> jvmOptions, String mainClass, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(LessonRun.java()));
        command.addAll(LessonRun.QUICK_START);
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        return LessonRun.startProcess(net.on(host, command));
    }

    /// A command's exit status and output, run on `host` to its end.
    record Result(int exitCode, String output, Duration took) {
    }

    Result run(String host, Duration limit, String... command) throws IOException, InterruptedException {
        long start = System.nanoTime();
        Process p = net.on(host, List.of(command)).redirectErrorStream(true).start();
        if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", command) + " on " + host + " still running after " + limit);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.exitValue(), out, Duration.ofNanos(System.nanoTime() - start));
    }

    /// Whether a TCP connection from `host` to `address:port` is accepted within two seconds (nc -z).
    boolean connects(String host, String address, int port) throws IOException, InterruptedException {
        return run(host, Duration.ofSeconds(10), "nc", "-z", "-w", "2", address, String.valueOf(port)).exitCode() == 0;
    }

    @Override
    public void close() throws IOException {
        net.close();
    }
}
