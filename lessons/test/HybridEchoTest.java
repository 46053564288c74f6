import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class HybridEchoTest {
    static final Duration LIMIT = Duration.ofSeconds(20);

    HybridEcho.Server server;

    @BeforeEach
    void start() throws IOException {
        server = HybridEcho.start(0);
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    HybridEcho.Connection onlyConnection() {
        await().atMost(LIMIT).until(() -> server.connections().size() == 1);
        return server.connections().iterator().next();
    }

    @Test
    void echoesEachLineAndClosesAtEndOfStream() throws IOException {
        ReceiveModeChecks.echoesEachLineAndClosesAtEndOfStream(server.port());
    }

    @Test
    @Timeout(60)
    void withThePausedOwnerTheSenderStallsAndTheMailboxHoldsOneMessage() throws Exception {
        server.pauseOwners();
        int lines = 10_000;
        try (var sender = new FloodingSender(server.port(), lines, 16 * 1024)) {
            HybridEcho.Connection connection = onlyConnection();
            sender.awaitStalled(Duration.ofMillis(500), LIMIT);

            long stalledAt = sender.written();
            assertThat(stalledAt).as("the sender is stuck with most of its 1 MB still to write")
                    .isLessThan(sender.total() / 4);
            assertThat(sender.finished()).isNotDone();
            assertThat(connection.mailboxDepth()).isEqualTo(1);
            assertThat(connection.mailboxHighWater()).as("never more than one message").isEqualTo(1);
            assertThat(connection.readerState()).as("the reader waits for the owner's re-arm")
                    .isEqualTo(HybridEcho.ReaderState.DISARMED);

            server.resumeOwners();
            sender.expectAllEchoedInOrder();
            sender.finished().get(LIMIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(connection.mailboxHighWater()).as("still never more than one").isEqualTo(1);
        }
    }

    @Test
    void theReaderIsArmedOnlyWhileTheOwnerWaitsForAMessage() throws IOException {
        server.pauseOwners();
        try (var client = new LineClient(server.port())) {
            HybridEcho.Connection connection = onlyConnection();
            await().atMost(LIMIT).until(() -> connection.readerState() == HybridEcho.ReaderState.READING);
            client.sendLine("one");
            client.sendLine("two");
            await().atMost(LIMIT).until(() -> connection.readerState() == HybridEcho.ReaderState.DISARMED);
            assertThat(connection.mailboxDepth()).as("\"one\" delivered, \"two\" not yet").isEqualTo(1);
            assertThat(client.staysSilentFor(Duration.ofMillis(300))).isTrue();
            server.resumeOwners();
            assertThat(client.readLine()).isEqualTo("one");
            assertThat(client.readLine()).isEqualTo("two");
        }
    }

    @Test
    void refusesAnOversizeLineAndKeepsServingOthers() throws IOException {
        ReceiveModeChecks.refusesAnOversizeLineAndKeepsServingOthers(server.port(), HybridEcho.MAX_LINE);
    }

    @Test
    void survivesAClientThatResetsMidLine() throws IOException {
        ReceiveModeChecks.survivesAClientThatResetsMidLine(server.port(), () -> server.connections().size());
    }

    @Test
    void closeEndsPausedOwnersAndWaitingReaders() throws IOException {
        server.pauseOwners();
        var client = new LineClient(server.port());
        client.sendLine("never echoed");
        HybridEcho.Connection connection = onlyConnection();
        await().atMost(LIMIT).until(() -> connection.readerState() == HybridEcho.ReaderState.DISARMED);
        server.close();
        assertThat(client.readLine()).as("the connection is closed, the line never echoed").isNull();
        client.close();
        await().atMost(LIMIT).until(() -> !connection.owner.isAlive() && !connection.reader.isAlive());
        assertThat(connection.readerState()).isEqualTo(HybridEcho.ReaderState.DONE);
        await().atMost(LIMIT).until(() -> !server.acceptor().isAlive());
        assertThat(server.connections()).isEmpty();
    }

    @Test
    void pausedFromTheCommandLineTheOwnerEchoesNothingUntilEnter() throws Exception {
        try (LessonRun run = LessonRun.start("HybridEcho", "--port", "0", "--paused");
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
        assertThat(Listeners.backlog(server.port())).isEqualTo(Math.min(HybridEcho.BACKLOG, Listeners.somaxconn()));
    }

    @Test
    void mainPrintsThePortItGotAndEchoes() throws Exception {
        ReceiveModeChecks.mainPrintsThePortItGotAndEchoes("HybridEcho");
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        ReceiveModeChecks.aPortInUseIsExplainedInOneLine("HybridEcho");
    }
}
