import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ActiveEchoTest {
    static final Duration LIMIT = Duration.ofSeconds(20);

    ActiveEcho.Server server;

    @BeforeEach
    void start() throws IOException {
        server = ActiveEcho.start(0);
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    ActiveEcho.Connection onlyConnection() {
        await().atMost(LIMIT).until(() -> server.connections().size() == 1);
        return server.connections().iterator().next();
    }

    @Test
    void echoesEachLineAndClosesAtEndOfStream() throws IOException {
        try (var client = new LineClient(server.port())) {
            assertThat(client.ask("hello")).isEqualTo("hello");
            assertThat(client.ask("second line")).isEqualTo("second line");
            client.shutdownOutput();
            assertThat(client.readLine()).as("the owner closes after the Closed message").isNull();
        }
    }

    @Test
    @Timeout(60)
    void withThePausedOwnerTheMailboxGrowsAndTheSenderIsNeverBlocked() throws Exception {
        server.pauseOwners();
        int lines = 20_000;
        try (var sender = new FloodingSender(server.port(), lines, 16 * 1024)) {
            ActiveEcho.Connection connection = onlyConnection();
            // The owner takes nothing, yet every write completes: the reader empties the kernel's
            // buffers into the mailbox as fast as the bytes come.
            sender.finished().get(LIMIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(sender.written()).isEqualTo(sender.total());
            await().atMost(LIMIT).until(() -> connection.mailboxDepth() == lines);
            assertThat(connection.mailboxHighWater()).isEqualTo(lines);

            server.resumeOwners();
            sender.expectAllEchoedInOrder();
            await().atMost(LIMIT).until(() -> connection.mailboxDepth() == 0);
        }
    }

    @Test
    void aRunningOwnerKeepsTheMailboxShort() throws IOException {
        try (var client = new LineClient(server.port())) {
            for (int i = 0; i < 50; i++) assertThat(client.ask("ping " + i)).isEqualTo("ping " + i);
            assertThat(onlyConnection().mailboxHighWater())
                    .as("one line at a time, each answered before the next: one message waits at most")
                    .isEqualTo(1);
        }
    }

    @Test
    void refusesAnOversizeLineAndKeepsServingOthers() throws IOException {
        try (var bystander = new LineClient(server.port()); var offender = new LineClient(server.port())) {
            assertThat(bystander.ask("before")).isEqualTo("before");
            offender.sendLine("fine");
            offender.send("x".repeat(ActiveEcho.MAX_LINE + 1000));
            assertThat(offender.readLine()).as("lines before the bad one are still echoed").isEqualTo("fine");
            assertThat(offender.readLine()).startsWith("ERROR").contains("longer than 8192 bytes");
            assertThat(offender.readLine()).as("closed after the error").isNull();
            assertThat(bystander.ask("after")).isEqualTo("after");
        }
    }

    @Test
    void survivesAClientThatResetsMidLine() throws IOException {
        try (var bystander = new LineClient(server.port())) {
            await().atMost(LIMIT).until(() -> server.connections().size() == 1);
            var vanishing = new LineClient(server.port());
            await().atMost(LIMIT).until(() -> server.connections().size() == 2);
            vanishing.send("half a li");
            vanishing.reset();
            await().atMost(LIMIT).until(() -> server.connections().size() == 1);
            assertThat(bystander.ask("still here")).isEqualTo("still here");
        }
    }

    @Test
    void closeEndsPausedOwnersAndTheirConnections() throws IOException {
        server.pauseOwners();
        var client = new LineClient(server.port());
        client.sendLine("never echoed");
        ActiveEcho.Connection connection = onlyConnection();
        await().atMost(LIMIT).until(() -> connection.mailboxDepth() == 1);
        server.close();
        assertThat(client.readLine()).as("the connection is closed, the line never echoed").isNull();
        client.close();
        await().atMost(LIMIT).until(() -> !connection.owner.isAlive() && !connection.reader.isAlive());
        await().atMost(LIMIT).until(() -> !server.acceptor().isAlive());
        assertThat(server.connections()).isEmpty();
    }

    @Test
    void theDemoShowsTheMailboxGrowingThenEverythingComingBack() throws Exception {
        try (LessonRun run = LessonRun.start("ActiveEcho", "--port", "0", "--demo")) {
            assertThat(run.exitCode(Duration.ofSeconds(50))).as(run.output()).isZero();
            assertThat(run.stdout()).contains("mailbox 100,000 messages")
                    .contains("all 100,000 lines came back, in order");
        }
    }

    @Test
    void mainPrintsThePortItGotAndEchoes() throws Exception {
        try (LessonRun run = LessonRun.start("ActiveEcho", "--port", "0")) {
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
            try (LessonRun run = LessonRun.start("ActiveEcho", "--port", String.valueOf(taken.getLocalPort()))) {
                assertThat(run.exitCode(LIMIT)).isEqualTo(1);
                assertThat(run.stderr().strip().lines()).hasSize(1);
                assertThat(run.stderr()).contains("already in use").contains("--port 0");
            }
        }
    }
}
