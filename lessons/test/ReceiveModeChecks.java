import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;

/// What every echo server of lessons 06–08 (active, active once, non-blocking) must do whatever
/// its receive mode: written once, called from each lesson's test.
final class ReceiveModeChecks {
    static final Duration LIMIT = Duration.ofSeconds(20);

    private ReceiveModeChecks() {
    }

    static void echoesEachLineAndClosesAtEndOfStream(int port) throws IOException {
        try (var client = new LineClient(port)) {
            assertThat(client.ask("hello")).isEqualTo("hello");
            assertThat(client.ask("second line")).isEqualTo("second line");
            client.shutdownOutput();
            assertThat(client.readLine()).as("the server closes after our end of stream").isNull();
        }
    }

    /// The lines before an oversize one are echoed, then the error line, then the close; another
    /// client is served before and after.
    static void refusesAnOversizeLineAndKeepsServingOthers(int port, int maxLine) throws IOException {
        try (var bystander = new LineClient(port); var offender = new LineClient(port)) {
            assertThat(bystander.ask("before")).isEqualTo("before");
            offender.sendLine("fine");
            offender.send("x".repeat(maxLine + 1000));
            assertThat(offender.readLine()).as("lines before the bad one are still echoed").isEqualTo("fine");
            assertThat(offender.readLine()).startsWith("ERROR").contains("longer than " + maxLine + " bytes");
            assertThat(offender.readLine()).as("closed after the error").isNull();
            assertThat(bystander.ask("after")).isEqualTo("after");
        }
    }

    static void survivesAClientThatResetsMidLine(int port, IntSupplier openConnections) throws IOException {
        try (var bystander = new LineClient(port)) {
            await().atMost(LIMIT).until(() -> openConnections.getAsInt() == 1);
            var vanishing = new LineClient(port);
            await().atMost(LIMIT).until(() -> openConnections.getAsInt() == 2);
            vanishing.send("half a li");
            vanishing.reset();
            await().atMost(LIMIT).until(() -> openConnections.getAsInt() == 1);
            assertThat(bystander.ask("still here")).isEqualTo("still here");
        }
    }

    static void mainPrintsThePortItGotAndEchoes(String mainClass, String... moreArgs) throws Exception {
        List<String> args = new ArrayList<>(List.of("--port", "0"));
        args.addAll(List.of(moreArgs));
        try (LessonRun run = LessonRun.start(mainClass, args.toArray(String[]::new))) {
            int port = run.awaitListeningPort();
            try (var client = new LineClient(port)) {
                assertThat(client.ask("through main")).isEqualTo("through main");
            }
        }
    }

    static void aPortInUseIsExplainedInOneLine(String mainClass) throws Exception {
        try (var taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (LessonRun run = LessonRun.start(mainClass, "--port", String.valueOf(taken.getLocalPort()))) {
                assertThat(run.exitCode(LIMIT)).isEqualTo(1);
                assertThat(run.stderr().strip().lines()).hasSize(1);
                assertThat(run.stderr()).contains("already in use").contains("--port 0");
            }
        }
    }
}
