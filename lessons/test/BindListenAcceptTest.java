import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;

// Alone: its SYN-RECV step counts on the accept queue it fills, which other tests'
// connection storms on loopback have been seen to disturb.
@Isolated
class BindListenAcceptTest {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final int BACKLOG = 3;

    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeEverything() throws Exception {
        for (AutoCloseable c : toClose.reversed()) c.close();
    }

    <T extends AutoCloseable> T closeLater(T closeable) {
        toClose.add(closeable);
        return closeable;
    }

    ServerSocket listening(int backlog) throws IOException {
        ServerSocket listener = closeLater(BindListenAccept.create(true));
        BindListenAccept.bindAndListen(listener, 0, backlog);
        listener.setSoTimeout(5_000);
        return listener;
    }

    Socket connect(int port, Duration patience) throws IOException {
        Socket client = closeLater(new Socket());
        client.connect(new InetSocketAddress(LOOPBACK, port), (int) patience.toMillis());
        client.setSoTimeout(5_000);
        return client;
    }

    @Test
    void createGivesAnUnboundSocketAndBindClaimsTheAddress() throws IOException {
        try (ServerSocket socket = BindListenAccept.create(false)) {
            assertThat(socket.isBound()).isFalse();
            assertThat(socket.getReuseAddress()).isFalse();
            BindListenAccept.bindAndListen(socket, 0, BACKLOG);
            assertThat(socket.isBound()).isTrue();
            assertThat(socket.getInetAddress().isLoopbackAddress()).isTrue();
            assertThat(socket.getLocalPort()).isPositive();
        }
    }

    @Test
    void javaTurnsReuseAddressOnByDefault() throws IOException {
        assumeTrue(isLinux(), "the default differs between systems; this lesson states Linux's");
        try (var plain = new ServerSocket()) {
            assertThat(plain.getReuseAddress()).isTrue();
        }
    }

