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
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/// Lesson 06 · Active echo — a reader pushes every line into its owner's mailbox; nothing ever makes the sender wait.
///
/// Run it: `./jbang lessons/06_ActiveEcho.java [--port 1234] [--demo]`; talk to it: `nc localhost 1234`.
/// Read: docs/chapters/06-active-echo.adoc
class ActiveEcho {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;
    /// The receive buffer asked for on every connection: small, the same as lesson 07's, so that
    /// the kernel can hide very little (Linux grows an untouched buffer to megabytes).
    static final int RECEIVE_BUFFER = 16 * 1024;

    static final String USAGE = """
            Usage: ./jbang lessons/06_ActiveEcho.java [--port N] [--demo] [--help]

            A line echo server in active mode: a reader thread reads every line as soon as it
            arrives and pushes it, as a message, into the mailbox of the connection's owner,
            which takes messages one at a time and echoes them.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --demo     pause the owner and let a fast sender flood it: watch the mailbox grow
              --help     print this help and exit

            Then, in another terminal:  nc localhost 1234
            """.formatted(DEFAULT_PORT);

    // tag::messages[]
    /// What a reader tells its owner. Erlang's runtime sends the same three:
    /// `{:tcp, socket, data}`, `{:tcp_closed, socket}`, `{:tcp_error, socket, reason}`.
    sealed interface Message permits Data, Closed, Failed {}
    record Data(String line) implements Message {}
    record Closed() implements Message {}
    record Failed(IOException error) implements Message {}
    // end::messages[]

    // tag::connection[]
    /// One client: its socket, and the mailbox its owner takes messages from.
    static final class Connection {
        final Socket socket;
        /// No bound: `add` never waits. That is what makes this mode active, and dangerous.
        final BlockingQueue<Message> mailbox = new LinkedBlockingQueue<>();
        final AtomicInteger highWater = new AtomicInteger();
        volatile Thread reader;
        volatile Thread owner;

        Connection(Socket socket) {
            this.socket = socket;
        }

        /// Called by the reader: put a message in the mailbox and go straight back to reading.
        void deliver(Message message) {
            mailbox.add(message);
            int depth = mailbox.size();
            highWater.accumulateAndGet(depth, Math::max);
            if (worthTelling(depth)) log("mailbox depth %,d after %s", depth, shortened(message));
        }

        /// How many messages wait for the owner now.
        int mailboxDepth() {
            return mailbox.size();
        }

        /// The most messages the mailbox ever held at once.
        int mailboxHighWater() {
            return highWater.get();
        }
    }
    // end::connection[]

    /// The owners' pause switch: while it is on, owners take no messages, like a busy process.
    /// An owner already waiting for a message takes that one; the pause starts with the next.
    static final class PauseSwitch {
        private boolean paused;

        synchronized void pause() {
            paused = true;
        }

        synchronized void resume() {
            paused = false;
            notifyAll();
        }

        synchronized void awaitResumed() throws InterruptedException {
            while (paused) wait();
        }
    }

    /// A running server: its port, its connections, a pause switch for the owners, and `close()`.
    record Server(ServerSocket listener, Set<Connection> connections, PauseSwitch owners, Thread acceptor)
            implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        void pauseOwners() {
            log("owners paused: they take no messages until resumed");
            owners.pause();
        }

