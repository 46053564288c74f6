///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Lesson 08 · Non-blocking echo — one thread and a Selector serve every client: wait for readiness, never for a client.
///
/// Run it: `./jbang lessons/08_NonBlockingEcho.java [--port 1234]`; talk to it: `nc -N localhost 1234`.
/// Chapter: docs/chapters/08-non-blocking-echo.adoc · Test: lessons/test/NonBlockingEchoTest.java ·
/// Lab: labs/02-event-loop-echo
/// Not here: an idle timeout and a deadline for refused clients (lesson 11 has a read deadline),
/// several loops on several cores (Netty, lesson 20), messages that are not lines (lesson 15).
class NonBlockingEcho {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;
    /// Replies kept for a client that does not read them: past this, stop reading from it.
    static final int MAX_UNSENT = 64 * 1024;
    /// Finished connections the kernel may queue before the loop accepts them. The JDK's default,
    /// 50, keeps a crowd of clients in SYN retries for seconds. Linux caps it at net.core.somaxconn.
    static final int BACKLOG = 1024;

    // Non-blocking calls without a Selector, and what polling costs: try them in jshell (chapter 08).
    // tag::raw[]
    /// What a stretch of waiting cost the thread: wall-clock time, CPU time, calls that found nothing.
    record Spent(Duration wall, Duration cpu, long emptyCalls) {}

    /// Asks a non-blocking socket for data again and again until `duration` has passed: a busy loop.
    static Spent pollWithoutWaiting(SocketChannel channel, Duration duration) throws IOException {
        channel.configureBlocking(false);
        ByteBuffer buffer = ByteBuffer.allocate(1024);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long cpuStart = threads.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        long empty = 0;
        while (System.nanoTime() - start < duration.toNanos()) {
            if (channel.read(buffer) == 0) empty++;     // nothing yet: ask again, at once
        }
        return new Spent(Duration.ofNanos(System.nanoTime() - start),
                Duration.ofNanos(threads.getCurrentThreadCpuTime() - cpuStart), empty);
    }

