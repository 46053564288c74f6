///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Lesson 08 · Non-blocking echo — one thread and a Selector serve every client: wait for readiness, never for a client.
///
/// Run it: `./jbang lessons/08_NonBlockingEcho.java [--port 1234] [--quiet] [--raw]`; talk to it: `nc localhost 1234`.
/// Read: docs/chapters/08-non-blocking-echo.adoc
class NonBlockingEcho {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;
    /// Replies kept for a client that does not read them: past this, stop reading from it.
    static final int MAX_UNSENT = 64 * 1024;
    /// Connections the kernel may queue before the loop accepts them (the JDK's default is 50).
    static final int BACKLOG = 1024;
    /// How long a refused client may go on sending before the server closes anyway.
    static final Duration REFUSAL_GRACE = Duration.ofSeconds(2);

    static final String USAGE = """
            Usage: ./jbang lessons/08_NonBlockingEcho.java [--port N] [--quiet] [--raw] [--help]

            A line echo server with one thread: non-blocking sockets and a Selector that says
            which of them are ready. Many clients, no thread per client, nobody waits for anybody.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --quiet    narrate little: no reads, no resets, only some connections (for measuring)
              --raw      show non-blocking calls without a Selector, and what polling costs; then exit
              --help     print this help and exit

            Then, in another terminal:  nc localhost 1234
            """.formatted(DEFAULT_PORT);

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

    /// `--raw`: a non-blocking accept with nobody there, a non-blocking read with nothing sent,
    /// then one second of polling against one second in a Selector.
    static void showRawBehaviour() throws IOException {
        try (var listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            listener.configureBlocking(false);
            log("non-blocking accept() with no client waiting returned %s", listener.accept());
            try (var client = SocketChannel.open(listener.getLocalAddress());
                 var connection = awaitAccept(listener)) {
                log("connected %s -> %s; nothing sent yet", client.getLocalAddress(), client.getRemoteAddress());
                connection.configureBlocking(false);
                log("non-blocking read() with nothing sent returned %d", connection.read(ByteBuffer.allocate(64)));
                Spent polling = pollWithoutWaiting(connection, Duration.ofSeconds(1));
                log("polling for %d ms: %,d reads found nothing, CPU time %.1f ms",
                        polling.wall().toMillis(), polling.emptyCalls(), polling.cpu().toNanos() / 1e6);
                Spent selecting = waitWithSelector(connection, Duration.ofSeconds(1));
                log("waiting in select() for %d ms: CPU time %.1f ms", selecting.wall().toMillis(),
                        selecting.cpu().toNanos() / 1e6);
            }
        }
    }

    static SocketChannel awaitAccept(ServerSocketChannel listener) throws IOException {
        listener.configureBlocking(true);
        return listener.accept();
    }

    // tag::connection[]
    /// One client's state, kept between events: the part of a line not complete yet, and the
    /// replies the kernel did not take yet.
    static final class Connection {
        final SocketChannel channel;
        final String name;
        ByteBuffer line = ByteBuffer.allocate(256);      // grows up to MAX_LINE
        final ArrayDeque<ByteBuffer> unsent = new ArrayDeque<>();
        volatile int unsentBytes;
        boolean peerClosed;                              // end of stream seen: close once all is sent
        boolean refused;                                 // line too long: send the error, then close
        long closeBy;                                    // refused and output shut: close at this time
        volatile long reads;
        volatile Thread servedBy;

        Connection(SocketChannel channel) throws IOException {
            this.channel = channel;
            this.name = "client " + ((InetSocketAddress) channel.getRemoteAddress()).getPort();
        }

        int unsentBytes() {
            return unsentBytes;
        }

        long reads() {
            return reads;
        }

        Thread servedBy() {
            return servedBy;
        }
    }
    // end::connection[]

    /// A running server: one listening channel, one Selector, one thread that runs the loop.
    static final class Server implements AutoCloseable {
        final ServerSocketChannel listener;
        final Selector selector;
        final boolean narrate;
        final Set<Connection> connections = ConcurrentHashMap.newKeySet();
        final List<Connection> refusing = new ArrayList<>();             // the loop thread's only
        // One buffer to read into and one to collect replies in, reused for every event: direct,
        // so the kernel copies straight in and out of them.
        final ByteBuffer input = ByteBuffer.allocateDirect(64 * 1024);
        final ByteBuffer replies = ByteBuffer.allocateDirect(64 * 1024 + MAX_LINE + 1);
        final Thread loop;
        volatile boolean closing;

