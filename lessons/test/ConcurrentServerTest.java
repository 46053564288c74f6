import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@Timeout(60)
class ConcurrentServerTest {
    static final Duration PROMPTLY = Duration.ofSeconds(10);

    ConcurrentServer.Server server;
    final List<LineClient> clients = new ArrayList<>();

    @AfterEach
    void stop() throws IOException {
        for (LineClient c : clients) c.close();
        if (server != null) server.close();
    }

    LineClient connect() throws IOException {
        var client = new LineClient(server.port());
        clients.add(client);
        return client;
    }

    @ParameterizedTest
    @EnumSource(ConcurrentServer.Threads.class)
    void twoClientsAreServedAtTheSameTime(ConcurrentServer.Threads threads) throws IOException {
        server = ConcurrentServer.start(0, threads);
        var first = connect();
        var second = connect();
        // Unlike lesson 09, the second is answered while the first is still connected, in turns.
        assertThat(first.ask("one")).isEqualTo("ECHO one");
        assertThat(second.ask("two")).isEqualTo("ECHO two");
        assertThat(first.ask("three")).isEqualTo("ECHO three");
        assertThat(second.ask("four")).isEqualTo("ECHO four");
    }

    @Test
    void twoThousandConcurrentClientsEachGetTheirReplyOnVirtualThreads() throws IOException {
        int count = 2_000;
        int platformThreadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
        server = ConcurrentServer.start(0, ConcurrentServer.Threads.VIRTUAL, ConcurrentServer.DEFAULT_BACKLOG);
        for (int i = 0; i < count; i++) connect();
        // Every connection has its own handler thread, all alive at once...
        await().atMost(PROMPTLY).until(() -> server.connections().size() == count);
        // ...and none of them is a platform thread: no platform thread bears a handler's name, and the
        // JVM's platform thread count barely moved.
        Set<String> platform = platformThreadNames();
        assertThat(clients).noneMatch(c -> platform.contains("client " + c.socket().getLocalPort()));
        assertThat(ManagementFactory.getThreadMXBean().getThreadCount() - platformThreadsBefore).isLessThan(50);
        for (int i = 0; i < count; i++) clients.get(i).sendLine("hello " + i);
        for (int i = 0; i < count; i++) {
            assertThat(clients.get(i).readLine()).isEqualTo("ECHO hello " + i);
        }
    }

    @Test
    void platformThreadsAreOneKernelThreadEach() throws IOException {
        int count = 50;
        server = ConcurrentServer.start(0, ConcurrentServer.Threads.PLATFORM, ConcurrentServer.DEFAULT_BACKLOG);
        for (int i = 0; i < count; i++) assertThat(connect().ask("hi " + i)).isEqualTo("ECHO hi " + i);
        // Each connection has a platform thread of its own, named after the client's port.
        List<String> handlers = clients.stream().map(c -> "client " + c.socket().getLocalPort()).toList();
        assertThat(platformThreadNames()).containsAll(handlers);
        for (LineClient c : clients) c.close();
        await().atMost(PROMPTLY).until(() -> platformThreadNames().stream().noneMatch(handlers::contains));
    }

    /// The names of the live platform threads (the JDK does not list virtual threads here).
    static Set<String> platformThreadNames() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName).collect(Collectors.toSet());
    }

    @Test
    void listensWithTheBacklogItStates() throws Exception {
        server = ConcurrentServer.start(0, ConcurrentServer.Threads.VIRTUAL);
        assertThat(Listeners.backlog(server.port()))
                .isEqualTo(Math.min(ConcurrentServer.DEFAULT_BACKLOG, Listeners.somaxconn()));
    }

    @Test
    void refusesAnOversizeLineAndKeepsServingOthers() throws IOException {
        server = ConcurrentServer.start(0, ConcurrentServer.Threads.VIRTUAL);
        var bystander = connect();
        var offender = connect();
        assertThat(bystander.ask("before")).isEqualTo("ECHO before");
        offender.send("x".repeat(ConcurrentServer.MAX_LINE + 1000));
        assertThat(offender.readLine()).startsWith("ERROR").contains("longer than 8192 bytes");
        assertThat(offender.readLine()).as("closed after the error").isNull();
        assertThat(bystander.ask("after")).isEqualTo("ECHO after");
    }

    @Test
    void closeEndsEveryConnectionAndTheAcceptor() throws IOException {
        server = ConcurrentServer.start(0, ConcurrentServer.Threads.VIRTUAL);
        var a = connect();
        var b = connect();
        assertThat(a.ask("x")).isEqualTo("ECHO x");
        assertThat(b.ask("y")).isEqualTo("ECHO y");
        server.close();
        assertThat(a.readLine()).isNull();
        assertThat(b.readLine()).isNull();
        await().atMost(PROMPTLY).until(() -> !server.acceptor().isAlive() && server.connections().isEmpty());
    }

    @Test
    void theDemoLoadsTheServerFromASeparateProcessAndReports() throws Exception {
        try (LessonRun run = LessonRun.start("ConcurrentServer", "--port", "0", "--demo-clients", "200")) {
            run.awaitListeningPort();
            run.awaitLine(Pattern.compile("200 of 200 answered"), Duration.ofSeconds(30));
            run.awaitLine(Pattern.compile("the server holds 200 connections, one virtual thread each"), PROMPTLY);
            run.awaitLine(Pattern.compile("heap used.*KiB each"), PROMPTLY);
            run.awaitLine(Pattern.compile("press Enter"), PROMPTLY);
            run.process().getOutputStream().close();       // end stdin: the demo closes and exits
            assertThat(run.exitCode(Duration.ofSeconds(20))).isZero();
        }
    }

    @Test
    void mainTakesTheThreadKindAndEchoes() throws Exception {
        try (LessonRun run = LessonRun.start("ConcurrentServer", "--port", "0", "--threads", "platform")) {
            int port = run.awaitListeningPort();
            try (var client = new LineClient(port)) {
                assertThat(client.ask("through main")).isEqualTo("ECHO through main");
            }
            run.awaitLine(Pattern.compile("\\[client \\d+\\] read \"through main\""), PROMPTLY);
        }
    }

    @Test
    void anUnknownThreadKindIsAUsageError() throws Exception {
        try (LessonRun run = LessonRun.start("ConcurrentServer", "--threads", "green")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(2);
            assertThat(run.stderr()).contains("platform or virtual").contains("Usage:");
        }
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            LessonRun.assertExplainsPortInUse("ConcurrentServer", taken.getLocalPort());
        }
    }
}
