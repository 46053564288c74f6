import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;

@Isolated
class DaemonTest {
    static final Path UNIT = Path.of("lessons", "18_Daemon.service");
    static final Path SOCKET_UNIT = Path.of("lessons", "18_Daemon.socket");
    static final int LINES_IN_FLIGHT = 25;

    /// The exit statuses systemd counts as a clean stop for our unit: 0, and any SuccessExitStatus=.
    static Set<Integer> successStatuses() throws IOException {
        Set<Integer> statuses = new HashSet<>(Set.of(0));
        for (String line : Files.readAllLines(UNIT)) {
            if (line.startsWith("SuccessExitStatus=")) {
                for (String status : line.substring(line.indexOf('=') + 1).trim().split("\\s+")) {
                    statuses.add(Integer.parseInt(status));
                }
            }
        }
        return statuses;
    }

    /// Connects `count` clients and makes sure each is being served: each gets one answer.
    static List<LineClient> servedClients(int port, int count) throws IOException {
        List<LineClient> clients = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            var client = new LineClient(port);
            clients.add(client);
            assertThat(client.ask("hello " + i)).isEqualTo("hello " + i);
        }
        return clients;
    }

    /// Each client sends its lines without waiting for answers; then the process gets SIGTERM.
    static void sigtermWithLinesInFlight(LessonRun run, List<LineClient> clients) throws Exception {
        for (int i = 0; i < clients.size(); i++) {
            for (int n = 0; n < LINES_IN_FLIGHT; n++) clients.get(i).sendLine("client " + i + " line " + n);
        }
        run.process().destroy();                  // SIGTERM on Linux
        long signalled = System.nanoTime();
        int status = run.exitCode(Duration.ofSeconds(5));   // fails the test if it takes longer
        assertThat(status).as("the daemon's own choice, after draining").isZero();
        assertThat(status).as("which the unit counts as success").isIn(successStatuses());
        assertThat(Duration.ofNanos(System.nanoTime() - signalled)).isLessThan(Duration.ofSeconds(5));
        for (int i = 0; i < clients.size(); i++) {
            LineClient client = clients.get(i);
            for (int n = 0; n < LINES_IN_FLIGHT; n++) {
                assertThat(client.readLine()).as("answered after the signal").isEqualTo("client " + i + " line " + n);
            }
            assertThat(client.readLine()).isEqualTo(Daemon.GOODBYE);
            assertThat(client.readLine()).as("then the server closes").isNull();
            client.close();
        }
    }

    @Test
    @Timeout(40)
    void onSigtermEveryClientIsAnsweredThenToldGoodbyeAndTheProcessExitsWithSuccess() throws Exception {
        try (LessonRun run = LessonRun.start("Daemon", "--port", "0")) {
            int port = run.awaitListeningPort();
            sigtermWithLinesInFlight(run, servedClients(port, 3));
            assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
                    .isInstanceOf(ConnectException.class);
        }
    }

    @Test
    void logsOneLinePerEventWithoutColoursWhenNotOnATerminal() throws Exception {
        var captured = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try (Daemon.Server server = Daemon.start(0)) {
            try (var client = new LineClient(server.port())) {
                for (int n = 0; n < LINES_IN_FLIGHT; n++) assertThat(client.ask("line " + n)).isEqualTo("line " + n);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> captured.toString(StandardCharsets.UTF_8)
                    .contains("closed the connection; lines answered: " + LINES_IN_FLIGHT));
        } finally {
            System.setOut(stdout);
        }
        List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).as("one line when it came, one when it left").hasSize(2)
                .allMatch(line -> line.matches("\\d\\d:\\d\\d:\\d\\d INFO \\[[^\\]]+\\] .+"));
        assertThat(captured.toString(StandardCharsets.UTF_8)).doesNotContain("\u001b[");
    }

    @Test
    @Timeout(40)
    void underSystemdEachLineCarriesAJournalPriorityAndNoTimestamp() throws Exception {
        List<String> command = List.of(LessonRun.java(), "-cp", System.getProperty("java.class.path"),
                "Daemon", "--port", "0");
        try (LessonRun run = LessonRun.startCommand(command, Map.of("JOURNAL_STREAM", "8:12345"))) {
            Matcher listening = run.awaitLine(Pattern.compile("^<6>listening on [^ ]*:(\\d+)"), Duration.ofSeconds(20));
            try (var client = new LineClient(Integer.parseInt(listening.group(1)))) {
                assertThat(client.ask("hello, journal")).isEqualTo("hello, journal");
                run.awaitLine(Pattern.compile("connection from"), Duration.ofSeconds(10));
            }
            run.awaitLine(Pattern.compile("closed the connection"), Duration.ofSeconds(10));
            run.process().destroy();
            assertThat(run.exitCode(Duration.ofSeconds(5))).isZero();
            assertThat(run.stdout().lines().toList()).hasSizeGreaterThanOrEqualTo(3)
                    .allMatch(line -> line.matches("<[46]>[^\\d].*"));
        }
    }

    @Test
    void drainStopsAcceptingAndAnswersWhatWasSent() throws Exception {
        try (Daemon.Server server = Daemon.start(0); var client = new LineClient(server.port())) {
            assertThat(client.ask("first")).isEqualTo("first");
            client.sendLine("sent before the stop");
            assertThat(server.drain(Duration.ofSeconds(3))).as("every connection finished by itself").isTrue();
            assertThat(client.readLine()).isEqualTo("sent before the stop");
            assertThat(client.readLine()).isEqualTo(Daemon.GOODBYE);
            assertThat(client.readLine()).isNull();
            assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), server.port()).close())
                    .isInstanceOf(ConnectException.class);
        }
    }

    @Test
    @Timeout(30)
    void withASocketFromSystemdTheDrainLeavesItOpenAndANewClientWaitsForTheNextStart() throws Exception {
        // The test plays systemd: it opens the listening socket, keeps it, and starts the daemon on it.
        try (var systemdSocket = new ServerSocket(0, Daemon.BACKLOG, InetAddress.getLoopbackAddress())) {
            Daemon.Server first = Daemon.start(systemdSocket, false);
            try (var client = new LineClient(systemdSocket.getLocalPort())) {
                assertThat(client.ask("to the first start")).isEqualTo("to the first start");
                assertThat(first.drain(Duration.ofSeconds(3))).isTrue();
                assertThat(client.readLine()).isEqualTo(Daemon.GOODBYE);
            }
            assertThat(first.acceptor().isAlive()).as("the stopped daemon accepts no more").isFalse();
            assertThat(systemdSocket.isClosed()).as("the socket is systemd's, not the daemon's").isFalse();
            // Not refused: the kernel completes the handshake and queues the client in the backlog.
            try (var late = new LineClient(systemdSocket.getLocalPort())) {
                late.sendLine("sent while no daemon runs");
                try (Daemon.Server next = Daemon.start(systemdSocket, false)) {
                    assertThat(next.port()).isEqualTo(systemdSocket.getLocalPort());
                    assertThat(late.readLine()).as("answered by the next start").isEqualTo("sent while no daemon runs");
                }
            }
        }
    }

    /// A small stand-in for systemd: it opens a listening socket, starts the command with that socket
    /// as stdin (StandardInput=socket) and its own stdout for the log, keeps the socket after the
    /// command ends, and reports the command's pid and exit status.
    static final String SOCKET_KEEPER = """
            import os, socket, sys
            s = socket.socket()
            s.bind(('127.0.0.1', 0))
            s.listen(1024)
            print('socket', s.getsockname()[1], flush=True)
            pid = os.fork()
            if pid == 0:
                os.dup2(s.fileno(), 0)
                os.execvp(sys.argv[1], sys.argv[1:])
            print('service', pid, flush=True)
            print('service exited', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
            sys.stdin.read()
            """;

    @Test
    @Timeout(60)
    void underSocketActivationTheStopIsLoggedAndTheSocketOutlivesTheService() throws Exception {
        assumeTrue(onPath("python3"), "python3 is installed");
        List<String> command = List.of("python3", "-c", SOCKET_KEEPER, LessonRun.java(), "-cp",
                System.getProperty("java.class.path"), "Daemon");
        long service = -1;
        try (LessonRun run = LessonRun.startCommand(command, Map.of())) {
            int port = Integer.parseInt(run.awaitLine(Pattern.compile("^socket (\\d+)"), Duration.ofSeconds(10)).group(1));
            service = Long.parseLong(run.awaitLine(Pattern.compile("^service (\\d+)"), Duration.ofSeconds(10)).group(1));
            run.awaitLine(Pattern.compile("listening on .*:" + port + " \\(a socket passed by systemd\\)"),
                    Duration.ofSeconds(20));
            try (var client = new LineClient(port)) {
                assertThat(client.ask("served on the inherited socket")).isEqualTo("served on the inherited socket");
                client.sendLine("in flight");
                ProcessHandle.of(service).orElseThrow().destroy();             // SIGTERM
                assertThat(client.readLine()).isEqualTo("in flight");
                assertThat(client.readLine()).isEqualTo(Daemon.GOODBYE);
                assertThat(client.readLine()).isNull();
            }
            // The log still reaches stdout after the stop began (the journal, under systemd).
            run.awaitLine(Pattern.compile("said goodbye; lines answered: 2"), Duration.ofSeconds(10));
            run.awaitLine(Pattern.compile("stopped cleanly; exit status 0"), Duration.ofSeconds(10));
            assertThat(run.awaitLine(Pattern.compile("^service exited (-?\\d+)"), Duration.ofSeconds(10)).group(1))
                    .isEqualTo("0");
            // The service is gone, its socket is not: a new client is queued, not refused.
            try (var late = new Socket()) {
                late.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
            }
        } finally {
            if (service > 0) ProcessHandle.of(service).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    @Timeout(30)
    @SuppressWarnings("try")    // the client only has to be connected
    void aHandlerBlockedInReadCanBeWokenButWakingItDropsWhatTheClientAlreadySent() throws Exception {
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            // Another thread can wake a blocked read(): after shutdownInput() it returns end of stream.
            try (var client = new LineClient(listener.getLocalPort()); Socket handler = listener.accept()) {
                var read = new CompletableFuture<Integer>();
                Thread reader = Thread.ofVirtual().start(() -> {
                    try {
                        read.complete(handler.getInputStream().read());
                    } catch (IOException e) {
                        read.completeExceptionally(e);
                    }
                });
                await().atMost(Duration.ofSeconds(10)).until(() -> reader.getState() == Thread.State.WAITING);
                handler.shutdownInput();
                assertThat(read.get(10, TimeUnit.SECONDS)).isEqualTo(-1);
            }
            // But then a line the client sent before, still unread in the kernel, is never read.
            try (var client = new LineClient(listener.getLocalPort()); Socket handler = listener.accept()) {
                var in = handler.getInputStream();
                client.sendLine("sent before the stop");
                await().atMost(Duration.ofSeconds(10)).until(() -> in.available() > 0);
                handler.shutdownInput();
                assertThat(in.read()).as("end of stream, the line unread").isEqualTo(-1);
            }
        }
    }

    @Test
    void listensWithTheBacklogItStatesAndTheSocketUnitAsksForTheSame() throws Exception {
        try (Daemon.Server server = Daemon.start(0)) {
            assertThat(Listeners.backlog(server.port())).isEqualTo(Math.min(Daemon.BACKLOG, Listeners.somaxconn()));
        }
        assertThat(Files.readString(SOCKET_UNIT)).containsPattern("(?m)^Backlog=" + Daemon.BACKLOG + "$");
    }

    @Test
    @Timeout(30)
    void aClientThatNeverStopsTalkingIsCutOffAtTheLimit() throws Exception {
        try (Daemon.Server server = Daemon.start(0); var chatterbox = new LineClient(server.port())) {
            assertThat(chatterbox.ask("hi")).isEqualTo("hi");
            var talking = new AtomicBoolean(true);
            Thread talker = Thread.ofVirtual().start(() -> {
                try {
                    while (talking.get()) chatterbox.sendLine("more");
                } catch (IOException e) {
                    // Cut off: what the test expects.
                }
            });
            Thread listener = Thread.ofVirtual().start(() -> {
                try {
                    while (chatterbox.readLine() != null) { /* keep the echoes flowing */ }
                } catch (IOException e) {
                    // Cut off.
                }
            });
            long start = System.nanoTime();
            assertThat(server.drain(Duration.ofMillis(500))).as("it did not finish by itself").isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            listener.join(Duration.ofSeconds(10));
            assertThat(listener.isAlive()).as("the connection was closed").isFalse();
            talking.set(false);
            talker.join(Duration.ofSeconds(10));
        }
    }

    @Test
    void anOversizeLineIsRefusedAndOthersGoOn() throws Exception {
        try (Daemon.Server server = Daemon.start(0);
             var bystander = new LineClient(server.port()); var offender = new LineClient(server.port())) {
            assertThat(bystander.ask("before")).isEqualTo("before");
            offender.sendLine("x".repeat(Daemon.MAX_LINE + 1));
            assertThat(offender.readLine()).startsWith("ERROR line longer than 8192 bytes");
            assertThat(bystander.ask("after")).isEqualTo("after");
        }
    }

    @Test
    void theUnitIsHardenedAndGivesTheDaemonTimeToDrain() throws IOException {
        String unit = Files.readString(UNIT);
        assertThat(unit).contains("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict",
                "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n", "StandardInput=socket",
                "StandardOutput=journal");
        assertThat(unit).as("it breaks the JIT").doesNotContainPattern("(?m)^MemoryDenyWriteExecute=");
        Matcher timeout = Pattern.compile("(?m)^TimeoutStopSec=(\\d+)$").matcher(unit);
        assertThat(timeout.find()).isTrue();
        assertThat(Duration.ofSeconds(Long.parseLong(timeout.group(1)))).isGreaterThan(Daemon.DRAIN_LIMIT);
        assertThat(Files.readString(SOCKET_UNIT)).contains("ListenStream=127.0.0.1:1234", "Accept=no");
    }

    @Test
    void systemdRatesTheUnitsExposureAsLow() throws Exception {
        assumeTrue(onPath("systemd-analyze"), "systemd-analyze is installed");
        Process analyze = new ProcessBuilder("systemd-analyze", "security", "--offline=true", UNIT.getFileName().toString())
                .directory(UNIT.getParent().toFile()).redirectErrorStream(true).start();
        String report = new String(analyze.getInputStream().readAllBytes());
        assertThat(analyze.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Matcher score = Pattern.compile("Overall exposure level for 18_Daemon.service: (\\d+\\.\\d)").matcher(report);
        assertThat(score.find()).as(report).isTrue();
        assertThat(Double.parseDouble(score.group(1))).as("0 is best, 10 is worst").isLessThan(2.0);
    }

    @Test
    @Timeout(60)
    void socketActivationServesTheListeningSocketItIsGiven() throws Exception {
        assumeTrue(onPath("systemd-socket-activate"), "systemd-socket-activate is installed");
        int port;
        try (var probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();                 // free now; systemd-socket-activate takes it next
        }
        List<String> command = List.of("systemd-socket-activate", "--listen=127.0.0.1:" + port, "--inetd",
                LessonRun.java(), "-cp", System.getProperty("java.class.path"), "Daemon", "--port", "0");
        try (LessonRun run = LessonRun.startCommand(command, Map.of())) {
            // systemd-socket-activate listens first; the JVM starts when the first client connects.
            // (With --inetd, stdout is that socket too, so the daemon's log is lost here: the unit
            // sends it to the journal with StandardOutput=journal.)
            await().atMost(Duration.ofSeconds(20)).until(() -> canConnect(port));
            try (var first = new LineClient(port, Duration.ofSeconds(30))) {
                // Only the inherited socket listens on this port: without it the daemon would be on another.
                assertThat(first.ask("served through systemd's socket")).isEqualTo("served through systemd's socket");
                sigtermWithLinesInFlight(run, List.of(first));
            }
        }
    }

    static boolean canConnect(int port) {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, program))) return true;
        }
        return false;
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            LessonRun.assertExplainsPortInUse("Daemon", taken.getLocalPort());
        }
    }
}