    /// Python's plain socket leaves SO_REUSEADDR off, as C does; socket.create_server() turns it on
    /// (on Linux), so a Python server made that way can restart next to TIME_WAIT as Java's can.
    @Test
    void pythonsCreateServerSetsReuseAddressAndAPlainSocketDoesNot() throws Exception {
        assumeTrue(isLinux(), "create_server sets it on POSIX systems only");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "python3 is installed");
        String script = """
                import socket
                server = socket.create_server(("127.0.0.1", 0))
                plain = socket.socket()
                print("create_server", server.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR),
                      "plain", plain.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR), flush=True)
                """;
        try (LessonRun python = LessonRun.startProcess(new ProcessBuilder("python3", "-c", script))) {
            python.awaitLine(Pattern.compile("^create_server 1 plain 0$"), Duration.ofSeconds(10));
        }
    }

    @Test
    void connectsCompleteWhileNobodyCallsAcceptAndAcceptReturnsThemInOrder() throws IOException {
        ServerSocket listener = listening(BACKLOG);
        List<Socket> clients = new ArrayList<>();
        // Linux queues one more than the backlog (its "queue full" test is "more than backlog").
        int queued = isLinux() ? BACKLOG + 1 : BACKLOG;
        for (int i = 0; i < queued; i++) {
            Socket client = connect(listener.getLocalPort(), Duration.ofSeconds(5));
            assertThat(client.isConnected()).isTrue();
            client.getOutputStream().write(("before accept " + i + "\n").getBytes(StandardCharsets.UTF_8));
            clients.add(client);
        }
        for (int i = 0; i < queued; i++) {
            try (Socket accepted = BindListenAccept.acceptOne(listener)) {
                assertThat(accepted.getPort()).as("accept returns the oldest connection first")
                        .isEqualTo(clients.get(i).getLocalPort());
                accepted.setSoTimeout(5_000);
                assertThat(BindListenAccept.readSome(accepted))
                        .as("bytes sent before accept waited in the kernel").isEqualTo("before accept " + i + "\n");
            }
        }
    }

    @Test
    void aFullAcceptQueueLeavesTheNextConnectWaiting() throws IOException {
        assumeTrue(isLinux(), "Linux drops the SYN when the accept queue is full; other systems may refuse");
        ServerSocket listener = listening(BACKLOG);
        for (int i = 0; i < BACKLOG + 1; i++) connect(listener.getLocalPort(), Duration.ofSeconds(5));
        // A quiet period: the queue is full, so this connect cannot complete unless the claim is false.
        assertThatThrownBy(() -> connect(listener.getLocalPort(), Duration.ofMillis(500)))
                .isInstanceOf(SocketTimeoutException.class);
        // Accepting one makes room: a new client gets in (its SYN is answered now).
        BindListenAccept.acceptOne(listener).close();
        assertThat(connect(listener.getLocalPort(), Duration.ofSeconds(5)).isConnected()).isTrue();
    }

    /// connect() returns when the client has the SYN-ACK and has sent its ACK. If that ACK finds the
    /// accept queue full, Linux drops it: the client is ESTABLISHED while the server still holds the
    /// connection in SYN-RECV. Client B delays its ACK (TCP_DEFER_ACCEPT on a client socket holds the
    /// handshake's last ACK for up to 200 ms), and client A fills the last place meanwhile.
    @Test
    void aClientCanBeEstablishedWhileTheServerStillHasItInSynRecv() throws Exception {
        assumeTrue(isLinux() && ssWorks(), "Linux's accept queue, seen with ss");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "python3 sets TCP_DEFER_ACCEPT, which Java cannot");
        ServerSocket listener = listening(BACKLOG);
        int port = listener.getLocalPort();
        for (int i = 0; i < BACKLOG; i++) connect(port, Duration.ofSeconds(5));   // the queue holds 3 of its 4
        String script = """
                import socket, sys
                port = int(sys.argv[1])
                b = socket.socket(); b.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
                b.connect(("127.0.0.1", port))           # returns at once; its ACK leaves later
                a = socket.create_connection(("127.0.0.1", port), timeout=5)   # takes the last place
                print("b connected from", b.getsockname()[1], flush=True)
                sys.stdin.read()                         # hold both until the test ends
                """;
        try (LessonRun python = LessonRun.startProcess(new ProcessBuilder("python3", "-c", script, String.valueOf(port)))) {
            int b = Integer.parseInt(python.awaitLine(Pattern.compile("b connected from (\\d+)"), Duration.ofSeconds(10)).group(1));
            await().atMost(Duration.ofSeconds(25)).until(() -> states(b).equals(Set.of("SYN-RECV " + port + " " + b,
                    "ESTAB " + b + " " + port)));
            // Make room: the server retransmits its SYN-ACK, B answers again, and now the ACK fits.
            BindListenAccept.acceptOne(listener).close();
            // The SYN-ACK is retransmitted after 1, 2, 4, 8 s...: the next one may be 16 s away.
            await().atMost(Duration.ofSeconds(30)).until(() -> states(b).equals(Set.of("ESTAB " + port + " " + b,
                    "ESTAB " + b + " " + port)));
        }
    }

    /// The TCP sockets with `port` at either end, each as "STATE local-port peer-port".
    static Set<String> states(int port) throws IOException, InterruptedException {
        Process ss = new ProcessBuilder("ss", "-Htan", "( sport = :" + port + " or dport = :" + port + " )")
                .redirectErrorStream(true).start();
        String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        ss.waitFor();
        return out.lines().map(line -> line.trim().split("\\s+"))       // State Recv-Q Send-Q Local Peer
                .map(c -> c[0] + " " + portOf(c[3]) + " " + portOf(c[4])).collect(Collectors.toSet());
    }

    static String portOf(String address) {
        return address.substring(address.lastIndexOf(':') + 1);
    }

    @Test
    void theLessonsOwnClientsFillTheQueue() throws IOException {
        ServerSocket listener = listening(BACKLOG);
        List<Socket> clients = BindListenAccept.connectClients(listener.getLocalPort(), BACKLOG + 2);
        clients.forEach(this::closeLater);
        assertThat(clients).hasSizeGreaterThanOrEqualTo(BACKLOG);
        if (isLinux()) assertThat(clients).hasSize(BACKLOG + 1);
        try (Socket first = BindListenAccept.acceptOne(listener)) {
            first.setSoTimeout(5_000);
            assertThat(BindListenAccept.readSome(first)).isEqualTo("hello from client 1\n");
        }
    }

    @Test
    void bindingAPortInUseFailsWithAddressAlreadyInUse() throws IOException {
        int port = listening(BACKLOG).getLocalPort();
        try (ServerSocket second = BindListenAccept.create(true)) {
            assertThatThrownBy(() -> BindListenAccept.bindAndListen(second, port, BACKLOG))
                    .isInstanceOf(BindException.class).hasMessageContaining("Address already in use");
        }
    }

    @Test
    void aBacklogAboveSomaxconnIsCappedAndTheLessonSaysSo() throws Exception {
        assumeTrue(isLinux() && ssWorks(), "the cap is Linux's net.core.somaxconn, read with ss");
        int somaxconn = Listeners.somaxconn();
        ServerSocket listener = closeLater(BindListenAccept.create(true));
        int applied = BindListenAccept.bindAndListen(listener, 0, 100_000);
        assertThat(applied).as("what the lesson says the kernel applied").isEqualTo(somaxconn);
        assertThat(Listeners.backlog(listener.getLocalPort())).as("what ss says the kernel applied").isEqualTo(somaxconn);
        ServerSocket small = closeLater(BindListenAccept.create(true));
        assertThat(BindListenAccept.bindAndListen(small, 0, 3)).as("a small backlog is kept").isEqualTo(3);
        assertThat(Listeners.backlog(small.getLocalPort())).as("what ss says of the small one").isEqualTo(3);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void withBacklog100000TheDemoStopsAtTheCapPlusTwoWithinAMinute() throws Exception {
        assumeTrue(isLinux(), "the cap is Linux's net.core.somaxconn");
        int somaxconn = Listeners.somaxconn();
        try (LessonRun run = LessonRun.start("BindListenAccept", "--port", "0", "--backlog", "100000", "--no-pause")) {
            run.awaitLine(Pattern.compile("asked for backlog 100000; the kernel capped it at net.core.somaxconn = "
                    + somaxconn + " \\(ss -tln shows Send-Q " + somaxconn + "\\)"), Duration.ofSeconds(20));
            run.awaitLine(Pattern.compile("Step 3: " + (somaxconn + 2) + " clients connect"), Duration.ofSeconds(20));
            run.awaitLine(Pattern.compile("client " + (somaxconn + 2) + ": connect\\(\\) did not complete"), Duration.ofSeconds(40));
            run.awaitLine(Pattern.compile("^.*\\] " + (somaxconn + 1) + " connections wait in the accept queue"), Duration.ofSeconds(10));
            assertThat(run.exitCode(Duration.ofSeconds(40))).as(run.output()).isZero();
        }
    }

    /// A server (with SO_REUSEADDR as given) closes first while a client is connected; the client
    /// sees end of stream and closes too. Returns the port, now held by a connection in TIME_WAIT.
    int serverClosesFirst(boolean reuseAddress) throws Exception {
        ServerSocket listener = closeLater(BindListenAccept.create(reuseAddress));
        BindListenAccept.bindAndListen(listener, 0, BACKLOG);
        int port = listener.getLocalPort();
        Socket client = connect(port, Duration.ofSeconds(5));
        Socket connection = BindListenAccept.acceptOne(listener);

        BindListenAccept.closeServerFirst(connection, listener, List.of(client));
        assertThat(client.isClosed()).as("the client saw end of stream and closed its side").isTrue();
        if (ssWorks()) await().atMost(Duration.ofSeconds(5)).until(() -> timeWaitOn(port));
        return port;
    }

    @Test
    void afterTheServerClosesFirstOnlyReuseAddressGetsThePortBack() throws Exception {
        int port = serverClosesFirst(true);
        assertThat(BindListenAccept.tryRebind(port, false)).as("without SO_REUSEADDR").isFalse();
        assertThat(BindListenAccept.tryRebind(port, true)).as("with SO_REUSEADDR").isTrue();
        if (ssWorks()) assertThat(timeWaitOn(port)).as("TIME_WAIT was the reason, and it is still there").isTrue();
    }

    @Test
    void onLinuxTheOldServerMustHaveHadReuseAddressToo() throws Exception {
        assumeTrue(isLinux(), "Linux's rule: both sockets must set SO_REUSEADDR");
        int port = serverClosesFirst(false);
        assertThat(BindListenAccept.tryRebind(port, true)).as("the new server alone setting it is not enough").isFalse();
    }

    @Test
    void withoutLiveConnectionsThePortIsFreeAtOnce() throws IOException {
        ServerSocket listener = listening(BACKLOG);
        int port = listener.getLocalPort();
        listener.close();
        assertThat(BindListenAccept.tryRebind(port, false)).isTrue();
    }

    @Test
    void runsStraightThroughWithoutPause() throws Exception {
        try (LessonRun run = LessonRun.start("BindListenAccept", "--port", "0", "--no-pause")) {
            int port = run.awaitListeningPort();
            assertThat(port).isPositive();
            assertThat(run.exitCode(Duration.ofSeconds(30))).as(run.output()).isZero();
        }
    }

    @Test
    void pausesUntilEnterAndTheKernelAcceptsMeanwhile() throws Exception {
        try (LessonRun run = LessonRun.start("BindListenAccept", "--port", "0")) {
            OutputStream keyboard = run.process().getOutputStream();
            keyboard.write("\n\n".getBytes(StandardCharsets.UTF_8));   // steps 1 and 2: create, bind and listen
            keyboard.flush();
            int port = run.awaitListeningPort();
            run.awaitLine(Pattern.compile("Step 3: .*Press Enter"), Duration.ofSeconds(10));
            // The lesson waits for Enter and calls no accept, yet our connect completes.
            Socket early = connect(port, Duration.ofSeconds(5));
            early.getOutputStream().write("early bird\n".getBytes(StandardCharsets.UTF_8));
            assertThat(run.process().isAlive()).isTrue();
            keyboard.write("\n\n\n\n\n\n".getBytes(StandardCharsets.UTF_8));
            keyboard.flush();
            run.awaitLine(Pattern.compile("read\\(\\) returned 11 bytes: \"early bird\""), Duration.ofSeconds(20));
            assertThat(early.getInputStream().read()).as("the server closes us first").isEqualTo(-1);
            early.close();
            keyboard.close();
            assertThat(run.exitCode(Duration.ofSeconds(30))).as(run.output()).isZero();
        }
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        int port = listening(BACKLOG).getLocalPort();
        try (LessonRun run = LessonRun.start("BindListenAccept", "--port", String.valueOf(port), "--no-pause")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(1);
            assertThat(run.stderr().strip().lines()).hasSize(1);
            assertThat(run.stderr()).contains("already in use").contains("--port 0").doesNotContain("Exception");
        }
    }

    @Test
    void aBadBacklogIsAUsageError() throws Exception {
        try (LessonRun run = LessonRun.start("BindListenAccept", "--backlog", "0")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(2);
            assertThat(run.stderr()).contains("backlog").contains("Usage:");
        }
    }

    /// True when `ss` lists a TIME_WAIT connection whose local port is `port` (ss asks the kernel
    /// through netlink and filters there: reading /proc/net/tcp6 is slow on a busy machine).
    static boolean timeWaitOn(int port) throws IOException, InterruptedException {
        Process ss = new ProcessBuilder("ss", "-tanH", "state", "time-wait", "( sport = :" + port + " )")
                .redirectErrorStream(true).start();
        String rows = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(ss.waitFor()).as("ss: " + rows).isZero();
        return rows.contains(":" + port + " ");
    }

    static boolean ssWorks() {
        try {
            return new ProcessBuilder("ss", "-V").start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static boolean isLinux() {
        return System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux");
    }
}
