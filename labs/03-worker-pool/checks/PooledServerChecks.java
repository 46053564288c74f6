import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;

import grading.Check;
import grading.Client;
import grading.Clients;
import grading.Expect;
import grading.Lab;
import grading.Threads;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/// The graded checks of lab 03: the grader's handlers count, block and fail on purpose.
public final class PooledServerChecks implements Lab {

    static final Duration WAIT = Duration.ofSeconds(3);
    static final Duration QUIET = Duration.ofMillis(300);

    @Override
    public String title() {
        return "Bounded worker pool";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("serves a connection with the handler", 10,
                        "hand each accepted socket to the pool; a worker runs the handler with it",
                        PooledServerChecks::servesOne),
                Check.of("closes the connection when the handler returns", 5,
                        "the worker owns the socket once the handler is done: close it (try-with-resources)",
                        PooledServerChecks::closesAfterHandler),
                Check.core("runs N handlers at once", 10,
                        "a pool of N threads runs N tasks at the same time",
                        PooledServerChecks::runsNAtOnce),
                Check.of("uses the thread factory it is given", 5,
                        "pass the ThreadFactory to the ThreadPoolExecutor: its threads are the workers (worker-1, worker-2, ...)",
                        PooledServerChecks::usesTheFactory),
                Check.core("never runs more than N at once", 15,
                        "exactly N threads: core and maximum pool size both N",
                        PooledServerChecks::neverMoreThanN),
                Check.core("answers busy beyond N running and Q waiting", 15,
                        "a bounded queue, and a policy that throws when it is full: catch that and answer BUSY",
                        PooledServerChecks::busyBeyondQueue),
                Check.of("serves the queued connections in turn", 10,
                        "a connection in the queue waits for a free worker; it is not refused",
                        PooledServerChecks::queuedAreServed),
                Check.of("no thread per connection", 10,
                        "50 waiting connections are 50 queued tasks, not 50 threads",
                        PooledServerChecks::noThreadPerConnection),
                Check.of("a handler's exception does not kill its worker", 10,
                        "catch what the handler throws inside the task: a task that throws ends its thread",
                        PooledServerChecks::exceptionKeepsWorker).within(Duration.ofSeconds(40)),
                Check.of("close() stops the listener and every worker", 10,
                        "close the listening socket, then shut the pool down and wait for its threads",
                        PooledServerChecks::closeStopsEverything));
    }

    /// A handler that says hello, then waits until the check lets it go.
    static final class Gate implements PooledServer.Handler {
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger running = new AtomicInteger();
        final AtomicInteger started = new AtomicInteger();
        final AtomicInteger mostAtOnce = new AtomicInteger();
        final Set<String> threadNames = java.util.concurrent.ConcurrentHashMap.newKeySet();

        @Override
        public void handle(Socket client) throws IOException {
            threadNames.add(Thread.currentThread().getName());
            started.incrementAndGet();
            mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                client.getOutputStream().write("started\n".getBytes(StandardCharsets.UTF_8));
                release.await();
                client.getOutputStream().write("done\n".getBytes(StandardCharsets.UTF_8));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                running.decrementAndGet();
            }
        }
    }

    private static final PooledServer.Handler HELLO = client ->
            client.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));

    private static void servesOne() throws Exception {
        try (var server = PooledServer.start(0, 2, 2, HELLO); var client = Client.connect(server.port())) {
            Expect.equal("hello", client.readLine(), "what the handler wrote");
        }
    }

    private static void closesAfterHandler() throws Exception {
        try (var server = PooledServer.start(0, 2, 2, HELLO); var client = Client.connect(server.port())) {
            Expect.equal("hello", client.readLine(), "what the handler wrote");
            client.expectClosed("after the handler returned");
        }
    }

    private static void runsNAtOnce() throws Exception {
        var gate = new Gate();
        try (var server = PooledServer.start(0, 3, 10, gate); var clients = new Clients()) {
            clients.connect(server.port(), 3);
            Expect.eventually(WAIT, () -> gate.started.get() == 3,
                    () -> "3 workers, 3 clients: " + gate.started + " handlers started");
            gate.release.countDown();
        }
    }

    private static void neverMoreThanN() throws Exception {
        var gate = new Gate();
        try (var server = PooledServer.start(0, 2, 2, gate); var clients = new Clients()) {
            clients.connect(server.port(), 4);
            Expect.eventually(WAIT, () -> gate.started.get() >= 2, "2 workers, 4 clients: not even 2 handlers started");
            clients.get(3).expectNothingFor(QUIET, "the fourth client must wait in the queue");
            // The queue is full now: a pool that may grow past N would start threads for these.
            clients.connect(server.port(), 2);
            for (int i = 4; i < 6; i++) {
                Expect.equal(PooledServer.BUSY, clients.get(i).readLine(), "client " + (i + 1)
                        + " of 6 to 2 workers and a queue of 2 (a pool whose maximum is over N runs it instead)");
            }
            Expect.equal(2, gate.mostAtOnce.get(), "the most handlers running at once with 2 workers");
            gate.release.countDown();
            for (int i = 0; i < 4; i++) {
                Expect.equal("started", clients.get(i).readLine(), "client " + (i + 1) + "'s first line");
                Expect.equal("done", clients.get(i).readLine(), "client " + (i + 1) + "'s second line");
            }
            Expect.equal(2, gate.mostAtOnce.get(), "the most handlers running at once with 2 workers");
        }
    }

    private static void usesTheFactory() throws Exception {
        var gate = new Gate();
        try (var server = PooledServer.start(0, 3, 3, gate); var clients = new Clients()) {
            clients.connect(server.port(), 3);
            Expect.eventually(WAIT, () -> gate.started.get() == 3, () -> "3 workers, 3 clients: " + gate.started + " handlers started");
            Expect.equal(Set.of("worker-1", "worker-2", "worker-3"), new java.util.TreeSet<>(gate.threadNames),
                    "the names of the threads that ran the handlers (start() gives newPool a factory of worker-N threads)");
            gate.release.countDown();
        }
    }

    private static void busyBeyondQueue() throws Exception {
        var gate = new Gate();
        try (var server = PooledServer.start(0, 2, 2, gate); var clients = new Clients()) {
            clients.connect(server.port(), 4);
            Expect.eventually(WAIT, () -> gate.started.get() >= 2, "2 workers, 4 clients: not even 2 handlers started");
            try (var fifth = Client.connect(server.port())) {
                String answer;
                try {
                    answer = fifth.readLine();
                } catch (AssertionError nothing) {
                    throw new AssertionError("a fifth client (2 running, 2 waiting) expected " + Expect.show(PooledServer.BUSY)
                            + ": " + nothing.getMessage() + " (is the queue bounded?)");
                }
                Expect.equal(PooledServer.BUSY, answer, "the answer to a fifth client (2 running, 2 waiting)");
                fifth.expectClosed("after busy");
            }
            gate.release.countDown();
        }
    }

    private static void queuedAreServed() throws Exception {
        var gate = new Gate();
        try (var server = PooledServer.start(0, 2, 2, gate); var clients = new Clients()) {
            clients.connect(server.port(), 4);
            Expect.eventually(WAIT, () -> gate.started.get() >= 2, "2 workers, 4 clients: not even 2 handlers started");
            gate.release.countDown();
            for (int i = 2; i < 4; i++) {
                Expect.equal("started", clients.get(i).readLine(), "queued client " + (i + 1) + "'s first line");
                Expect.equal("done", clients.get(i).readLine(), "queued client " + (i + 1) + "'s second line");
            }
        }
    }

    private static void noThreadPerConnection() throws Exception {
        var gate = new Gate();
        int before = Threads.countAll();
        try (var server = PooledServer.start(0, 2, 100, gate); var clients = new Clients()) {
            clients.connect(server.port(), 50);
            Expect.eventually(WAIT, () -> gate.started.get() >= 2, () -> "2 workers, 50 clients: " + gate.started + " handlers started");
            clients.get(49).expectNothingFor(QUIET, "the 50th client must wait in the queue");
            int during = Threads.countAll();
            Expect.that(during - before <= 4, "the JVM had " + before + " threads before and " + during
                    + " with 50 connections to a pool of 2");
            gate.release.countDown();
        }
    }

    private static void exceptionKeepsWorker() throws Exception {
        PooledServer.Handler handler = mock(PooledServer.Handler.class);
        var calls = new AtomicInteger();
        doAnswer(call -> {
            if (calls.incrementAndGet() <= 3) {
                throw new IllegalStateException("a bug in the handler");
            }
            Socket client = call.getArgument(0);
            client.getOutputStream().write("ok\n".getBytes(StandardCharsets.UTF_8));
            return null;
        }).when(handler).handle(any());
        try (var server = PooledServer.start(0, 1, 5, handler)) {
            Set<String> workersBefore = null;
            for (int i = 1; i <= 3; i++) {
                try (var failing = Client.connect(server.port())) {
                    failing.expectClosed("the connection whose handler threw");
                }
                if (workersBefore == null) {
                    workersBefore = workerThreads();
                }
            }
            Expect.that(!workersBefore.isEmpty(), "no worker- thread ran the handler, so whether one died cannot be"
                    + " seen: the pool must make its threads with the factory it is given");
            try (var next = Client.connect(server.port())) {
                Expect.equal("ok", next.readLine(), "the reply after three handlers threw");
            }
            verify(handler, times(4)).handle(any());
            Expect.equal(workersBefore, workerThreads(), "the worker threads (a new name means one died and was replaced)");
        }
    }

    private static void closeStopsEverything() throws Exception {
        var gate = new Gate();
        var server = PooledServer.start(0, 3, 3, gate);
        int port = server.port();
        try (var clients = new Clients()) {
            clients.connect(port, 3);
            Expect.eventually(WAIT, () -> gate.started.get() == 3, "3 workers, 3 clients: no 3 handlers started");
            Expect.equal(3, workerThreads().size(), "the worker- threads alive before close() (the pool's threads come"
                    + " from the factory it is given)");
        } finally {
            server.close();
        }
        Expect.eventually(WAIT, () -> workerThreads().isEmpty(), "worker threads still alive after close(): " + workerThreads());
        Expect.throwsA(ConnectException.class, () -> Client.connect(port).close(), "connecting after close()");
    }

    static Set<String> workerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .map(Thread::getName)
                .filter(name -> name.startsWith("worker-"))
                .collect(Collectors.toSet());
    }

}
