import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import java.io.File;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/// The graded checks of lab 09. The drain is checked in this JVM, through the service's API; the
/// signals and systemd's socket need a process of their own, so those checks start the learner's
/// service as a child JVM and signal it by its pid.
public final class LineServiceChecks implements Lab {

    /// How many lines each client has sent, and not yet seen answered, when the stop comes.
    static final int LINES_IN_FLIGHT = 25;
    /// A check that starts a JVM (or two) gets more time than the default.
    static final Duration CHILD_LIMIT = Duration.ofSeconds(60);

    @Override
    public String title() {
        return "A service";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.of("echoes lines", 5,
                        "the echo is given: if this fails, the starter's serve() or start() was changed",
                        LineServiceChecks::echoes),
                Check.core("drain answers every line already sent, then says goodbye", 15,
                        "let each handler go on reading; when its client has been quiet for POLL while draining, say GOODBYE and end",
                        LineServiceChecks::drainAnswersLinesInFlight),
                Check.of("drain refuses new clients", 10,
                        "close your own listening socket when the drain begins: the kernel queues clients for a listener nobody accepts from",
                        LineServiceChecks::drainRefusesNewClients),
                Check.of("drain cuts off a client that never stops, at its limit", 10,
                        "wait for the handlers at most `limit` in all (join with a time), then close the connections still open",
                        LineServiceChecks::drainHasALimit),
                Check.of("drain leaves systemd's socket open", 10,
                        "a listening socket from systemd is not yours to close: stop accepting, and leave it to systemd",
                        LineServiceChecks::drainLeavesSystemdsSocket),
                Check.core("SIGTERM: lines in flight answered, goodbye, exit status 0", 15,
                        "SIGTERM runs the shutdown hooks: drain there, then end with Runtime.halt(0) (the JVM's own answer is 143)",
                        LineServiceChecks::sigtermDrains).within(CHILD_LIMIT),
                Check.core("a second SIGTERM ends it at once", 15,
                        "while a hook runs, the JVM ignores more signals: give SIGTERM back its default action first",
                        LineServiceChecks::secondSigtermEndsIt).within(CHILD_LIMIT),
                Check.of("takes the socket systemd passes, and only when LISTEN_PID is its own", 20,
                        "LISTEN_FDS counts the sockets from fd 3 on; they are yours only when LISTEN_PID is your pid",
                        LineServiceChecks::socketActivation).within(CHILD_LIMIT));
    }

    // ---- In this JVM: the service's API. ----

    private static void echoes() throws Exception {
        try (var server = LineService.start(0); var client = Client.connect(server.port())) {
            client.echo("hello");
            client.echo("and hello again");
        }
    }

    /// Connects `count` clients, each answered once, so that each is being served.
    static List<Client> servedClients(int port, int count) throws IOException {
        var clients = new ArrayList<Client>();
        for (int i = 0; i < count; i++) {
            var client = Client.connect(port);
            clients.add(client);
            client.echo("hello from client " + i);
        }
        return clients;
    }

    static void sendLinesInFlight(List<Client> clients) throws IOException {
        for (int i = 0; i < clients.size(); i++) {
            var lines = new StringBuilder();
            for (int n = 0; n < LINES_IN_FLIGHT; n++) {
                lines.append("client ").append(i).append(" line ").append(n).append('\n');
            }
            clients.get(i).send(lines.toString());
        }
    }

    /// Each client gets its lines, then GOODBYE, then end of stream.
    static void expectEveryLineThenGoodbye(List<Client> clients, String when) throws IOException {
        for (int i = 0; i < clients.size(); i++) {
            Client client = clients.get(i);
            for (int n = 0; n < LINES_IN_FLIGHT; n++) {
                String line;
                try {
                    line = client.readLine();
                } catch (AssertionError lost) {
                    throw new AssertionError("client " + i + " sent " + LINES_IN_FLIGHT + " lines just before " + when
                            + "; line " + n + " was never answered: " + lost.getMessage());
                }
                Expect.equal("client " + i + " line " + n, line, "client " + i + "'s line " + n + ", sent before " + when);
            }
            Expect.equal(LineService.GOODBYE, client.readLine(), "client " + i + "'s last line, after its " + LINES_IN_FLIGHT + " answers");
            client.expectClosed("after the goodbye");
        }
    }

    /// How many lines each client sends in the drain check: enough that its handler is still at work
    /// when the drain begins, whatever the machine's speed.
    static final int LINES_IN_BULK = 20_000;

    /// Reads a client's replies: every line of the bulk, then GOODBYE, then end of stream. Says what
    /// went wrong, or "" when nothing did; `first` counts down at the first line.
    static CompletableFuture<String> readBulk(Client client, int i, CountDownLatch first) {
        return CompletableFuture.supplyAsync(() -> {
            int n = 0;
            try {
                client.socket().setSoTimeout(15_000);    // 60,000 lines take a while on a slow machine
                for (; n < LINES_IN_BULK; n++) {
                    String line = client.readLine();
                    first.countDown();
                    if (!line.equals("client " + i + " line " + n)) {
                        return "client " + i + "'s reply " + n + ": expected " + Expect.show("client " + i + " line " + n)
                                + ", got " + Expect.show(line);
                    }
                }
                String last = client.readLine();
                if (!last.equals(LineService.GOODBYE)) {
                    return "client " + i + "'s line after its " + LINES_IN_BULK + " answers: expected " + Expect.show(LineService.GOODBYE)
                            + ", got " + Expect.show(last);
                }
                client.expectClosed("after the goodbye");
                return "";
            } catch (AssertionError | IOException e) {
                first.countDown();
                return "client " + i + " sent " + String.format("%,d", LINES_IN_BULK) + " lines, the drain began while they were"
                        + " being answered, and only " + String.format("%,d", n) + " came back: " + e.getMessage();
            }
        }, runnable -> Thread.ofPlatform().daemon().name("reading client " + i).start(runnable));
    }

    private static void drainAnswersLinesInFlight() throws Exception {
        try (var server = LineService.start(0)) {
            var clients = servedClients(server.port(), 3);
            try {
                var first = new CountDownLatch(clients.size());
                var readers = new ArrayList<CompletableFuture<String>>();
                for (int i = 0; i < clients.size(); i++) {
                    readers.add(readBulk(clients.get(i), i, first));
                    var lines = new StringBuilder();
                    for (int n = 0; n < LINES_IN_BULK; n++) {
                        lines.append("client ").append(i).append(" line ").append(n).append('\n');
                    }
                    clients.get(i).sendInBackground(lines.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
                // Begin the drain once every handler is answering: each is in the middle of its client's lines.
                Expect.that(first.await(10, TimeUnit.SECONDS), "the clients' lines were not answered within 10 s, before any drain");
                boolean clean = server.drain(Duration.ofSeconds(8));
                for (var reader : readers) {
                    String problem = reader.get(15, TimeUnit.SECONDS);
                    Expect.that(problem.isEmpty(), problem);
                }
                Expect.that(clean, "every client was answered and told goodbye, yet drain() returned false (it says whether every connection finished by itself)");
            } finally {
                for (Client client : clients) client.close();
            }
        }
    }

    private static void drainRefusesNewClients() throws Exception {
        try (var server = LineService.start(0); var client = Client.connect(server.port())) {
            client.echo("before the drain");
            server.drain(Duration.ofSeconds(4));
            Expect.equal(LineService.GOODBYE, client.readLine(), "the line after drain()");
            try (var late = new Socket()) {
                late.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()), 2_000);
                throw new AssertionError("after drain() returned, a new client could still connect: the listening socket is"
                        + " still open, and the kernel queues clients that nobody will ever accept");
            } catch (ConnectException refused) {
                // Refused: nothing listens any more.
            }
        }
    }

    private static void drainHasALimit() throws Exception {
        try (var server = LineService.start(0); var chatterbox = Client.connect(server.port())) {
            chatterbox.echo("hi");
            var talking = new AtomicBoolean(true);
            Thread talker = Thread.ofPlatform().daemon().name("chatterbox: talking").start(() -> {
                try {
                    while (talking.get()) chatterbox.send("more\n");
                } catch (IOException e) {
                    // Cut off, as the check expects.
                }
            });
            var cutOff = new CompletableFuture<Void>();
            Thread.ofPlatform().daemon().name("chatterbox: reading").start(() -> {
                try {
                    var in = chatterbox.input();
                    chatterbox.socket().setSoTimeout(0);
                    while (in.read() >= 0) { /* keep the echoes flowing */ }
                } catch (IOException e) {
                    // A reset is a cut-off too.
                }
                cutOff.complete(null);
            });
            try {
                long start = System.nanoTime();
                var drained = CompletableFuture.supplyAsync(() -> {
                    try {
                        return server.drain(Duration.ofMillis(500));
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, runnable -> Thread.ofPlatform().daemon().name("drain").start(runnable));
                Boolean clean;
                try {
                    clean = drained.get(5, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    throw new AssertionError("drain(500 ms) had not returned 5 s later, with one client that never stops talking:"
                            + " the drain waits for it without a limit");
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof Exception cause ? cause : e;
                }
                long took = (System.nanoTime() - start) / 1_000_000;
                Expect.that(!clean, "drain(500 ms) returned true, yet a client that never stops talking was still connected");
                try {
                    cutOff.get(3, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    throw new AssertionError("drain(500 ms) returned after " + took + " ms, but the client that never stops"
                            + " talking is still connected 3 s later: close the connections left at the limit");
                }
            } finally {
                talking.set(false);
                talker.interrupt();
            }
        }
    }

    @SuppressWarnings("try")    // the next start only has to be running
    private static void drainLeavesSystemdsSocket() throws Exception {
        // The check plays systemd: it opens the listening socket and keeps it.
        try (var systemds = new ServerSocket(0, LineService.BACKLOG, InetAddress.getLoopbackAddress())) {
            var first = LineService.start(systemds, false);
            try (var client = Client.connect(systemds.getLocalPort())) {
                client.echo("to the first start");
                // What the client hears from the drain is another check's business: this one is
                // about the listening socket alone, so it scores the same whatever the drain says.
                first.drain(Duration.ofSeconds(4));
            }
            Expect.that(!systemds.isClosed(), "drain() closed the listening socket it was given by systemd (start(socket, false)):"
                    + " that one is systemd's, which keeps it for the next start");
            // A client that comes while no service runs waits in the queue and is served by the next start.
            try (var late = Client.connect(systemds.getLocalPort()); var next = LineService.start(systemds, false)) {
                late.echo("sent while no service ran");
            }
        }
    }

    // ---- In a JVM of its own: signals and systemd's socket. ----

    /// The learner's service running as a process of its own, its output in a file.
    static final class Service implements AutoCloseable {
        final Process process;
        final Path log;

        private Service(Process process, Path log) {
            this.process = process;
            this.log = log;
        }

        /// Starts `before` (a wrapper such as systemd-socket-activate, or nothing), then the JVM.
        static Service start(List<String> before, Map<String, String> environment, String... args) throws IOException {
            var command = new ArrayList<>(before);
            command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), "LineService"));
            command.addAll(List.of(args));
            Path log = Files.createTempFile("lab09-service-", ".log");
            var builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            builder.environment().putAll(environment);
            return new Service(builder.start(), log);
        }

        long pid() {
            return process.pid();
        }

        void sigterm() {
            process.destroy();                   // SIGTERM, on Linux
        }

        /// The last lines the service printed, for a failure message.
        String lastLines() {
            try {
                List<String> lines = Files.readAllLines(log);
                List<String> last = lines.subList(Math.max(0, lines.size() - 4), lines.size()).stream()
                        .map(line -> line.length() > 160 ? line.substring(0, 157) + "..." : line).toList();
                return last.isEmpty() ? "; it printed nothing" : "; its last lines: " + String.join(" | ", last);
            } catch (IOException e) {
                return "";
            }
        }

        /// Waits until a client can connect to `port`, or fails saying why not.
        void awaitListening(int port, Duration limit) throws Exception {
            long deadline = System.nanoTime() + limit.toNanos();
            while (true) {
                if (!process.isAlive()) {
                    throw new AssertionError("the service ended (exit status " + process.exitValue() + ") before it listened on port "
                            + port + lastLines());
                }
                try (var probe = new Socket()) {
                    probe.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                    return;
                } catch (IOException notYet) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("nothing listened on port " + port + " " + limit.toSeconds()
                                + " s after the service started" + lastLines());
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(50_000_000);
                }
            }
        }

        /// The exit status within `limit`, or null while it still runs.
        Integer exitStatus(Duration limit) throws InterruptedException {
            return process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : null;
        }

        @Override
        public void close() throws IOException {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Files.deleteIfExists(log);
        }
    }

    static int freePort() throws IOException {
        try (var probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    static boolean refused(int port) {
        try (var probe = new Socket()) {
            probe.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /// After SIGTERM: the service must end by itself, with status 0, and every client gets its lines.
    static void expectCleanStop(Service service, List<Client> clients, String what) throws Exception {
        Integer status = service.exitStatus(Duration.ofSeconds(12));
        if (status == null) {
            throw new AssertionError("still running 12 s after " + what + ", though the drain limit is "
                    + LineService.DRAIN_LIMIT.toSeconds() + " s (System.exit from a shutdown hook waits for that hook forever)"
                    + service.lastLines());
        }
        if (status != 0) {
            throw new AssertionError("after " + what + " the service ended with status " + status
                    + (status == 143 ? ", the JVM's own answer to SIGTERM: nothing drained it, or the hook returned instead of halting with 0" : "")
                    + service.lastLines());
        }
        expectEveryLineThenGoodbye(clients, what);
    }

    private static void sigtermDrains() throws Exception {
        int port = freePort();
        try (var service = Service.start(List.of(), Map.of(), "--port", String.valueOf(port))) {
            service.awaitListening(port, Duration.ofSeconds(30));
            var clients = servedClients(port, 2);
            try {
                sendLinesInFlight(clients);
                service.sigterm();
                expectCleanStop(service, clients, "SIGTERM");
            } finally {
                for (Client client : clients) client.close();
            }
        }
    }

    private static void secondSigtermEndsIt() throws Exception {
        int port = freePort();
        try (var service = Service.start(List.of(), Map.of(), "--port", String.valueOf(port));
             var chatterbox = awaitClient(service, port)) {
            chatterbox.echo("hi");
            // A client that never stops talking keeps the drain busy until its limit.
            var talking = new AtomicBoolean(true);
            Thread.ofPlatform().daemon().name("chatterbox: talking").start(() -> {
                try {
                    while (talking.get()) chatterbox.send("more\n");
                } catch (IOException e) {
                    // Cut off.
                }
            });
            Thread.ofPlatform().daemon().name("chatterbox: reading").start(() -> {
                try {
                    chatterbox.socket().setSoTimeout(0);
                    while (chatterbox.input().read() >= 0) { /* keep the echoes flowing */ }
                } catch (IOException e) {
                    // Cut off.
                }
            });
            try {
                service.sigterm();
                // The drain has begun when the service refuses new clients while it still runs.
                Expect.eventually(Duration.ofSeconds(15), () -> !service.process.isAlive() || refused(port),
                        () -> "15 s after SIGTERM the service still accepted new clients: no drain began" + service.lastLines());
                // A drain with a client that never stops talking lasts until its limit: the service is
                // still there a second later (one that was only on its way out is gone by then).
                Integer early = service.exitStatus(Duration.ofSeconds(1));
                if (early != null) {
                    throw new AssertionError("the first SIGTERM ended the service within a second (exit status " + early
                            + "), with a client still talking: no drain" + service.lastLines());
                }
                service.sigterm();
                long second = System.nanoTime();
                Integer status = service.exitStatus(Duration.ofSeconds(3));
                if (status == null) {
                    throw new AssertionError("still running 3 s after a second SIGTERM, sent while it drained" + service.lastLines());
                }
                Expect.that(status != 0, "after a second SIGTERM the service finished its drain ("
                        + (System.nanoTime() - second) / 1_000_000 + " ms later) and ended with status 0: the second signal"
                        + " changed nothing" + service.lastLines());
            } finally {
                talking.set(false);
            }
        }
    }

    /// A client of a service that may still be starting.
    static Client awaitClient(Service service, int port) throws Exception {
        service.awaitListening(port, Duration.ofSeconds(30));
        return Client.connect(port);
    }

    static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) return true;
        }
        return false;
    }

    private static void socketActivation() throws Exception {
        if (!onPath("systemd-socket-activate")) {
            throw new AssertionError("not run: systemd-socket-activate is not installed here, and a check that cannot run"
                    + " gives no points (Debian and Ubuntu: apt-get install systemd; only its tools are used, nothing is started)");
        }
        int systemdPort = freePort();
        int ownPort = freePort();
        // systemd-socket-activate listens on systemdPort, and when the first client comes, becomes the
        // service (exec: the same pid), with the socket as fd 3, LISTEN_FDS=1 and LISTEN_PID=its pid.
        try (var service = Service.start(List.of("systemd-socket-activate", "--listen=127.0.0.1:" + systemdPort),
                Map.of(), "--port", String.valueOf(ownPort))) {
            service.awaitListening(systemdPort, Duration.ofSeconds(10));
            try (var client = Client.connect(systemdPort)) {
                client.send("hello through systemd's socket\n");
                // The JVM starts only now: wait for its answer, unless it opens a socket of its own instead.
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (client.input().available() == 0 && System.nanoTime() < deadline && service.process.isAlive()) {
                    if (listening(ownPort)) {
                        throw new AssertionError("started by systemd-socket-activate (LISTEN_FDS=1, LISTEN_PID its pid, the socket"
                                + " as fd 3), the service opened a socket of its own on --port " + ownPort + " instead" + service.lastLines());
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(50_000_000);
                }
                client.socket().setSoTimeout(1_000);
                String reply;
                try {
                    reply = client.readLine();
                } catch (AssertionError notServed) {
                    throw new AssertionError("a line sent to the socket systemd passed (LISTEN_FDS=1, fd 3) was not answered within"
                            + " 30 s: " + notServed.getMessage().replace("within " + Client.READ_LIMIT.toSeconds() + " s", "within 30 s") + service.lastLines());
                }
                Expect.equal("hello through systemd's socket", reply, "the reply on systemd's socket");
                client.socket().setSoTimeout((int) Client.READ_LIMIT.toMillis());
                Expect.that(!listening(ownPort), "with a socket from systemd, the service opened its own on --port " + ownPort + " too");
                client.send("in flight\n");
                service.sigterm();
                Integer status = service.exitStatus(Duration.ofSeconds(12));
                Expect.that(status != null && status == 0, "socket-activated, SIGTERM ended the service with status " + status
                        + service.lastLines());
                Expect.equal("in flight", client.readLine(), "the line sent just before SIGTERM, on systemd's socket");
                Expect.equal(LineService.GOODBYE, client.readLine(), "the line after it");
            }
        }
        // LISTEN_FDS and LISTEN_PID meant for another process (pid 1): they are not ours.
        int port = freePort();
        try (var service = Service.start(List.of(), Map.of("LISTEN_FDS", "1", "LISTEN_PID", "1"), "--port", String.valueOf(port))) {
            try {
                service.awaitListening(port, Duration.ofSeconds(30));
            } catch (AssertionError notListening) {
                throw new AssertionError("started with LISTEN_FDS=1 and LISTEN_PID=1 (another process's sockets), the service"
                        + " should open its own on --port " + port + ": " + notListening.getMessage());
            }
            try (var client = Client.connect(port)) {
                client.echo("on its own socket");
            }
        }
    }

    static boolean listening(int port) {
        try (var probe = new Socket()) {
            probe.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