        Server(ServerSocketChannel listener, boolean narrate) throws IOException {
            this.listener = listener;
            this.narrate = narrate;
            this.selector = Selector.open();
            listener.configureBlocking(false);
            listener.register(selector, SelectionKey.OP_ACCEPT);
            this.loop = Thread.ofPlatform().name("event-loop").start(this::run);
        }

        int port() {
            return ((InetSocketAddress) listener.socket().getLocalSocketAddress()).getPort();
        }

        Set<Connection> connections() {
            return connections;
        }

        Thread loopThread() {
            return loop;
        }

        @Override
        public void close() throws IOException {
            closing = true;
            selector.wakeup();                      // select() returns at once; the loop sees `closing`
            try {
                loop.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        // tag::loop[]
        /// The event loop: sleep until the kernel says some sockets are ready, handle each, repeat.
        void run() {
            try (selector; listener) {
                while (!closing) {
                    selector.select(this::handle, 1_000);    // epoll_wait: no CPU while nothing happens
                    closeRefusedPastTheirGrace();
                }
            } catch (IOException e) {
                log("the event loop failed: %s", e.getMessage());
            } finally {
                for (Connection c : connections) closeQuietly(c);
                log("event loop ended; listening socket closed");
            }
        }

        void handle(SelectionKey key) {
            if (key.isAcceptable()) {
                acceptAll();
                return;
            }
            Connection c = (Connection) key.attachment();
            try {
                if (key.isReadable()) read(key, c);
                if (key.isValid() && key.isWritable()) writeUnsent(key, c);
            } catch (IOException e) {
                if (narrate) log("%s: %s; closing it", c.name, e.getMessage());   // a reset: this client only
                close(key, c);
            }
        }
        // end::loop[]

        // tag::accept[]
        void acceptAll() {
            while (true) {
                SocketChannel channel;
                try {
                    channel = listener.accept();
                } catch (IOException e) {
                    log("accept failed: %s", e.getMessage());      // e.g. out of file descriptors
                    return;
                }
                if (channel == null) return;                        // nobody else is waiting
                try {
                    channel.configureBlocking(false);
                    channel.setOption(StandardSocketOptions.TCP_NODELAY, true);   // echo at once
                    var c = new Connection(channel);
                    channel.register(selector, SelectionKey.OP_READ, c);
                    connections.add(c);
                    if (narrate || connections.size() <= 3 || Integer.bitCount(connections.size()) == 1) {
                        log("accepted %s (%,d open)", channel.getRemoteAddress(), connections.size());
                    }
                } catch (IOException e) {
                    log("a client left before we could serve it: %s", e.getMessage());
                    try {
                        channel.close();
                    } catch (IOException ignored) {
                        // It is gone either way.
                    }
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
                    if (!c.line.hasRemaining()) c.line = grow(c.line);
                    c.line.put(b);
                }
            }
            if (narrate) {
                log("%s: read %d bytes, %d complete line(s), %d bytes of a line waiting for more",
                        c.name, n, lines, c.line.position());
            }
            send(key, c, replies.flip());
        }
        // end::read[]

        static ByteBuffer grow(ByteBuffer line) {
            return ByteBuffer.allocate(Math.min(line.capacity() * 2, MAX_LINE)).put(line.flip());
        }

        void endOfStream(SelectionKey key, Connection c) throws IOException {
            if (narrate) log("%s: end of stream", c.name);
            c.peerClosed = true;
            if (c.line.position() > 0 && !c.refused) {         // a last line without '\n' still counts
                replies.clear();
                send(key, c, replies.put(c.line.flip()).put((byte) '\n').flip());
            }
            if (c.unsent.isEmpty()) close(key, c);
            else key.interestOps(SelectionKey.OP_WRITE);      // close once the rest is written
        }

        // tag::send[]
        /// Writes what the kernel takes now; keeps the rest and asks for OP_WRITE. Never waits.
        void send(SelectionKey key, Connection c, ByteBuffer bytes) throws IOException {
            if (!bytes.hasRemaining()) return;
            if (c.unsent.isEmpty()) c.channel.write(bytes);  // writes what fits in the send buffer
            if (bytes.hasRemaining()) {
                var copy = ByteBuffer.allocate(bytes.remaining()).put(bytes).flip();
                c.unsent.add(copy);
                c.unsentBytes += copy.remaining();
                if (narrate) log("%s: the kernel is full; %,d bytes wait for OP_WRITE", c.name, c.unsentBytes);
                updateInterest(key, c);
            }
        }

        /// The socket is writable again: write what was kept, in order.
        void writeUnsent(SelectionKey key, Connection c) throws IOException {
            while (!c.unsent.isEmpty()) {
                ByteBuffer head = c.unsent.peek();
                c.unsentBytes -= c.channel.write(head);
                if (head.hasRemaining()) break;     // full again: wait for the next OP_WRITE
                c.unsent.poll();
            }
            if (c.unsent.isEmpty()) {
                if (narrate) log("%s: everything sent", c.name);
                if (c.peerClosed) {
                    close(key, c);
                    return;
                }
                if (c.refused) shutDownOutput(c);
            }
            updateInterest(key, c);
        }

        /// OP_WRITE while replies wait; OP_READ unless this client already has too many unread
        /// replies: then the loop stops reading from it, and TCP slows that client down, alone.
        static void updateInterest(SelectionKey key, Connection c) {
            int ops = c.unsent.isEmpty() ? 0 : SelectionKey.OP_WRITE;
            if (!c.peerClosed && c.unsentBytes < MAX_UNSENT) ops |= SelectionKey.OP_READ;
            int before = key.interestOps();
            if (before == ops) return;
            key.interestOps(ops);
            boolean wasReading = (before & SelectionKey.OP_READ) != 0;
            boolean reading = (ops & SelectionKey.OP_READ) != 0;
            if (wasReading && !reading && !c.peerClosed) {
                log("%s: %,d bytes of replies not taken; OP_READ off until it reads them", c.name, c.unsentBytes);
            } else if (!wasReading && reading) {
                log("%s: replies taken; OP_READ on again", c.name);
            }
        }
        // end::send[]

        /// Sends an error line, then FIN once it is out; what the client still sends is discarded
        /// (closing with unread bytes would send a reset that can destroy the error line).
        void refuse(SelectionKey key, Connection c, String reason) throws IOException {
            log("%s: refused: %s", c.name, reason);
            c.refused = true;
            send(key, c, ByteBuffer.wrap(("ERROR " + reason + "; closing\n").getBytes(StandardCharsets.UTF_8)));
            if (c.unsent.isEmpty()) shutDownOutput(c);
            updateInterest(key, c);
        }

        void shutDownOutput(Connection c) throws IOException {
            c.channel.shutdownOutput();
            c.closeBy = System.nanoTime() + REFUSAL_GRACE.toNanos();
            refusing.add(c);
        }

        void closeRefusedPastTheirGrace() {
            long now = System.nanoTime();
            refusing.removeIf(c -> {
                if (c.channel.isOpen() && now - c.closeBy < 0) return false;
                closeQuietly(c);
                return true;
            });
        }

        void close(SelectionKey key, Connection c) {
            key.cancel();
            closeQuietly(c);
        }

        void closeQuietly(Connection c) {
            try {
                c.channel.close();
            } catch (IOException e) {
                // Closing a socket that already failed: nothing more to do.
            }
            if (connections.remove(c) && (narrate || connections.size() < 3)) {
                log("%s: closed (%,d open)", c.name, connections.size());
            }
        }
    }

    static Server start(int port) throws IOException {
        return start(port, true);
    }

    static Server start(int port, boolean narrate) throws IOException {
        // Create the listening channel and bind it to loopback: only this machine can connect.
        var listener = ServerSocketChannel.open();
        try {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
            return new Server(listener, narrate);
        } catch (IOException e) {
            listener.close();
            throw e;
        }
    }

    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    public static void main(String[] args) throws Exception {
        int port = DEFAULT_PORT;
        boolean narrate = true;
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
                case "--quiet" -> narrate = false;
                case "--raw" -> {
                    showRawBehaviour();
                    return;
                }
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        try (Server server = start(port, narrate)) {
            log("listening on %s:%d (one event-loop thread); try: nc localhost %d",
                    server.listener.socket().getInetAddress().getHostAddress(), server.port(), server.port());
            server.loopThread().join();
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
