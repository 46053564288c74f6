package grading;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/// The labs' servers read their command line as the lessons do: `--port=N` and `--port N` work,
/// a bad value is one clear line, the usage and exit status 2, a port in use one line with a
/// hint and exit status 1; never a stack trace.
class StarterCommandLineTest {

    /// Each server lab, its main class, and whether its starter gets as far as binding
    /// (lab 07's starter needs its TLS context written first: its solution stands in for it).
    record Server(String lab, String mainClass, boolean starterBinds) {
    }

    static final List<Server> SERVERS = List.of(
            new Server("01-line-echo", "LineEchoServer", true),
            new Server("02-event-loop-echo", "EventLoopEcho", true),
            new Server("03-worker-pool", "PooledServer", true),
            new Server("05-chat-server", "ChatServer", true),
            new Server("07-tls-chat", "TlsChat", false),
            new Server("09-service", "LineService", true));

    record Run(int exitStatus, String out, String err) {
    }

    @TempDir
    Path classes;

    /// The runs go four at a time: each is a JVM that mostly waits to start.
    private static final java.util.concurrent.ExecutorService POOL =
            java.util.concurrent.Executors.newFixedThreadPool(4, Thread.ofPlatform().daemon().factory());

    @TestFactory
    Stream<DynamicTest> everyServerLab() throws Exception {
        var tests = new ArrayList<DynamicTest>();
        for (Server server : SERVERS) {
            Path starter = compile(Path.of("labs", server.lab(), server.mainClass() + ".java"), "starter");
            Path solution = compile(Path.of("labs", "solutions", server.lab(), server.mainClass() + ".java"), "solution");
            var badPort = background(() -> run(starter, server.mainClass(), "--port", "abc"));
            var taken = new ServerSocket();
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            var portInUse = background(() -> {
                try (taken) {
                    return run(server.starterBinds() ? starter : solution, server.mainClass(), "--port=" + taken.getLocalPort());
                }
            });
            int port = freePort();
            boolean starterListens = server.starterBinds() && !server.lab().startsWith("03");
            var listens = background(() -> listensOn(starterListens ? starter : solution, server.mainClass(), port));
            tests.add(DynamicTest.dynamicTest(server.lab() + ": --port abc is a usage error, exit 2", () -> {
                Run run = badPort.join();
                assertThat(run.exitStatus()).isEqualTo(2);
                assertThat(run.err()).startsWith("error: --port needs a whole number from 0 to 65535, not 'abc'").contains("Usage:");
                assertThat(run.err() + run.out()).doesNotContain("Exception").doesNotContain("\tat ");
            }));
            tests.add(DynamicTest.dynamicTest(server.lab() + ": a port in use is one line and exit 1", () -> {
                Run run = portInUse.join();
                assertThat(run.exitStatus()).isEqualTo(1);
                assertThat(run.err().strip().lines()).hasSize(1);
                assertThat(run.err()).contains(" is already in use").contains("--port 0").doesNotContain("\tat ");
            }));
            tests.add(DynamicTest.dynamicTest(server.lab() + ": --port=N listens on N", () ->
                    assertThat(listens.join()).as("the server's first lines").contains("listening on 127.0.0.1:" + port)));
        }
        return tests.stream();
    }

    private static <T> java.util.concurrent.CompletableFuture<T> background(java.util.concurrent.Callable<T> body) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return body.call();
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, POOL);
    }

    private Path compile(Path source, String kind) throws IOException {
        Path out = Files.createDirectories(classes.resolve(source.getParent().getFileName() + "-" + kind));
        int status = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", out.toString(), "-encoding", "UTF-8", source.toString());
        assertThat(status).as("javac " + source).isZero();
        return out;
    }

    private static ProcessBuilder java(Path classPath, String mainClass, String... args) {
        var command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath.toString(), mainClass));
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    private static Run run(Path classPath, String mainClass, String... args) throws Exception {
        Process process = java(classPath, mainClass, args).start();
        process.getOutputStream().close();
        var err = process.getErrorStream();
        var out = process.getInputStream();
        boolean ended = process.waitFor(30, TimeUnit.SECONDS);
        if (!ended) {
            process.destroyForcibly().waitFor();
            throw new AssertionError(mainClass + " " + String.join(" ", args) + " did not end within 30 s");
        }
        return new Run(process.exitValue(), new String(out.readAllBytes(), StandardCharsets.UTF_8),
                new String(err.readAllBytes(), StandardCharsets.UTF_8));
    }

    /// Starts the server on `port`, returns its output up to the line that says it listens, stops it.
    private static String listensOn(Path classPath, String mainClass, int port) throws Exception {
        Process process = java(classPath, mainClass, "--port=" + port).redirectErrorStream(true).start();
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            var seen = new StringBuilder();
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                seen.append(line).append('\n');
                if (line.contains("listening on")) {
                    break;
                }
            }
            return seen.toString();
        } finally {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    private static int freePort() throws IOException {
        try (var probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return probe.getLocalPort();
        }
    }
}
