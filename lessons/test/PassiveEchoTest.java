import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PassiveEchoTest {
    PassiveEcho.Server server;

    @BeforeEach
    void start() throws IOException {
        server = PassiveEcho.start(0);
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    @Test
    void echoesEachLineAndClosesAtEndOfStream() throws IOException {
        try (var client = new LineClient(server.port())) {
            assertThat(client.ask("hello")).isEqualTo("hello");
            assertThat(client.ask("second line")).isEqualTo("second line");
            client.shutdownOutput();
            assertThat(client.readLine()).as("the server closes after our end of stream").isNull();
        }
    }

    @Test
    void servesSeveralClientsAtOnce() throws IOException {
        List<LineClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) clients.add(new LineClient(server.port()));
            // Every client is connected while the others talk: none waits for another to leave.
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < clients.size(); i++) {
                    assertThat(clients.get(i).ask("client " + i + " round " + round))
                            .isEqualTo("client " + i + " round " + round);
                }
            }
        } finally {
            for (LineClient c : clients) c.close();
        }
    }

    @Test
    void putsALineSentInPiecesBackTogether() throws IOException {
        try (var client = new LineClient(server.port())) {
            for (char c : "one byte at a time".toCharArray()) client.send(String.valueOf(c));
            client.send("\n");
            assertThat(client.readLine()).isEqualTo("one byte at a time");
        }
    }

    @Test
    void aLastLineWithoutNewlineIsEchoedAfterHalfClose() throws IOException {
        try (var client = new LineClient(server.port())) {
            client.send("no newline");
            client.shutdownOutput();       // we can still read after closing our sending side
            assertThat(client.readLine()).isEqualTo("no newline");
            assertThat(client.readLine()).isNull();
        }
    }

    @Test
    void refusesAnOversizeLineAndKeepsServingOthers() throws IOException {
        try (var bystander = new LineClient(server.port()); var offender = new LineClient(server.port())) {
            assertThat(bystander.ask("before")).isEqualTo("before");
            offender.send("x".repeat(PassiveEcho.MAX_LINE + 1000));
            assertThat(offender.readLine()).startsWith("ERROR").contains("longer than 8192 bytes");
            assertThat(offender.readLine()).as("closed after the error").isNull();
            assertThat(bystander.ask("after")).isEqualTo("after");
        }
    }

    @Test
    void aLineOfExactlyTheMaximumIsAccepted() throws IOException {
        try (var client = new LineClient(server.port())) {
            String longest = "y".repeat(PassiveEcho.MAX_LINE);
            assertThat(client.ask(longest)).isEqualTo(longest);
        }
    }

    @Test
    void survivesAClientThatResetsMidLine() throws IOException {
        try (var bystander = new LineClient(server.port())) {
            var vanishing = new LineClient(server.port());
            await().atMost(Duration.ofSeconds(5)).until(() -> server.connections().size() == 2);
            vanishing.send("half a li");
            vanishing.reset();
            await().atMost(Duration.ofSeconds(5)).until(() -> server.connections().size() == 1);
            assertThat(bystander.ask("still here")).isEqualTo("still here");
        }
    }

    @Test
    void readLineReturnsNullOnlyAtEndOfStream() throws IOException {
        var in = new ByteArrayInputStream("a\r\nb\n\nlast".getBytes(StandardCharsets.UTF_8));
        assertThat(PassiveEcho.readLine(in, 10)).isEqualTo("a");
        assertThat(PassiveEcho.readLine(in, 10)).isEqualTo("b");
        assertThat(PassiveEcho.readLine(in, 10)).isEmpty();
        assertThat(PassiveEcho.readLine(in, 10)).isEqualTo("last");
        assertThat(PassiveEcho.readLine(in, 10)).isNull();
    }

    @Test
    void readLineStopsReadingAtTheLimit() {
        var in = new ByteArrayInputStream("0123456789ABCDEF\n".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> PassiveEcho.readLine(in, 10))
                .isInstanceOf(PassiveEcho.LineTooLongException.class);
        assertThat(in.available()).as("it read one byte past the limit and no more").isEqualTo(6);
    }

    @Test
    void aWriteThatFailsClosesTheConnectionAndForgetsIt() throws IOException {
        // A broken pipe halfway through a reply is hard to produce with a real socket on cue.
        Socket socket = mock(Socket.class);
        when(socket.getInputStream()).thenReturn(new ByteArrayInputStream("hello\n".getBytes(StandardCharsets.UTF_8)));
        OutputStream brokenPipe = mock(OutputStream.class);
        doThrow(new SocketException("Broken pipe")).when(brokenPipe).write(any(byte[].class));
        when(socket.getOutputStream()).thenReturn(brokenPipe);
        Set<Socket> connections = ConcurrentHashMap.newKeySet();
        connections.add(socket);

        PassiveEcho.serve(socket, connections, PassiveEcho.Mode.LINES);

        verify(socket).close();
        assertThat(connections).isEmpty();
    }

    @Test
    void closeStopsListeningAndEndsEveryConnection() throws IOException {
        int port = server.port();
        var client = new LineClient(port);
        assertThat(client.ask("hi")).isEqualTo("hi");
        server.close();
        assertThat(client.readLine()).as("our connection is closed by the server").isNull();
        client.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> !server.acceptor().isAlive());
        assertThat(server.connections()).isEmpty();
        assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
                .isInstanceOf(ConnectException.class);
    }

    @Test
    void listensWithTheBacklogItStates() throws Exception {
        assertThat(Listeners.backlog(server.port())).isEqualTo(Math.min(PassiveEcho.BACKLOG, Listeners.somaxconn()));
    }

    @Test
    void inBytesModeAMessageWithoutNewlineComesBack() throws IOException {
        try (var bytes = PassiveEcho.start(0, PassiveEcho.Mode.BYTES);
             var socket = new Socket(InetAddress.getLoopbackAddress(), bytes.port())) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write("Hello, world".getBytes(StandardCharsets.UTF_8));
            byte[] echoed = socket.getInputStream().readNBytes("Hello, world".length());
            assertThat(new String(echoed, StandardCharsets.UTF_8)).isEqualTo("Hello, world");
        }
    }

    @Test
    void theLineServerWaitsForTheNewlineThatAMessageWithoutOneNeverSends() throws IOException {
        try (var socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            socket.setSoTimeout(1_500);
            socket.getOutputStream().write("Hello, world".getBytes(StandardCharsets.UTF_8));
            assertThatThrownBy(() -> socket.getInputStream().read())
                    .as("no reply: the line is not finished").isInstanceOf(java.net.SocketTimeoutException.class);
            socket.getOutputStream().write('\n');
            socket.setSoTimeout(5_000);
            byte[] echoed = socket.getInputStream().readNBytes("Hello, world\n".length());
            assertThat(new String(echoed, StandardCharsets.UTF_8)).as("the newline finishes it").isEqualTo("Hello, world\n");
        }
    }

    @Test
    void mainPrintsThePortItGotAndEchoes() throws Exception {
        try (LessonRun run = LessonRun.start("PassiveEcho", "--port", "0")) {
            int port = run.awaitListeningPort();
            try (var client = new LineClient(port)) {
                assertThat(client.ask("through main")).isEqualTo("through main");
            }
        }
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            LessonRun.assertExplainsPortInUse("PassiveEcho", taken.getLocalPort());
        }
    }

    @Test
    void aBadPortIsAUsageError() throws Exception {
        try (LessonRun run = LessonRun.start("PassiveEcho", "--port", "70000")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(2);
            assertThat(run.stderr()).contains("0 to 65535").contains("Usage:");
        }
    }
}
