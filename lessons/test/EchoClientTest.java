import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PipedReader;
import java.io.PipedWriter;
import java.io.PrintStream;
import java.io.StringReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class EchoClientTest {
    static final Duration PATIENT = Duration.ofSeconds(10);

    final ByteArrayOutputStream screenBytes = new ByteArrayOutputStream();
    final PrintStream screen = new PrintStream(screenBytes, true, StandardCharsets.UTF_8);
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeEverything() throws Exception {
        for (AutoCloseable c : toClose.reversed()) c.close();
    }

    String screen() {
        return screenBytes.toString(StandardCharsets.UTF_8);
    }

    static BufferedReader typed(String text) {
        return new BufferedReader(new StringReader(text));
    }

    /// A test server with one connection, handled by `conversation` on its own thread.
    TestServer testServer(Conversation conversation) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        listener.setSoTimeout(10_000);
        var server = new TestServer(listener, new CompletableFuture<>());
        toClose.add(server);
        Thread.ofVirtual().start(() -> {
            try (Socket connection = listener.accept()) {
                connection.setSoTimeout(10_000);
                conversation.talk(connection, server.sawEndOfStream());
            } catch (IOException e) {
                server.sawEndOfStream().completeExceptionally(e);
            }
        });
        return server;
    }

    interface Conversation {
        void talk(Socket connection, CompletableFuture<List<String>> sawEndOfStream) throws IOException;
    }

    record TestServer(ServerSocket listener, CompletableFuture<List<String>> sawEndOfStream) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    static List<String> readUntilEndOfStream(Socket connection) throws IOException {
        var in = new BufferedReader(new InputStreamReader(connection.getInputStream(), StandardCharsets.UTF_8));
        List<String> lines = new ArrayList<>();
        for (String line; (line = in.readLine()) != null; ) lines.add(line);
        return lines;
    }

    static void send(Socket connection, String text) throws IOException {
        OutputStream out = connection.getOutputStream();
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Test
    void typedLinesComeBackFromLessonFivesServer() throws IOException {
        try (PassiveEcho.Server server = PassiveEcho.start(0)) {
            int status = EchoClient.run(typed("hello\nsecond line\n"), screen, "localhost", server.port(), PATIENT);
            assertThat(status).as(screen()).isZero();
            assertThat(screen().lines()).containsSubsequence("hello", "second line");
            assertThat(screen()).contains("the server closed the connection");
        }
    }

    @Test
    void afterEndOfInputTheServerSeesEndOfStreamAndRepliesStillArrive() throws Exception {
        // This server answers only once it has seen end of stream: it needs the whole input first.
        TestServer server = testServer((connection, sawEndOfStream) -> {
            List<String> lines = readUntilEndOfStream(connection);
            sawEndOfStream.complete(lines);
            send(connection, "you sent " + lines.size() + " lines\n");
            for (String line : lines.reversed()) send(connection, line + "\n");
        });
        int status = EchoClient.run(typed("one\ntwo\nthree\n"), screen, "localhost", server.port(), PATIENT);

        assertThat(server.sawEndOfStream().get(10, TimeUnit.SECONDS)).containsExactly("one", "two", "three");
        assertThat(status).as(screen()).isZero();
        assertThat(screen().lines()).containsSubsequence("you sent 3 lines", "three", "two", "one");
    }

    @Test
    void aSilentServerEndsInTheTimeoutWithAClearMessage() throws Exception {
        var keyboard = new PipedWriter();
        toClose.add(keyboard);
        var stillTyping = new BufferedReader(new PipedReader(keyboard));
        TestServer server = testServer((connection, sawEndOfStream) -> sawEndOfStream.complete(readUntilEndOfStream(connection)));

        int status = EchoClient.run(stillTyping, screen, "localhost", server.port(), Duration.ofMillis(300));

        assertThat(status).isEqualTo(1);
        assertThat(screen()).contains("the server sent nothing for 0.3 s (--timeout); giving up");
        // Giving up closes the connection: the server sees it end.
        assertThat(server.sawEndOfStream().get(10, TimeUnit.SECONDS)).isEmpty();
    }

    @Test
    void theServerClosingFirstEndsTheClientWhileTheKeyboardIsStillOpen() throws Exception {
        var keyboard = new PipedWriter();
        toClose.add(keyboard);
        var stillTyping = new BufferedReader(new PipedReader(keyboard));
        TestServer server = testServer((connection, sawEndOfStream) -> send(connection, "goodbye\n"));

        int status = EchoClient.run(stillTyping, screen, "localhost", server.port(), PATIENT);

        assertThat(status).isZero();
        assertThat(screen().lines()).contains("goodbye");
        assertThat(screen()).contains("the server closed the connection");
    }

    @Test
    void aRefusedConnectionIsOneClearLine() throws IOException {
        int port;
        try (var probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            port = probe.getLocalPort();
        }   // closed: nothing listens there now
        int status = EchoClient.run(typed("unheard\n"), screen, "localhost", port, PATIENT);

        assertThat(status).isEqualTo(1);
        assertThat(screen().lines()).hasSize(1);
        assertThat(screen()).startsWith("nothing listens on localhost:" + port + " — start lesson 05 first?");
    }

    @Test
    void anUnknownHostIsOneClearLine() {
        int status = EchoClient.run(typed(""), screen, "no-such-host.invalid", 1234, PATIENT);
        assertThat(status).isEqualTo(1);
        assertThat(screen().lines()).containsExactly("cannot find host no-such-host.invalid: no such name");
    }

    @Test
    void runAsAProgramWithStdinPipedItEchoes() throws Exception {
        try (PassiveEcho.Server server = PassiveEcho.start(0);
                LessonRun run = LessonRun.start("EchoClient", "--port", String.valueOf(server.port()), "--timeout", "10")) {
            try (OutputStream stdin = run.process().getOutputStream()) {
                stdin.write("piped line\n".getBytes(StandardCharsets.UTF_8));
            }
            assertThat(run.exitCode(Duration.ofSeconds(20))).as(run.output()).isZero();
            assertThat(run.stdout().lines()).contains("piped line");
        }
    }

    @Test
    void aBadTimeoutIsAUsageError() throws Exception {
        try (LessonRun run = LessonRun.start("EchoClient", "--timeout", "soon")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(2);
            assertThat(run.stderr()).contains("--timeout needs a whole number from 0 to 86400, not 'soon'").contains("Usage:");
        }
    }
}
