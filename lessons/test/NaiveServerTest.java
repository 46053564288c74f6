import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class NaiveServerTest {
    static final Duration QUIET = Duration.ofMillis(500);
    static final Duration PROMPTLY = Duration.ofSeconds(5);

    NaiveServer.Server server;
    final List<LineClient> clients = new ArrayList<>();
    final List<Socket> queued = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = NaiveServer.start(0);
    }

    @AfterEach
    void stop() throws IOException {
        for (LineClient c : clients) c.close();
        for (Socket s : queued) s.close();
        server.close();
    }

    LineClient connect() throws IOException {
        var client = new LineClient(server.port());
        clients.add(client);
        return client;
    }

    @Test
    void answersEachLineWithEcho() throws IOException {
        try (var client = new LineClient(server.port())) {
            assertThat(client.ask("hello")).isEqualTo("ECHO hello");
            assertThat(client.ask("")).isEqualTo("ECHO ");
            client.shutdownOutput();
            assertThat(client.readLine()).as("the server closes after our end of stream").isNull();
        }
    }

    @Test
    void theSecondClientIsAnsweredOnlyAfterTheFirstLeaves() throws IOException {
        var first = connect();
        try (var second = new LineClient(server.port(), PROMPTLY)) {
            assertThat(first.ask("one")).isEqualTo("ECHO one");
            // The kernel completed the second handshake (the constructor's connect returned), but the
            // server's only thread is reading from the first client: nobody reads the second's line.
            second.sendLine("two");
            assertThat(second.staysSilentFor(QUIET)).as("no reply while the first client is connected").isTrue();
            assertThat(first.ask("still mine")).isEqualTo("ECHO still mine");

            first.close();
            assertThat(second.readLine()).as("answered once the first has left").isEqualTo("ECHO two");
            assertThat(second.ask("three")).isEqualTo("ECHO three");
        }
    }

    @Test
    void theWaitingClientIsTheOneTheServerHoldsNext() throws IOException {
        var first = connect();
        assertThat(first.ask("a")).isEqualTo("ECHO a");
        var served = server.current().get();
        var second = connect();
        second.sendLine("b");
        assertThat(second.staysSilentFor(QUIET)).isTrue();
        assertThat(server.current().get()).as("still serving the first").isSameAs(served);
        first.close();
        assertThat(second.readLine()).isEqualTo("ECHO b");
        assertThat(server.current().get().getPort()).isEqualTo(second.socket().getLocalPort());
    }

    @Test
    void refusesAnOversizeLineAndThenServesTheNextClient() throws IOException {
        try (var offender = new LineClient(server.port())) {
            offender.send("x".repeat(NaiveServer.MAX_LINE + 1000));
            assertThat(offender.readLine()).startsWith("ERROR").contains("longer than 8192 bytes");
            assertThat(offender.readLine()).as("closed after the error").isNull();
        }
        try (var next = new LineClient(server.port())) {
            assertThat(next.ask("after")).isEqualTo("ECHO after");
        }
    }

    @Test
    void aClientThatResetsDoesNotStopTheServer() throws IOException {
        var vanishing = new LineClient(server.port());
        vanishing.send("half a li");
        await().atMost(PROMPTLY).until(() -> server.current().get() != null);
        vanishing.reset();
        try (var next = new LineClient(server.port())) {
            assertThat(next.ask("still here")).isEqualTo("ECHO still here");
        }
    }

    @Test
    void closeEndsTheClientBeingServedAndTheThread() throws IOException {
        var client = new LineClient(server.port());
        assertThat(client.ask("hi")).isEqualTo("ECHO hi");
        server.close();
        assertThat(client.readLine()).isNull();
        client.close();
        await().atMost(PROMPTLY).until(() -> !server.thread().isAlive());
    }

    @Test
    void listensWithTheBacklogItStates() throws Exception {
        assertThat(Listeners.backlog(server.port())).isEqualTo(Math.min(NaiveServer.BACKLOG, Listeners.somaxconn()));
    }

    /// While one client is served, the queue fills: Linux keeps backlog + 1 finished handshakes.
    /// The next client is not refused: its SYN is dropped, and its connect only times out.
    @Test
    void aFullAcceptQueueMakesTheNextConnectTimeOutNotFail() throws Exception {
        assertThat(connect().ask("busy")).isEqualTo("ECHO busy");
        for (int i = 0; i < NaiveServer.BACKLOG + 1; i++) {
            var waiting = new Socket();
            queued.add(waiting);
            waiting.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()), 5_000);
        }
        try (var late = new Socket()) {
            assertThatThrownBy(() -> late.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()), 1_500))
                    .as("no answer at all to the SYN, so no refusal either").isInstanceOf(SocketTimeoutException.class);
        }
        // A refusal is what a port with no listener gives, at once.
        int closed;
        try (var probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = probe.getLocalPort();
        }
        try (var refused = new Socket()) {
            assertThatThrownBy(() -> refused.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), closed), 5_000))
                    .isInstanceOf(ConnectException.class).hasMessageContaining("refused");
        }
    }

    @Test
    void mainPrintsThePortItGotAndEchoes() throws Exception {
        try (LessonRun run = LessonRun.start("NaiveServer", "--port", "0")) {
            int port = run.awaitListeningPort();
            try (var client = new LineClient(port)) {
                assertThat(client.ask("through main")).isEqualTo("ECHO through main");
            }
        }
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            LessonRun.assertExplainsPortInUse("NaiveServer", taken.getLocalPort());
        }
    }
}
