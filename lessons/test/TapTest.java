import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(30)
class TapTest {
    static final int READ_TIMEOUT_MS = 10_000;
    static final LessonContractTest.Lesson TAP =
            new LessonContractTest.Lesson(Path.of("lessons", "tools", "Tap.java"), "tools", "Tap");

    ServerSocket server;
    Tap tap;

    @BeforeEach
    void startServer() throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    @AfterEach
    void stop() throws IOException {
        if (tap != null) tap.close();
        server.close();
    }

    Tap tap(int chunk, Duration delay) throws IOException {
        tap = Tap.start(0, (InetSocketAddress) server.getLocalSocketAddress(), chunk, delay);
        return tap;
    }

    Socket connectThroughTap() throws IOException {
        var client = new Socket(InetAddress.getLoopbackAddress(), tap.port());
        client.setSoTimeout(READ_TIMEOUT_MS);
        return client;
    }

    Socket acceptAtServer() throws IOException {
        server.setSoTimeout(READ_TIMEOUT_MS);
        Socket accepted = server.accept();
        accepted.setSoTimeout(READ_TIMEOUT_MS);
        return accepted;
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] bytes = new byte[n];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    @ParameterizedTest(name = "chunk {0}")
    @ValueSource(ints = {0, 1, 7, 1000})
    void bytesPassBothWaysUnchanged(int chunk) throws Exception {
        tap(chunk, Duration.ZERO);
        int size = switch (chunk) { case 1 -> 500; case 7 -> 5_000; default -> 200_000; };
        byte[] up = randomBytes(size, 1);
        byte[] down = randomBytes(size, 2);
        try (Socket client = connectThroughTap(); Socket accepted = acceptAtServer()) {
            // Both sides send at once: the tap must not make one direction wait for the other.
            var clientSends = CompletableFuture.runAsync(() -> send(client, up));
            var serverSends = CompletableFuture.runAsync(() -> send(accepted, down));
            assertThat(accepted.getInputStream().readAllBytes()).as("client -> server").isEqualTo(up);
            assertThat(client.getInputStream().readAllBytes()).as("server -> client").isEqualTo(down);
            clientSends.get(10, TimeUnit.SECONDS);
            serverSends.get(10, TimeUnit.SECONDS);
        }
    }

    /// Writes everything in one call, then half-closes: the other side sees end of stream.
    static void send(Socket socket, byte[] bytes) {
        try {
            socket.getOutputStream().write(bytes);
            socket.shutdownOutput();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void withChunkOneTheReceiverGetsOneByteReads() throws Exception {
        // The pieces leave the tap 200 ms apart, so two of them could share one read only if the
        // receiving thread stalled for longer than that.
        tap(1, Duration.ofMillis(200));
        try (Socket client = connectThroughTap(); Socket accepted = acceptAtServer()) {
            client.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));   // one write
            client.shutdownOutput();
            List<String> reads = new ArrayList<>();
            InputStream in = accepted.getInputStream();
            byte[] buffer = new byte[1024];
            for (int n; (n = in.read(buffer)) != -1; ) reads.add(new String(buffer, 0, n, StandardCharsets.US_ASCII));
            assertThat(reads).containsExactly("p", "i", "n", "g");
        }
    }

    @Test
    void endOfStreamIsPassedOnAndTheOtherDirectionStaysOpen() throws Exception {
        tap(0, Duration.ZERO);
        try (Socket client = connectThroughTap(); Socket accepted = acceptAtServer()) {
            client.getOutputStream().write("question".getBytes(StandardCharsets.US_ASCII));
            client.shutdownOutput();
            assertThat(accepted.getInputStream().readAllBytes()).asString(StandardCharsets.US_ASCII)
                    .isEqualTo("question");
            // The server saw our end of stream, and can still answer.
            accepted.getOutputStream().write("answer".getBytes(StandardCharsets.US_ASCII));
            accepted.shutdownOutput();
            assertThat(client.getInputStream().readAllBytes()).asString(StandardCharsets.US_ASCII)
                    .isEqualTo("answer");
        }
    }

    @Test
    void closeEndsBothSides() throws Exception {
        tap(0, Duration.ZERO);
        try (Socket client = connectThroughTap(); Socket accepted = acceptAtServer()) {
            client.getOutputStream().write('x');
            assertThat(accepted.getInputStream().read()).isEqualTo('x');
            int port = tap.port();
            tap.close();
            assertThat(endOfStreamOrReset(client.getInputStream())).as("client side ended").isTrue();
            assertThat(endOfStreamOrReset(accepted.getInputStream())).as("server side ended").isTrue();
            await().atMost(Duration.ofSeconds(5)).until(() -> !tap.acceptor().isAlive());
            assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
                    .isInstanceOf(ConnectException.class);
        }
    }

    /// True when the stream ends (FIN) or is reset; a read timeout fails the test instead.
    static boolean endOfStreamOrReset(InputStream in) throws IOException {
        try {
            return in.read() == -1;
        } catch (SocketException e) {
            return true;
        }
    }

    @Test
    void aClientIsClosedWhenTheServerCannotBeReached() throws Exception {
        int deadPort;
        try (var probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = probe.getLocalPort();
        }
        tap = Tap.start(0, new InetSocketAddress(InetAddress.getLoopbackAddress(), deadPort), 0, Duration.ZERO);
        try (Socket client = connectThroughTap()) {
            assertThat(endOfStreamOrReset(client.getInputStream())).isTrue();
        }
    }

    @Test
    void mainPrintsEveryChunkLikeHexdump() throws Exception {
        try (LessonRun run = LessonRun.start("Tap", "--port", "0", "--to", "127.0.0.1:" + server.getLocalPort())) {
            int port = run.awaitListeningPort();
            try (var client = new Socket(InetAddress.getLoopbackAddress(), port); Socket accepted = acceptAtServer()) {
                client.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(accepted.getInputStream().readNBytes(6)).asString(StandardCharsets.US_ASCII)
                        .isEqualTo("hello\n");
                run.awaitLine(Pattern.compile("client -> server +6 bytes"), Duration.ofSeconds(10));
                run.awaitLine(Pattern.compile("^ +00000000 +68 65 6c 6c 6f 0a +\\|hello\\.\\|$"),
                        Duration.ofSeconds(10));
            }
        }
    }

    /// The command-line contract of a lesson: header, class first, --help, a bad argument, and
    /// `java lessons/tools/Tap.java` with the JDK's source launcher.
    @Test
    void keepsTheLessonsCommandLineContract() throws Exception {
        LessonContractTest.header(TAP);
        LessonContractTest.classFirst(TAP);
        LessonContractTest.help(TAP);
        LessonContractTest.badArgument(TAP);
        LessonContractTest.sourceLauncher(TAP);
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        LessonRun.assertExplainsPortInUse("Tap", server.getLocalPort());
    }

    @Test
    void aBadTargetIsAUsageError() throws Exception {
        try (LessonRun run = LessonRun.start("Tap", "--to", "nowhere")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(2);
            assertThat(run.stderr()).contains("HOST:PORT").contains("Usage:");
        }
    }
}
