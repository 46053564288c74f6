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
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/// Lesson 07 · Hybrid echo ("active once") — the reader delivers one line, then waits until the owner re-arms it.
///
/// Run it: `./jbang lessons/07_HybridEcho.java [--port 1234] [--paused]`; talk to it: `nc -N localhost 1234`.
/// Chapter: docs/chapters/07-hybrid-echo.adoc · Test: lessons/test/HybridEchoTest.java
/// Not here: Erlang's `{active, N}` (an exercise in chapter 06), many clients on one thread
/// (lesson 08), a bounded number of threads (lesson 11).
class HybridEcho {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;
    /// The receive buffer asked for on every connection: small, so that a stalled reader closes
    /// TCP's window after kilobytes (Linux grows an untouched buffer to megabytes).
    static final int RECEIVE_BUFFER = 16 * 1024;
    /// How many finished connections the kernel may hold for us before accept() takes them. The
    /// JDK's default is 50: a crowd of 2,000 clients then waits in SYN retries for half a minute.
    /// Linux caps the number at net.core.somaxconn.
    static final int BACKLOG = 1024;

    /// What a reader tells its owner. Erlang's runtime sends the same three:
    /// `{:tcp, socket, data}`, `{:tcp_closed, socket}`, `{:tcp_error, socket, reason}`.
    sealed interface Message permits Data, Closed, Failed {}
    record Data(String line) implements Message {}
    record Closed() implements Message {}
    record Failed(IOException error) implements Message {}

    // tag::connection[]
    /// Where the reader is: waiting for the owner to re-arm it, reading a line, or finished.
    enum ReaderState { DISARMED, READING, DONE }

    /// One client: its socket, the mailbox its owner takes messages from, and the reader's switch.
    static final class Connection {
        final Socket socket;
        final BlockingQueue<Message> mailbox = new LinkedBlockingQueue<>();
        final AtomicInteger highWater = new AtomicInteger();
        /// One permit = the reader may deliver one message. The owner gives it; the reader uses it up.
        final Semaphore armed = new Semaphore(0);
        volatile ReaderState readerState = ReaderState.DISARMED;
        volatile Thread reader;
        volatile Thread owner;
        long delivered;                         // touched by the reader only

        Connection(Socket socket) { this.socket = socket; }

        /// Called by the owner, like `:inet.setopts(socket, active: :once)`: one more message, please.
        void arm() { armed.release(); }

        /// Called by the reader: wait until the owner has asked for a message.
        void awaitArmed() throws InterruptedException {
            readerState = ReaderState.DISARMED;
            armed.acquire();
            readerState = ReaderState.READING;
        }

        /// Called by the reader: put the one message it was armed for in the mailbox.
        void deliver(Message message) {
            mailbox.add(message);
            int depth = mailbox.size();
            highWater.accumulateAndGet(depth, Math::max);
            delivered++;
            if (worthTelling(delivered)) {
                trace("delivered message %,d, %.60s; mailbox depth %d; disarmed until the owner asks again",
                        delivered, message, depth);
            }
        }

        /// Where the reader is, how many messages wait for the owner, the most that ever waited.
        ReaderState readerState() { return readerState; }
        int mailboxDepth() { return mailbox.size(); }
        int mailboxHighWater() { return highWater.get(); }
    }
    // end::connection[]

    /// The owners' pause switch: while it is on, owners take no messages, like a busy process.
    /// An owner already waiting for a message takes that one; the pause starts with the next.
    static final class PauseSwitch {
        private boolean paused;
        synchronized void set(boolean paused) { this.paused = paused; notifyAll(); }
        synchronized void awaitResumed() throws InterruptedException { while (paused) wait(); }
    }

    /// A running server: its port, its connections, a pause switch for the owners, and `close()`.
    record Server(ServerSocket listener, Set<Connection> connections, PauseSwitch owners, Thread acceptor)
            implements AutoCloseable {
        int port() { return listener.getLocalPort(); }

        void pauseOwners() { log("owners paused: they take no messages until resumed"); owners.set(true); }
        void resumeOwners() { log("owners resumed"); owners.set(false); }

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
        listener.setReceiveBufferSize(RECEIVE_BUFFER);          // accepted sockets inherit it
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        Set<Connection> connections = ConcurrentHashMap.newKeySet();
        var owners = new PauseSwitch();
        Thread acceptor = Thread.ofPlatform().name("acceptor")
                .start(() -> acceptLoop(listener, connections, owners));
        return new Server(listener, connections, owners, acceptor);
    }

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

    // tag::reader[]
    /// The reader: wait to be armed, read one line, deliver it, and wait again. While it waits,
    /// nobody reads the socket: the kernel's receive buffer fills and TCP stops the sender.
    static void read(Connection connection) {
        try {
            InputStream in = new BufferedInputStream(connection.socket.getInputStream());
            while (true) {
                connection.awaitArmed();
                String line = readLine(in, MAX_LINE);
                if (line == null) {
                    connection.deliver(new Closed());
                    return;
                }
                connection.deliver(new Data(line));
            }
        } catch (IOException e) {
            connection.deliver(new Failed(e));
        } catch (InterruptedException e) {
            // The owner is gone: nobody will arm us again.
        } finally {
            connection.readerState = ReaderState.DONE;
        }
    }
    // end::reader[]

    // tag::owner[]
    /// The owner: arm the reader for one message, take it from the mailbox, act on it; again.
    static void own(Connection connection, PauseSwitch owners, Set<Connection> connections) {
        Socket client = connection.socket;
        try (client) {
            OutputStream out = client.getOutputStream();
            long handled = 0;
            while (true) {
                connection.arm();
                owners.awaitResumed();
                Message message = connection.mailbox.take();
                handled++;
                switch (message) {
                    case Data(String line) -> {
                        if (worthTelling(handled)) {
                            trace("took message %,d: echoing \"%s\" (%,d still waiting)",
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
            connection.reader.interrupt();          // a reader waiting to be armed ends
            connections.remove(connection);
        }
    }
    // end::owner[]

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

    /// Sends a last line, then FIN, then reads and discards what still comes, so that no reset
    /// destroys the line (lesson 05 explains why).
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
        LineTooLongException(String message) { super(message); }
    }

    /// Narrate the first few, then only at 4, 8, 16, ...: a flood must not drown the console.
    static boolean worthTelling(long n) {
        return n <= 3 || Long.bitCount(n) == 1;
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/07_HybridEcho.java [--port N] [--paused] [--help]

            A line echo server in "active once" mode: a reader thread reads one line, puts it
            in the owner's mailbox as a message, and waits until the owner re-arms it. A slow
            owner therefore slows the reader, the kernel's buffers fill, and TCP makes the
            sender wait: backpressure, end to end.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --paused   start with the owners paused, until you press Enter here: flood the
                         server meanwhile and watch the sender stall
              --help     print this help and exit

            Then, in another terminal:  nc -N localhost 1234
            (-N: when you press Ctrl-D, nc shuts down its sending side, and the lesson sees end of stream)
            A fast sender:  seq -f 'line %%07.0f' 1000000 | nc -N localhost 1234 | wc -l
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        boolean paused = commandLine.flag("--paused");
        commandLine.done();
        try (Server server = start(port)) {
            if (paused) server.pauseOwners();
            log("listening on %s:%d (active once mode); try: nc -N localhost %d",
                    server.listener().getInetAddress().getHostAddress(), server.port(), server.port());
            if (paused) {
                log("press Enter here to resume the owners");
                System.in.read();
                server.resumeOwners();
            }
            server.acceptor().join();
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
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
