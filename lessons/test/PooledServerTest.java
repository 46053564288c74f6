import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class PooledServerTest {
    static final Duration QUIET = Duration.ofMillis(400);
    static final Duration PROMPTLY = Duration.ofSeconds(10);

    PooledServer.Server server;
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

    @Test
    void nAreServedQWaitAndTheNextIsToldToTryLater() throws IOException {
        server = PooledServer.start(new PooledServer.Config(0, 2, 2, 1, 0));
        var served1 = connect();
        var served2 = connect();
        assertThat(served1.ask("a")).isEqualTo("ECHO a");
        assertThat(served2.ask("b")).isEqualTo("ECHO b");
        assertThat(server.busyWorkers()).isEqualTo(2);

        var waiting1 = connect();
        waiting1.sendLine("c");
        await().atMost(PROMPTLY).until(() -> server.waiting() == 1);
        var waiting2 = connect();
        waiting2.sendLine("d");
        await().atMost(PROMPTLY).until(() -> server.waiting() == 2);
        assertThat(waiting1.staysSilentFor(QUIET)).as("queued: no worker reads its line yet").isTrue();

        var turnedAway = connect();
        assertThat(turnedAway.readLine()).isEqualTo(PooledServer.BUSY);
        assertThat(turnedAway.readLine()).as("closed after the busy line").isNull();
        assertThat(server.refused()).isEqualTo(1);

        // A worker becomes free: the first in the queue is served, the second still waits.
        served1.close();
        assertThat(waiting1.readLine()).isEqualTo("ECHO c");
        assertThat(waiting2.staysSilentFor(QUIET)).isTrue();
        served2.close();
        assertThat(waiting2.readLine()).isEqualTo("ECHO d");
        assertThat(server.waiting()).isZero();

        // The queue has room again: a new client waits instead of being turned away.
        var later = connect();
        later.sendLine("e");
        await().atMost(PROMPTLY).until(() -> server.waiting() == 1);
        assertThat(server.refused()).isEqualTo(1);
        waiting1.close();
        assertThat(later.readLine()).isEqualTo("ECHO e");
    }

    @Test
    void aCrashedAcceptorIsRestartedAndItsConnectionStillServed() throws IOException {
        // One acceptor that dies after every connection: each client arrives while it holds one.
        server = PooledServer.start(new PooledServer.Config(0, 4, 4, 1, 1));
        for (int i = 0; i < 5; i++) {
            try (var client = new LineClient(server.port())) {
                assertThat(client.ask("client " + i)).isEqualTo("ECHO client " + i);
            }
        }
        await().atMost(PROMPTLY).until(() -> server.restarts() == 5);
        assertThat(server.rescued()).as("every crash left a connection to hand on").isEqualTo(5);
        await().atMost(PROMPTLY).until(() -> server.acceptorsAlive() == 1);
    }

    @Test
    void noClientIsLostWhileSeveralAcceptorsCrashAndRestart() throws IOException {
        int count = 12;
        server = PooledServer.start(new PooledServer.Config(0, count, 0, 3, 2));
        for (int i = 0; i < count; i++) connect().sendLine("client " + i);
        for (int i = 0; i < count; i++) {
            assertThat(clients.get(i).readLine()).isEqualTo("ECHO client " + i);
        }
        // Each acceptor life ends at its 2nd connection, and only 3 lives can end with one: 12
        // connections need at least 5 crashes.
        await().atMost(PROMPTLY).until(() -> server.restarts() >= 5);
        await().atMost(PROMPTLY).until(() -> server.acceptorsAlive() == 3);
        assertThat(server.rescued()).isEqualTo(server.restarts());
        assertThat(server.refused()).isZero();
    }

    @Test
    void listensWithTheBacklogItStates() throws Exception {
        server = PooledServer.start(PooledServer.Config.of(0));
        assertThat(Listeners.backlog(server.port())).isEqualTo(Math.min(PooledServer.BACKLOG, Listeners.somaxconn()));
    }

    /// The acceptors do not all wait in accept(2): NioSocketImpl.accept takes the socket's lock
    /// first, so one platform thread is in the system call and the others wait for the lock.
    @Test
    void oneAcceptorIsInAcceptTheOthersWaitForTheSocketsLock() throws IOException {
        server = PooledServer.start(new PooledServer.Config(0, 2, 2, 3, 0));
        awaitOneInAcceptAndTwoWaitingForTheLock();
        // A client arrives: the acceptor in accept(2) takes it and lets go of the lock, another
        // acceptor takes the lock and the system call; the picture is the same again.
        assertThat(connect().ask("hi")).isEqualTo("ECHO hi");
        awaitOneInAcceptAndTwoWaitingForTheLock();
    }

    void awaitOneInAcceptAndTwoWaitingForTheLock() {
        await().atMost(PROMPTLY).untilAsserted(() -> {
            List<Thread> acceptors = server.acceptors.stream().map(a -> a.thread).toList();
            List<Thread> inSystemCall = acceptors.stream()
                    .filter(t -> t.getState() == Thread.State.RUNNABLE && calls(t, "sun.nio.ch.Net", "accept")).toList();
            List<Thread> waitingForLock = acceptors.stream()
                    .filter(t -> t.getState() == Thread.State.WAITING
                            && calls(t, "java.util.concurrent.locks.ReentrantLock", "lock")).toList();
            assertThat(inSystemCall).as("acceptors in accept(2)").hasSize(1);
            assertThat(waitingForLock).as("acceptors waiting for the listening socket's lock").hasSize(2);
            for (Thread t : acceptors) {
                assertThat(calls(t, "sun.nio.ch.NioSocketImpl", "accept")).as(t.getName() + " is in ServerSocket.accept").isTrue();
            }
        });
    }

    static boolean calls(Thread thread, String className, String method) {
        for (StackTraceElement frame : thread.getStackTrace()) {
            if (frame.getClassName().equals(className) && frame.getMethodName().equals(method)) return true;
        }
        return false;
    }

    /// The bounded pool's weakness: connections that say nothing hold every worker and every
    /// place in the queue, and a well-behaved client is turned away, at once.
    @Test
    void idleConnectionsFillThePoolAndALateClientIsToldBusyAtOnce() throws IOException {
        server = PooledServer.start(new PooledServer.Config(0, 2, 2, 1, 0));
        for (int i = 0; i < 4; i++) connect();
        await().atMost(PROMPTLY).until(() -> server.busyWorkers() == 2 && server.waiting() == 2);
        try (var late = new LineClient(server.port(), Duration.ofSeconds(5))) {
            late.sendLine("hello");
            assertThat(late.readLine()).as("told at once, never left hanging").isEqualTo(PooledServer.BUSY);
            assertThat(late.readLine()).isNull();
        }
        assertThat(server.refused()).isEqualTo(1);
    }

    /// The same idle crowd costs an event loop a little memory each, and no one is turned away.
    @Test
    void theSameIdleCrowdDoesNotStopTheEventLoop() throws Exception {
        try (var loop = NonBlockingEcho.start(0)) {
            List<LineClient> idle = new ArrayList<>();
            try {
                for (int i = 0; i < 50; i++) idle.add(new LineClient(loop.port()));
                await().atMost(PROMPTLY).until(() -> loop.connections.size() == 50);
                try (var late = new LineClient(loop.port(), Duration.ofSeconds(5))) {
                    assertThat(late.ask("hello")).isEqualTo("hello");
                }
            } finally {
                for (LineClient c : idle) c.close();
            }
        }
    }

    @Test
    void aReadDeadlineFreesAWorkerHeldByASilentClient() throws IOException {
        server = PooledServer.start(new PooledServer.Config(0, 1, 0, 1, 0, Duration.ofSeconds(4)));
        var silent = connect();
        await().atMost(PROMPTLY).until(() -> server.busyWorkers() == 1);
        try (var meanwhile = new LineClient(server.port())) {
            assertThat(meanwhile.readLine()).as("the one worker is held").isEqualTo(PooledServer.BUSY);
        }
        assertThat(silent.readLine()).as("closed by the server once its deadline passed").isNull();
        await().atMost(PROMPTLY).until(() -> server.busyWorkers() == 0);
        assertThat(connect().ask("hello")).as("the freed worker serves the next client").isEqualTo("ECHO hello");
    }

    @Test
    void refusesAnOversizeLineAndKeepsServingOthers() throws IOException {
        server = PooledServer.start(PooledServer.Config.of(0));
        var bystander = connect();
        var offender = connect();
        assertThat(bystander.ask("before")).isEqualTo("ECHO before");
        offender.send("x".repeat(PooledServer.MAX_LINE + 1000));
        assertThat(offender.readLine()).startsWith("ERROR").contains("longer than 8192 bytes");
        assertThat(offender.readLine()).as("closed after the error").isNull();
        assertThat(bystander.ask("after")).isEqualTo("ECHO after");
        await().atMost(PROMPTLY).until(() -> server.busyWorkers() == 1);
    }

    @Test
    void closeEndsConnectionsWorkersAcceptorsAndSupervisor() throws IOException {
        server = PooledServer.start(new PooledServer.Config(0, 1, 1, 2, 0));
        var served = connect();
        assertThat(served.ask("x")).isEqualTo("ECHO x");
        var queued = connect();
        await().atMost(PROMPTLY).until(() -> server.waiting() == 1);
        server.close();
        assertThat(served.readLine()).isNull();
        assertThat(queued.readLine()).isNull();
        await().atMost(PROMPTLY).until(() -> server.acceptorsAlive() == 0 && !server.supervisor.isAlive()
                && server.workers.stream().noneMatch(Thread::isAlive));
    }

    @Test
    void mainNarratesTheRestart() throws Exception {
        try (LessonRun run = LessonRun.start("PooledServer", "--port", "0", "--acceptors", "1", "--crash-every", "1")) {
            int port = run.awaitListeningPort();
            try (var client = new LineClient(port)) {
                assertThat(client.ask("through main")).isEqualTo("ECHO through main");
            }
            run.awaitLine(Pattern.compile("\\[supervisor\\] acceptor-1 died: crashed on purpose"), PROMPTLY);
            run.awaitLine(Pattern.compile("\\[supervisor\\] restarting acceptor-1 \\(restart #1\\)"), PROMPTLY);
        }
    }

    @Test
    void aBadNumberIsAUsageError() throws Exception {
        try (LessonRun run = LessonRun.start("PooledServer", "--workers", "0")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(2);
            assertThat(run.stderr()).contains("from 1 to").contains("Usage:");
        }
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            LessonRun.assertExplainsPortInUse("PooledServer", taken.getLocalPort());
        }
    }
}
