import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/// The course's C programs (docs/other-languages/c/), built with `gcc -O2 -Wall -Wextra -Werror`:
/// the one-thread epoll echo server, talked to by Java and Python clients, and the epoll load
/// client, run against it and against lesson 08.
@Timeout(60)
class CEchoTest {
    static final Duration WAIT = Duration.ofSeconds(30);
    static final Pattern RESULT = Pattern.compile(
            "^(\\d+) connections, 64-byte messages, [0-9.]+ s: (\\d+) messages, (\\d+) msgs/s, (\\d+) wrong$");

    @TempDir
    static Path build;
    static Path echoProgram, loadProgram;
    static LessonRun echo;
    static int port;

    @BeforeAll
    static void buildAndStart() throws Exception {
        assumeTrue(OtherLanguages.installed("gcc"), "gcc is not installed: the C programs cannot be built");
        echoProgram = OtherLanguages.compileC("epoll_echo.c", build);
        loadProgram = OtherLanguages.compileC("epoll_load.c", build);
        echo = LessonRun.startProcess(new ProcessBuilder(echoProgram.toString(), "--port", "0"));
        port = echo.awaitListeningPort();
    }

    @AfterAll
    static void stop() {
        if (echo != null) echo.close();
    }

    @Test
    void echoesLinesForLesson04AndBytesForThePythonClient() throws Exception {
        var screen = new ByteArrayOutputStream();
        int status = EchoClient.run(new BufferedReader(new StringReader("hello\n안녕하세요\n")),
                new PrintStream(screen, true, StandardCharsets.UTF_8), "127.0.0.1", port, Duration.ofSeconds(10));
        assertThat(status).isZero();
        // The client's narration (another thread) may fall between the two echoed lines.
        assertThat(screen.toString(StandardCharsets.UTF_8).lines()).contains("hello", "안녕하세요");
        if (OtherLanguages.installed("python3")) {
            // It echoes whatever each read returns: no newline needed.
            try (LessonRun python = OtherLanguages.python("tcp_echo_client.py", "--port", String.valueOf(port))) {
                assertThat(python.exitCode(WAIT)).as(python.output()).isZero();
                assertThat(python.stdout()).isEqualTo("Received b'Hello, world'");
            }
        }
    }

    @Test
    void servesManyClientsAtOnceOnItsOneThread() throws Exception {
        List<LineClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) clients.add(new LineClient(port));
            for (int i = clients.size() - 1; i >= 0; i--) {
                assertThat(clients.get(i).ask("client " + i)).isEqualTo("client " + i);
            }
        } finally {
            for (LineClient client : clients) client.close();
        }
        assertThat(threads(echo.process().pid())).isEqualTo(1);
    }

    /// A client that writes 16 MiB while reading slowly through a 4 KiB receive window: the server's
    /// writes go partial and wait for EPOLLOUT. Every byte must come back, in order, and a second
    /// client must be served in the meantime.
    @Test
    void aSlowReaderGetsEveryByteInOrderAndDoesNotHoldUpTheOthers() throws Exception {
        byte[] data = new byte[16 << 20];
        new Random(11).nextBytes(data);
        try (var slow = new Socket()) {
            slow.setReceiveBufferSize(4096);
            slow.setSoTimeout(20_000);
            slow.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            OutputStream out = slow.getOutputStream();
            var writer = CompletableFuture.runAsync(() -> {
                try {
                    out.write(data);
                    slow.shutdownOutput();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            InputStream in = slow.getInputStream();
            byte[] first = in.readNBytes(1024);      // the echo has started, the rest is backed up
            assertThat(first).isEqualTo(Arrays.copyOf(data, 1024));
            try (var other = new LineClient(port)) {
                assertThat(other.ask("not held up")).isEqualTo("not held up");
            }
            byte[] rest = in.readAllBytes();
            writer.get(20, TimeUnit.SECONDS);
            assertThat(rest.length + first.length).isEqualTo(data.length);
            assertThat(Arrays.equals(rest, Arrays.copyOfRange(data, 1024, data.length))).as("the bytes, in order").isTrue();
        }
    }

    @Test
    void theLoadClientMeasuresTheCEchoAndLesson08() throws Exception {
        assertThat(load(port, 10)).isPositive();
        try (var selector = NonBlockingEcho.start(0)) {
            assertThat(load(selector.port(), 10)).isPositive();
        }
    }

    @Test
    void refusesBadArgumentsAndExplainsAPortInUse() throws Exception {
        for (List<String> args : List.of(List.of("--port"), List.of("--port", "70000"), List.of("--port", "x"), List.of("1234"))) {
            List<String> command = new ArrayList<>(List.of(echoProgram.toString()));
            command.addAll(args);
            try (LessonRun run = LessonRun.startProcess(new ProcessBuilder(command))) {
                assertThat(run.exitCode(WAIT)).as(args.toString()).isEqualTo(2);
                assertThat(run.stderr()).startsWith("usage:");
            }
        }
        try (LessonRun second = LessonRun.startProcess(new ProcessBuilder(echoProgram.toString(), "--port", String.valueOf(port)))) {
            assertThat(second.exitCode(WAIT)).isEqualTo(1);
            assertThat(second.stderr().strip()).contains("Address already in use").contains("--port 0");
        }
        try (LessonRun load = LessonRun.startProcess(new ProcessBuilder(loadProgram.toString(), "--connections", "5"))) {
            assertThat(load.exitCode(WAIT)).isEqualTo(2);
        }
    }

    /// Runs the load client for one second and returns the messages per second it reports.
    static long load(int target, int connections) throws Exception {
        try (LessonRun run = LessonRun.startProcess(new ProcessBuilder(loadProgram.toString(), "--port",
                String.valueOf(target), "--connections", String.valueOf(connections), "--seconds", "1"))) {
            assertThat(run.exitCode(WAIT)).as(run.output()).isZero();
            Matcher m = RESULT.matcher(run.stdout().strip());
            assertThat(m.matches()).as(run.stdout()).isTrue();
            assertThat(m.group(1)).isEqualTo(String.valueOf(connections));
            assertThat(m.group(4)).as("echoes that differ from what was sent").isEqualTo("0");
            assertThat(Long.parseLong(m.group(2))).isGreaterThanOrEqualTo(connections);
            return Long.parseLong(m.group(3));
        }
    }

    static int threads(long pid) throws Exception {
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("Threads:")) return Integer.parseInt(line.substring(8).strip());
        }
        throw new AssertionError("no Threads line for " + pid);
    }
}