        void resumeOwners() {
            log("owners resumed");
            owners.resume();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Connection c : connections) {
                c.owner.interrupt();                // a paused or waiting owner ends
                c.socket.close();                   // a reader blocked in read() wakes with an exception
            }
        }
    }

    static Server start(int port) throws IOException {
        // Create the listening socket and bind it to loopback: only this machine can connect.
        var listener = new ServerSocket();
        try {
            listener.setReceiveBufferSize(RECEIVE_BUFFER);     // accepted sockets inherit it
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        } catch (IOException e) {
            listener.close();
            throw e;
        }
        Set<Connection> connections = ConcurrentHashMap.newKeySet();
        var owners = new PauseSwitch();
        Thread acceptor = Thread.ofPlatform().name("acceptor")
                .start(() -> acceptLoop(listener, connections, owners));
        return new Server(listener, connections, owners, acceptor);
    }

    // tag::accept[]
    static void acceptLoop(ServerSocket listener, Set<Connection> connections, PauseSwitch owners) {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                log("accepted %s -> %s", client.getRemoteSocketAddress(), client.getLocalSocketAddress());
                var connection = new Connection(client);
                // Two threads a connection: the reader pushes, the owner takes from its mailbox.
                connection.owner = Thread.ofVirtual().name("owner " + client.getPort()).unstarted(
                        () -> own(connection, owners, connections));
                connection.reader = Thread.ofVirtual().name("reader " + client.getPort()).unstarted(
                        () -> read(connection));
                connections.add(connection);
                connection.owner.start();
                connection.reader.start();
            } catch (IOException e) {
                if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
            }
        }
        log("listening socket closed; no more clients");
    }
    // end::accept[]

    // tag::reader[]
    /// The reader: read each line the moment it arrives and push it into the owner's mailbox.
    /// It never asks whether the owner keeps up.
    static void read(Connection connection) {
        try {
            InputStream in = new BufferedInputStream(connection.socket.getInputStream());
            while (true) {
                String line = readLine(in, MAX_LINE);
                if (line == null) {
                    connection.deliver(new Closed());
                    return;
                }
                connection.deliver(new Data(line));
            }
        } catch (IOException e) {
            connection.deliver(new Failed(e));
        }
    }
    // end::reader[]

    // tag::owner[]
    /// The owner: take one message at a time from the mailbox, like Erlang's `receive`, and act on it.
    static void own(Connection connection, PauseSwitch owners, Set<Connection> connections) {
        Socket client = connection.socket;
        try (client) {
            OutputStream out = client.getOutputStream();
            long handled = 0;
            while (true) {
                owners.awaitResumed();
                Message message = connection.mailbox.take();
                handled++;
                switch (message) {
                    case Data(String line) -> {
                        if (worthTelling(handled)) {
                            log("took message %,d: echoing \"%s\" (%,d still waiting)",
                                    handled, line, connection.mailboxDepth());
                        }
                        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                    }
                    case Closed() -> {
                        log("the client closed its side; closing ours");
                        return;
                    }
                    case Failed(LineTooLongException e) -> {
                        log("refused: %s", e.getMessage());
                        refuse(client, "ERROR " + e.getMessage() + "; closing");
                        return;
                    }
                    case Failed(IOException e) -> {
                        log("connection failed: %s", e.getMessage());
                        return;
                    }
                }
            }
        } catch (IOException e) {
            log("connection ended: %s", e.getMessage());
        } catch (InterruptedException e) {
            log("owner stopped: the server is closing");
        } finally {
            connections.remove(connection);
        }
    }
    // end::owner[]

    /// Reads bytes up to the next `\n` and returns them as text without the line ending, or null at
    /// end of stream. A line longer than `max` bytes is refused before it can fill memory.
    static String readLine(InputStream in, int max) throws IOException {
        var line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b == -1) {
                return line.size() == 0 ? null : text(line);
            }
            if (b == '\n') {
                return text(line);
            }
            if (line.size() == max) {
                throw new LineTooLongException("line longer than " + max + " bytes");
            }
            line.write(b);
        }
    }

    static String text(ByteArrayOutputStream bytes) {
        String s = bytes.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /// Sends a last line, then FIN, then reads and discards what still comes, so no reset destroys it.
    static void refuse(Socket client, String message) throws IOException {
        client.getOutputStream().write((message + "\n").getBytes(StandardCharsets.UTF_8));
        client.shutdownOutput();
        client.setSoTimeout(2_000);
        try {
            client.getInputStream().skip(1 << 20);
        } catch (SocketTimeoutException e) {
            // The client went quiet without closing: we waited long enough.
        }
    }

    static final class LineTooLongException extends IOException {
        LineTooLongException(String message) {
            super(message);
        }
    }

    /// Narrate the first few, then only at 4, 8, 16, ...: a flood must not drown the console.
    static boolean worthTelling(long n) {
        return n <= 3 || Long.bitCount(n) == 1;
    }

    static String shortened(Message message) {
        String text = message.toString();
        return text.length() <= 60 ? text : text.substring(0, 57) + "...";
    }

    // tag::demo[]
    /// A fast sender against a paused owner, in this same program: the mailbox grows and the
    /// sender never slows down. Then the owner resumes and every line comes back, in order.
    static void demo(Server server, int lines) throws Exception {
        server.pauseOwners();
        try (var sender = new Socket()) {
            sender.setSendBufferSize(16 * 1024);    // small, like the server's receive buffer
            sender.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()));
            sender.setSoTimeout(30_000);
            var written = new AtomicLong();
            Thread fastSender = Thread.ofPlatform().name("fast sender").start(() -> {
                try {
                    OutputStream out = sender.getOutputStream();
                    for (int i = 1; i <= lines; i++) {
                        out.write(demoLine(i));
                        written.addAndGet(64);
                    }
                } catch (IOException e) {
                    log("sender stopped: %s", e.getMessage());
                }
            });
            long start = System.nanoTime();
            // Report every quarter second until the sender is done, and twice more.
            for (int after = 0; after < 2; after += fastSender.isAlive() ? 0 : 1) {
                Thread.sleep(Duration.ofMillis(250));
                int depth = server.connections().stream().mapToInt(Connection::mailboxDepth).sum();
                System.out.printf("DEMO t=%4.2fs  sender wrote %,5d KiB%s  mailbox %,7d messages%n",
                        (System.nanoTime() - start) / 1e9, written.get() / 1024,
                        fastSender.isAlive() ? "       " : " (done)", depth);
            }
            server.resumeOwners();
            InputStream echoes = new BufferedInputStream(sender.getInputStream());
            for (int i = 1; i <= lines; i++) {
                String expected = new String(demoLine(i), StandardCharsets.UTF_8).strip();
                if (!expected.equals(readLine(echoes, MAX_LINE))) throw new IOException("line " + i + " lost");
            }
            System.out.printf("DEMO all %,d lines came back, in order, once the owner resumed%n", lines);
        }
    }
    // end::demo[]

    /// Line `i` of the demo: 63 bytes and a newline.
    static byte[] demoLine(int i) {
        return "line %08d %s\n".formatted(i, "x".repeat(49)).getBytes(StandardCharsets.UTF_8);
    }

    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    public static void main(String[] args) throws Exception {
        int port = DEFAULT_PORT;
        boolean demo = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--port" -> {
                    if (i + 1 == args.length) usageError("--port needs a number");
                    port = parseNumber(args[++i]);
                    if (port < 0 || port > 65_535) usageError("a port is a number from 0 to 65535, not " + port);
                }
                case "--demo" -> demo = true;
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        try (Server server = start(port)) {
            log("listening on %s:%d (active mode); try: nc localhost %d",
                    server.listener().getInetAddress().getHostAddress(), server.port(), server.port());
            if (demo) {
                demo(server, 100_000);
                return;
            }
            server.acceptor().join();
        } catch (BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        } catch (SocketException e) {
            System.err.println("Cannot listen on port " + port + ": " + e.getMessage());
            System.exit(1);
        }
    }

    static int parseNumber(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            usageError("not a number: " + text);
            return -1;
        }
    }

    static void usageError(String problem) {
        System.err.println("error: " + problem);
        System.err.print(USAGE);
        System.exit(2);
    }
}
