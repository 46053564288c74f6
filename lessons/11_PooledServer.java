///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/// Lesson 11 · The pooled server — N workers and a queue of Q, both bounded; K acceptors under a supervisor.
///
/// Run it: `./jbang lessons/11_PooledServer.java [--workers 4] [--queue 4] [--acceptors 2] [--crash-every 3]`;
/// talk to it: `nc -N localhost 1234`.
/// Chapter: docs/chapters/11-pooled-server.adoc · Test: lessons/test/PooledServerTest.java ·
/// Lab: labs/03-worker-pool
/// Not here: a thread per connection (lesson 10), one thread for every connection (lesson 08), a
/// deadline for a whole line against clients that trickle a byte at a time (chapter 11 says why).
class PooledServer {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;
    /// How many finished connections the kernel may hold before an acceptor takes them. The JDK's
    /// default is 50; a burst beyond it waits in SYN retries instead of getting a quick BUSY.
    /// Linux caps the number at net.core.somaxconn.
    static final int BACKLOG = 1024;
    static final String BUSY = "BUSY try later";
    /// How long a worker waits for a client's next bytes before it gives up on it.
    static final Duration READ_DEADLINE = Duration.ofSeconds(30);

    record Config(int port, int workers, int queue, int acceptors, int crashEvery, Duration readDeadline) {
        Config(int port, int workers, int queue, int acceptors, int crashEvery) {
            this(port, workers, queue, acceptors, crashEvery, READ_DEADLINE);
        }

        static Config of(int port) { return new Config(port, 4, 4, 2, 0); }
    }

    /// One acceptor's place in the pool: the thread now in it, and the connection it holds between
    /// accept() and handing it to the pool (the one a crash would otherwise lose).
    static final class Acceptor {
        final int id;
        final AtomicReference<Socket> holding = new AtomicReference<>();
        volatile Thread thread;

        Acceptor(int id) { this.id = id; }
    }

    /// What the supervisor hears when an acceptor dies: like a monitor's DOWN message in Erlang.
    record Down(Acceptor acceptor, Throwable cause) {}

    static final class Server implements AutoCloseable {
        final Config config;
        final ServerSocket listener = new ServerSocket();
        final Semaphore places;                 // workers + queue: a connection needs one to get in
        final BlockingQueue<Socket> waiting = new LinkedBlockingQueue<>();
        final Set<Socket> connections = ConcurrentHashMap.newKeySet();
        final AtomicInteger busyWorkers = new AtomicInteger();
        final AtomicInteger refused = new AtomicInteger();
        final AtomicInteger restarts = new AtomicInteger();
        final AtomicInteger rescued = new AtomicInteger();
        final BlockingQueue<Down> mailbox = new LinkedBlockingQueue<>();
        final List<Acceptor> acceptors = new ArrayList<>();
        final List<Thread> workers = new ArrayList<>();
        Thread supervisor;

        Server(Config config) throws IOException {
            this.config = config;
            this.places = new Semaphore(config.workers() + config.queue());
        }

        int port() { return listener.getLocalPort(); }
        int busyWorkers() { return busyWorkers.get(); }
        int waiting() { return waiting.size(); }
        int refused() { return refused.get(); }
        int restarts() { return restarts.get(); }
        int rescued() { return rescued.get(); }
        long acceptorsAlive() { return acceptors.stream().filter(a -> a.thread.isAlive()).count(); }

        @Override
        public void close() throws IOException {
            listener.close();                   // every acceptor's accept() throws; they end
            supervisor.interrupt();
            workers.forEach(Thread::interrupt); // a worker waiting in take() ends
            for (Socket s : connections) s.close();
            for (Acceptor a : acceptors) if (a.holding.get() instanceof Socket held) held.close();
        }
    }

