import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
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
        ReceiveModeChecks.echoesEachLineAndClosesAtEndOfStream(server.port());
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
            assertThat(connection.highWater).isEqualTo(lines);

            server.resumeOwners();
            sender.expectAllEchoedInOrder();
            await().atMost(LIMIT).until(() -> connection.mailboxDepth() == 0);
        }
    }

    @Test
    void aRunningOwnerKeepsTheMailboxShort() throws IOException {
        try (var client = new LineClient(server.port())) {
            for (int i = 0; i < 50; i++) assertThat(client.ask("ping " + i)).isEqualTo("ping " + i);
            assertThat(onlyConnection().highWater)
                    .as("one line at a time, each answered before the next: one message waits at most")
                    .isEqualTo(1);
        }
    }

    @Test
    void refusesAnOversizeLineAndKeepsServingOthers() throws IOException {
        ReceiveModeChecks.refusesAnOversizeLineAndKeepsServingOthers(server.port(), ActiveEcho.MAX_LINE);
    }

    @Test
    void survivesAClientThatResetsMidLine() throws IOException {
        ReceiveModeChecks.survivesAClientThatResetsMidLine(server.port(), () -> server.connections().size());
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
    void pausedFromTheCommandLineTheOwnerEchoesNothingUntilEnter() throws Exception {
        try (LessonRun run = LessonRun.start("ActiveEcho", "--port", "0", "--paused");
             var client = new LineClient(run.awaitListeningPort())) {
            client.sendLine("held back");
            assertThat(client.staysSilentFor(Duration.ofMillis(500))).as("the owner takes nothing").isTrue();
            run.process().getOutputStream().write('\n');
            run.process().getOutputStream().flush();
            assertThat(client.readLine()).isEqualTo("held back");
        }
    }

    @Test
    void listensWithTheBacklogItStates() throws Exception {
        assertThat(Listeners.backlog(server.port())).isEqualTo(Math.min(ActiveEcho.BACKLOG, Listeners.somaxconn()));
    }

    @Test
    void mainPrintsThePortItGotAndEchoes() throws Exception {
        ReceiveModeChecks.mainPrintsThePortItGotAndEchoes("ActiveEcho");
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        ReceiveModeChecks.aPortInUseIsExplainedInOneLine("ActiveEcho");
    }
}