    /// Waits as long for the same socket with a Selector: the thread sleeps in the kernel (epoll_wait).
    static Spent waitWithSelector(SocketChannel channel, Duration duration) throws IOException {
        channel.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            channel.register(selector, SelectionKey.OP_READ);
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long cpuStart = threads.getCurrentThreadCpuTime();
            long start = System.nanoTime();
            int ready = selector.select(duration.toMillis());
            return new Spent(Duration.ofNanos(System.nanoTime() - start),
                    Duration.ofNanos(threads.getCurrentThreadCpuTime() - cpuStart), ready == 0 ? 1 : 0);
        }
    }
    // end::raw[]

    // tag::connection[]
    /// One client's state, kept between events: the part of a line not complete yet, and the
    /// replies the kernel did not take yet.
    static final class Connection {
        final SocketChannel channel;
        final String name;
        ByteBuffer line = ByteBuffer.allocate(256);      // doubles as needed, up to MAX_LINE
        ByteBuffer unsent = ByteBuffer.allocate(0);      // replies the kernel did not take yet
        volatile int unsentBytes;
        boolean peerClosed;                              // end of stream seen: close once all is sent
        boolean refused;                                 // line too long: send the error, then close
        volatile long reads;                             // for the tests: how often, and by whom,
        volatile Thread servedBy;                        // this connection was read

        Connection(SocketChannel channel) throws IOException {
            this.channel = channel;
            this.name = "client " + ((InetSocketAddress) channel.getRemoteAddress()).getPort();
        }
    }
    // end::connection[]

    /// A running server: one listening channel, one Selector, one thread that runs the loop.
    static final class Server implements AutoCloseable {
        final ServerSocketChannel listener;
        final Selector selector = Selector.open();
        final Set<Connection> connections = ConcurrentHashMap.newKeySet();
        // Buffers for input and replies, reused for every event; direct: the kernel copies in and out.
        final ByteBuffer input = ByteBuffer.allocateDirect(64 * 1024);
        final ByteBuffer replies = ByteBuffer.allocateDirect(64 * 1024 + MAX_LINE + 1);
        final Thread loop;
        volatile boolean closing;

        Server(ServerSocketChannel listener) throws IOException {
            this.listener = listener;
            listener.configureBlocking(false).register(selector, SelectionKey.OP_ACCEPT);
            this.loop = Thread.ofPlatform().name("event-loop").start(this::run);
        }

        int port() { return listener.socket().getLocalPort(); }

        @Override
        public void close() {
            closing = true;
            selector.wakeup();                      // select() returns at once; the loop sees `closing`
            try {
                loop.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // asked to stop waiting: keep the flag for our caller
            }
        }

        // tag::loop[]
        /// The event loop: sleep until the kernel says some sockets are ready, handle each, repeat.
        void run() {
            try (selector; listener) {
                while (!closing) selector.select(this::handle);     // epoll_wait: no CPU while nothing happens
            } catch (IOException e) {
                log("the event loop failed: %s", e.getMessage());
            } finally {
                for (Connection c : connections) close(c);
                log("event loop ended; listening socket closed");
            }
        }

        void handle(SelectionKey key) {
            if (key.isAcceptable()) acceptAll();
            if (!(key.attachment() instanceof Connection c)) return;    // the listener's key has none
            try {
                if (key.isReadable()) read(key, c);
                if (key.isValid() && key.isWritable()) writeUnsent(key, c);
            } catch (IOException e) {
                trace("%s: %s; closing it", c.name, e.getMessage());   // a reset: this client only
                close(c);
            }
        }
        // end::loop[]

        // tag::accept[]
        void acceptAll() {
            while (true) {
                SocketChannel channel = null;
                try {
                    channel = listener.accept();
                    if (channel == null) return;                    // nobody else is waiting
                    channel.configureBlocking(false);
                    channel.setOption(StandardSocketOptions.TCP_NODELAY, true);   // echo at once
                    var c = new Connection(channel);
                    channel.register(selector, SelectionKey.OP_READ, c);
                    connections.add(c);
                    trace("accepted %s (%,d open)", channel.getRemoteAddress(), connections.size());
                } catch (IOException e) {           // out of file descriptors, or a client gone at once
                    log("accept failed: %s", e.getMessage());
                    if (channel == null) return;
                    closeQuietly(channel);
                }
            }
        }
        // end::accept[]

        // tag::read[]
        /// Reads what is there (never waits), completes lines, and echoes every complete one.
        void read(SelectionKey key, Connection c) throws IOException {
            c.servedBy = Thread.currentThread();
            c.reads++;
            input.clear();
            int n = c.channel.read(input);
            if (n == -1) {
                endOfStream(key, c);
                return;
            }
            if (c.refused) return;                  // after an error we only read to discard
            input.flip();
            replies.clear();
            int lines = 0;
            while (input.hasRemaining()) {
                byte b = input.get();
                if (b == '\n') {
                    replies.put(c.line.flip()).put(b);
                    c.line.clear();
                    lines++;
                } else if (c.line.position() == MAX_LINE) {
                    send(key, c, replies.flip());
                    refuse(key, c, "line longer than " + MAX_LINE + " bytes");
                    return;
                } else {
                    if (!c.line.hasRemaining()) c.line = ByteBuffer.allocate(2 * c.line.capacity()).put(c.line.flip());
                    c.line.put(b);
                }
            }
            trace("%s: read %d bytes, %d complete line(s), %d bytes of a line waiting for more",
                    c.name, n, lines, c.line.position());
            send(key, c, replies.flip());
        }
        // end::read[]

        void endOfStream(SelectionKey key, Connection c) throws IOException {
            trace("%s: end of stream", c.name);
            c.peerClosed = true;
            if (c.line.position() > 0 && !c.refused) {         // a last line without '\n' still counts
                send(key, c, replies.clear().put(c.line.flip()).put((byte) '\n').flip());
            }
            if (c.unsentBytes == 0) close(c);
            else updateInterest(key, c);                      // close once the rest is written
        }

        // tag::send[]
        /// Writes what the kernel takes now; keeps the rest and asks for OP_WRITE. Never waits.
        void send(SelectionKey key, Connection c, ByteBuffer bytes) throws IOException {
            if (c.unsentBytes == 0) c.channel.write(bytes);  // writes what fits in the send buffer
            if (!bytes.hasRemaining()) return;
            if (c.unsent.remaining() < bytes.remaining()) {  // make room: the one place the loop allocates
                c.unsent = ByteBuffer.allocate(c.unsentBytes + Math.max(bytes.remaining(), c.unsentBytes))
                        .put(c.unsent.flip());
            }
            c.unsentBytes = c.unsent.put(bytes).position();
            trace("%s: the kernel is full; %,d bytes wait for OP_WRITE", c.name, c.unsentBytes);
            updateInterest(key, c);
        }

        /// The socket is writable again: write what was kept, in order.
        void writeUnsent(SelectionKey key, Connection c) throws IOException {
            c.channel.write(c.unsent.flip());
            c.unsentBytes = c.unsent.compact().position();
            if (c.unsentBytes == 0 && c.peerClosed) {
                close(c);
            } else {
                if (c.unsentBytes == 0 && c.refused) c.channel.shutdownOutput();
                updateInterest(key, c);
            }
        }

        /// OP_WRITE while replies wait; OP_READ unless this client already has too many unread
        /// replies: then the loop stops reading from it, and TCP slows that client down, alone.
        static void updateInterest(SelectionKey key, Connection c) {
            boolean reading = !c.peerClosed && c.unsentBytes < MAX_UNSENT;
            boolean wasReading = (key.interestOps() & SelectionKey.OP_READ) != 0;
            key.interestOps((c.unsentBytes == 0 ? 0 : SelectionKey.OP_WRITE) | (reading ? SelectionKey.OP_READ : 0));
            if (reading && !wasReading) log("%s: replies taken; OP_READ on again", c.name);
            if (wasReading && !reading && !c.peerClosed) {
                log("%s: %,d bytes of replies not taken; OP_READ off until it reads them", c.name, c.unsentBytes);
            }
        }
        // end::send[]

        /// Sends an error line, then FIN once it is out; what the client still sends is read and
        /// discarded (closing with unread bytes would send a reset that can destroy the error line).
        /// A real server would also close a refused client that never closes, after a grace period.
        void refuse(SelectionKey key, Connection c, String reason) throws IOException {
            log("%s: refused: %s", c.name, reason);
            c.refused = true;
            send(key, c, ByteBuffer.wrap(("ERROR " + reason + "; closing\n").getBytes(StandardCharsets.UTF_8)));
            if (c.unsentBytes == 0) c.channel.shutdownOutput();
            updateInterest(key, c);
        }

        void close(Connection c) {
            closeQuietly(c.channel);                // closing a channel also cancels its key
            if (connections.remove(c)) trace("%s: closed (%,d open)", c.name, connections.size());
        }

        static void closeQuietly(SocketChannel channel) {
            try {
                channel.close();
            } catch (IOException e) {
                // Closing a socket that already failed: nothing more to do.
            }
        }
    }

    static Server start(int port) throws IOException {
        // Create the listening channel and bind it to loopback: only this machine can connect.
        var loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        return new Server(ServerSocketChannel.open().bind(loopback, BACKLOG));
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/08_NonBlockingEcho.java [--port N] [--help]

            A line echo server with one thread: non-blocking sockets and a Selector that says
            which of them are ready. Many clients, no thread per client, nobody waits for anybody.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal:  nc -N localhost 1234
            (-N: when you press Ctrl-D, nc shuts down its sending side, and the lesson sees end of stream)
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try (Server server = start(port)) {
            log("listening on %s:%d (one event-loop thread); try: nc -N localhost %d",
                    server.listener.socket().getInetAddress().getHostAddress(), server.port(), server.port());
            server.loop.join();
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