    // tag::start[]
    static Server start(Config config) throws IOException {
        Server server = new Server(config);
        server.listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), config.port()), BACKLOG);
        // Start a fixed pool of workers: the most threads this server will ever serve with.
        for (int i = 1; i <= config.workers(); i++) server.workers.add(
                Thread.ofPlatform().name("worker-" + i).start(() -> work(server)));
        // Start the supervisor; it starts the acceptors and restarts any that dies.
        for (int i = 1; i <= config.acceptors(); i++) server.acceptors.add(new Acceptor(i));
        server.supervisor = Thread.ofPlatform().name("supervisor").start(() -> supervise(server));
        return server;
    }
    // end::start[]

    // tag::supervise[]
    static void supervise(Server server) {
        server.acceptors.forEach(a -> startAcceptor(server, a));
        try {
            while (true) {
                Down down = server.mailbox.take();
                if (server.listener.isClosed()) return;
                Acceptor a = down.acceptor();
                log("acceptor-%d died: %s", a.id, down.cause().getMessage());
                // The dead acceptor may have held a connection it had accepted: hand it on.
                Socket orphan = a.holding.getAndSet(null);
                if (orphan != null) {
                    log("it held %s; handing that connection to the pool", orphan.getRemoteSocketAddress());
                    server.rescued.incrementAndGet();
                    admit(server, orphan);
                }
                log("restarting acceptor-%d (restart #%d); meanwhile the kernel keeps queueing new clients",
                        a.id, server.restarts.incrementAndGet());
                startAcceptor(server, a);
            }
        } catch (InterruptedException e) {
            log("supervisor stopping");
        }
    }

    static void startAcceptor(Server server, Acceptor a) {
        a.thread = Thread.ofPlatform().name("acceptor-" + a.id)
                // An exception nobody catches ends the thread; this tells the supervisor about it.
                .uncaughtExceptionHandler((thread, cause) -> server.mailbox.add(new Down(a, cause)))
                .start(() -> acceptLoop(server, a));
    }
    // end::supervise[]

    // tag::accept[]
    static void acceptLoop(Server server, Acceptor me) {
        int accepted = 0;
        while (!server.listener.isClosed()) {
            Socket client;
            try {
                // One acceptor at a time is in accept(2): the others wait for the socket's lock.
                log("waiting in accept()");
                client = server.listener.accept();
            } catch (IOException e) {
                if (!server.listener.isClosed()) log("accept failed: %s", e.getMessage());
                continue;
            }
            me.holding.set(client);
            accepted++;
            log("accepted %s (connection #%d for this acceptor)", client.getRemoteSocketAddress(), accepted);
            if (accepted == server.config.crashEvery()) {
                throw new IllegalStateException("crashed on purpose after " + accepted + " connections");
            }
            admit(server, client);
            me.holding.set(null);
        }
    }

    /// Lets a connection in if a worker or a place in the queue is free; otherwise tells it to come back.
    static void admit(Server server, Socket client) {
        if (server.places.tryAcquire()) {
            server.connections.add(client);
            server.waiting.add(client);
            log("admitted %s; %d of %d workers busy, %d waiting", client.getRemoteSocketAddress(),
                    server.busyWorkers.get(), server.config.workers(), server.waiting.size());
        } else {
            server.refused.incrementAndGet();
            log("full (%d serving, %d waiting): telling %s to try later", server.config.workers(),
                    server.config.queue(), client.getRemoteSocketAddress());
            Thread.ofVirtual().name("refuser").start(() -> refuse(client, BUSY));
        }
    }
    // end::accept[]

    // tag::work[]
    static void work(Server server) {
        try {
            while (true) {
                Socket client = server.waiting.take();    // an idle worker waits here
                server.busyWorkers.incrementAndGet();
                try {
                    serve(server, client);
                } finally {
                    server.busyWorkers.decrementAndGet();
                    server.connections.remove(client);
                    server.places.release();              // its place goes to the next client
                }
            }
        } catch (InterruptedException e) {
            // The server is closing.
        }
    }
    // end::work[]

    static void serve(Server server, Socket client) {
        log("serving %s", client.getRemoteSocketAddress());
        try (client) {
            client.setTcpNoDelay(true);
            // A read deadline: a client that sends nothing for this long loses its worker. Each byte
            // that arrives starts the wait again, so a client that trickles bytes keeps it.
            client.setSoTimeout((int) server.config.readDeadline().toMillis());
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = client.getOutputStream();
            try {
                for (String line; (line = readLine(in, MAX_LINE)) != null; ) {
                    trace("read \"%s\"; answering", line);
                    out.write(("ECHO " + line + "\n").getBytes(StandardCharsets.UTF_8));
                }
                log("end of stream: %s left; free for the next", client.getRemoteSocketAddress());
            } catch (SocketTimeoutException e) {
                log("%s sent nothing for %d s: closing it; the worker is free for the next",
                        client.getRemoteSocketAddress(), server.config.readDeadline().toSeconds());
            } catch (LineTooLongException e) {
                log("refused: %s", e.getMessage());
                refuse(client, "ERROR " + e.getMessage() + "; closing");
            }
        } catch (IOException e) {
            log("connection ended: %s", e.getMessage());
        }
    }

    /// Lesson 05's bounded `readLine`: text up to the next `\n`, null at end of stream, and a line
    /// longer than `max` bytes refused before it can fill memory.
    static String readLine(InputStream in, int max) throws IOException {
        var line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; line.write(b)) {
            if (b == -1) return line.size() == 0 ? null : text(line);
            if (line.size() == max) throw new LineTooLongException("line longer than " + max + " bytes");
        }
        return text(line);
    }

    static String text(ByteArrayOutputStream bytes) {
        String s = bytes.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /// Sends a last line, then FIN, drains what the client still sends for a moment (so that closing
    /// does not become a reset that destroys the line, see lesson 05), and closes.
    static void refuse(Socket client, String message) {
        try (client) {
            client.getOutputStream().write((message + "\n").getBytes(StandardCharsets.UTF_8));
            client.shutdownOutput();
            client.setSoTimeout(1_000);
            client.getInputStream().skip(1 << 20);
        } catch (SocketTimeoutException e) {
            // The client went quiet without closing: we waited long enough.
        } catch (IOException e) {
            log("could not refuse %s cleanly: %s", client.getRemoteSocketAddress(), e.getMessage());
        }
    }

    static final class LineTooLongException extends IOException {
        LineTooLongException(String message) { super(message); }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/11_PooledServer.java [options]

            A line echo server ("ECHO <line>") with bounds: a fixed pool of workers, a bounded
            queue of waiting connections, and K acceptors watched by a supervisor.

              --port N          the TCP port (default %d; 0 picks any free port)
              --workers N       connections served at once (default 4)
              --queue Q         connections that may wait for a worker (default 4); beyond that
                                a client gets "%s" and is closed
              --acceptors K     threads taking turns in accept() on the one listening socket (default 2)
              --crash-every N   make each acceptor die on purpose after N connections (default never)
              --deadline S      close a client that sends nothing for S seconds (default %d)
              --help            print this help and exit

            Then, in another terminal:  nc -N localhost 1234
            (-N: when you press Ctrl-D, nc shuts down its sending side, and the lesson sees end of stream)
            """.formatted(DEFAULT_PORT, BUSY, READ_DEADLINE.toSeconds());

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        var config = new Config(commandLine.port(DEFAULT_PORT),
                commandLine.number("--workers", 4, 1, 10_000),
                commandLine.number("--queue", 4, 0, 1_000_000),
                commandLine.number("--acceptors", 2, 1, 100),
                commandLine.number("--crash-every", 0, 1, 1_000_000),
                Duration.ofSeconds(commandLine.number("--deadline", (int) READ_DEADLINE.toSeconds(), 1, 86_400)));
        commandLine.done();
        try (Server server = start(config)) {
            log("listening on %s:%d (workers: %d, queue: %d, acceptors: %d%s); try: nc -N localhost %d",
                    server.listener.getInetAddress().getHostAddress(), server.port(), config.workers(),
                    config.queue(), config.acceptors(),
                    config.crashEvery() > 0 ? ", each dies after " + config.crashEvery() + " connections" : "",
                    server.port());
            server.supervisor.join();
        } catch (BindException e) {
            CommandLine.exitPortInUse(config.port(), e);
        }
    }

    /// Prints a line of narration: the time, the thread, what happens.
    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    /// Narration for every message. `-Dsocketlab.quiet=true` turns it off for the benchmark.
    static void trace(String format, Object... args) {
        if (!QUIET) log(format, args);
    }

    static final boolean QUIET = Boolean.getBoolean("socketlab.quiet");

    /// `--help`, options `--name value` (or `--name=value`) and flags `--name`. A mistake prints what
    /// is wrong and the usage, and exits 2; a port in use prints one line, and exits 1.
    record CommandLine(String usage, List<String> args) {
        CommandLine(String usage, String[] args) {
            this(usage, new ArrayList<>());
            // --port=1234 becomes --port 1234; a split limit of 1 leaves any other argument whole.
            for (String arg : args) this.args.addAll(List.of(arg.split("=", arg.startsWith("--") ? 2 : 1)));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        int port(int otherwise) { return number("--port", otherwise, 0, 65_535); }

        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        String text(String name, String otherwise) {
            int at = args.indexOf(name);
            if (at == -1) return otherwise;
            if (at + 1 == args.size()) throw fail(name + " needs a value");
            args.remove(at);
            return args.remove(at);
        }

        boolean flag(String name) { return args.remove(name); }

        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.print("error: " + problem + "\n" + usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
