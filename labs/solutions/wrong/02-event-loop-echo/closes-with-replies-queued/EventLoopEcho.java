// Mistake: at end of stream the connection is closed at once, with replies still queued. Caught by: "closes at end of stream, after the last reply"
//JAVA 25+

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.LocalTime;
import java.util.ArrayDeque;
import java.net.BindException;
import java.util.ArrayList;
import java.util.List;

/// Lab 02 · Event-loop echo — one thread, one Selector, every client.
///
/// Run it: `./jbang labs/02-event-loop-echo/EventLoopEcho.java [--port 1234]`; talk to it: `nc localhost 1234`.
/// Read: labs/02-event-loop-echo/README.adoc
class EventLoopEcho implements AutoCloseable {
    /// The longest line a client may send, in bytes with its newline: the size of its read buffer.
    static final int MAX_LINE = 8192;

    /// The most bytes of replies one client may have waiting. A client that does not read its
    /// replies is not read from either while this many wait: its sending stops, not our memory.
    static final int MAX_QUEUED = 8 << 20;

    /// What the loop keeps for one client: bytes read but not yet a whole line, and replies the
    /// kernel has not taken yet (`queued` bytes of them).
    static final class Connection {
        final ByteBuffer in = ByteBuffer.allocate(MAX_LINE);
        final ArrayDeque<ByteBuffer> out = new ArrayDeque<>();
        long queued;
        boolean inputEnded;
    }

    private final Selector selector;
    private final ServerSocketChannel listener;
    private final Thread loop;
    private volatile boolean running = true;

    private EventLoopEcho(Selector selector, ServerSocketChannel listener) {
        this.selector = selector;
        this.listener = listener;
        this.loop = Thread.ofPlatform().name("event-loop").unstarted(this::run);
    }

    /// Binds to loopback on `port` (0: any free port) and starts the event loop's one thread.
    static EventLoopEcho start(int port) throws IOException {
        var selector = Selector.open();
        var listener = ServerSocketChannel.open();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
        listener.configureBlocking(false);
        listener.register(selector, SelectionKey.OP_ACCEPT);
        var server = new EventLoopEcho(selector, listener);
        server.loop.start();
        return server;
    }

    int port() {
        return listener.socket().getLocalPort();
    }

    /// Stops the loop; the loop closes every channel as it ends.
    @Override
    public void close() throws IOException {
        running = false;
        selector.wakeup();
        try {
            loop.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        try (selector; listener) {
            while (running) {
                selector.select();
                for (SelectionKey key : selector.selectedKeys()) {
                    try {
                        if (key.isValid() && key.isAcceptable()) {
                            accept();
                        }
                        if (key.isValid() && key.isReadable()) {
                            read(key);
                        }
                        if (key.isValid() && key.isWritable()) {
                            write(key);
                        }
                    } catch (IOException | RuntimeException e) {
                        log("connection failed: " + e);
                        closeConnection(key);
                    }
                }
                selector.selectedKeys().clear();
            }
            for (SelectionKey key : selector.keys()) {
                key.channel().close();
            }
        } catch (IOException e) {
            log("the event loop failed: " + e);
        }
    }

    private void accept() throws IOException {
        SocketChannel client = listener.accept();
        if (client == null) {
            return;                                // another wakeup took it
        }
        client.configureBlocking(false);
        client.register(selector, SelectionKey.OP_READ, new Connection());
        log("accepted " + client.getRemoteAddress());
    }

    /// Reads what the kernel has, queues a reply for each complete line, and tries to send.
    private void read(SelectionKey key) throws IOException {
        var channel = (SocketChannel) key.channel();
        var connection = (Connection) key.attachment();
        if (channel.read(connection.in) < 0) {
            closeConnection(key);
            return;
        }
        // Cut every complete line out of the buffer; keep a partial line for the next read.
        ByteBuffer in = connection.in.flip();
        int lineStart = 0;
        for (int i = 0; i < in.limit(); i++) {
            if (in.get(i) == '\n') {
                connection.out.add(copyOf(in, lineStart, i + 1));
                connection.queued += i + 1 - lineStart;
                lineStart = i + 1;
            }
        }
        in.position(lineStart);
        in.compact();
        if (!in.hasRemaining()) {
            throw new IOException("a line longer than " + MAX_LINE + " bytes");
        }
        write(key);
    }

    /// Writes queued replies until the kernel takes no more; wants OP_WRITE only while some wait.
    private void write(SelectionKey key) throws IOException {
        var channel = (SocketChannel) key.channel();
        var connection = (Connection) key.attachment();
        while (!connection.out.isEmpty()) {
            ByteBuffer head = connection.out.peek();
            connection.queued -= channel.write(head);
            if (head.hasRemaining()) {
                break;                             // the kernel's send buffer is full
            }
            connection.out.poll();
        }
        if (connection.out.isEmpty() && connection.inputEnded) {
            log("end of stream from " + channel.getRemoteAddress());
            closeConnection(key);
            return;
        }
        // Read while the input goes on and the queue has room; write while replies wait.
        boolean reading = !connection.inputEnded && connection.queued < MAX_QUEUED;
        key.interestOps((reading ? SelectionKey.OP_READ : 0) | (connection.out.isEmpty() ? 0 : SelectionKey.OP_WRITE));
    }

    private static ByteBuffer copyOf(ByteBuffer buffer, int from, int to) {
        var copy = new byte[to - from];
        buffer.get(from, copy);
        return ByteBuffer.wrap(copy);
    }

    private static void closeConnection(SelectionKey key) {
        key.cancel();
        try {
            key.channel().close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }

    static void log(String message) {
        System.out.printf("%s [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(), message);
    }

    // ---- The command line: the same block as in the lessons; read it once. ----

    static final int DEFAULT_PORT = 1234;

    static final String USAGE = """
            Usage: ./jbang labs/02-event-loop-echo/EventLoopEcho.java [--port N] [--help]

            Lab 02's event-loop echo server: one thread and one Selector for every client.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal:  nc -N localhost 1234
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try {
            var server = start(port);
            log("listening on " + InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.port());
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
        }
    }

    /// Reads `--help` and the options a lab asks for. Anything else is a learner's mistake:
    /// say what, print the usage, exit with status 2; never a stack trace.
    static final class CommandLine {
        private final String usage;
        private final List<String> args;

        CommandLine(String usage, String[] args) {
            this.usage = usage;
            this.args = new ArrayList<>(List.of(args));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        /// `--port N`: 0 to 65535; 0 asks the kernel for any free port.
        int port(int otherwise) {
            return number("--port", otherwise, 0, 65_535);
        }

        /// `--name N` or `--name=N`, a whole number from `min` to `max`.
        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        /// `--name TEXT` or `--name=TEXT`.
        String text(String name, String otherwise) {
            for (int i = 0; i < args.size(); i++) {
                if (args.get(i).startsWith(name + "=")) return args.remove(i).substring(name.length() + 1);
                if (!args.get(i).equals(name)) continue;
                if (i + 1 == args.size()) throw fail(name + " needs a value");
                args.remove(i);
                return args.remove(i);
            }
            return otherwise;
        }

        /// `--name`, present or not.
        boolean flag(String name) {
            return args.remove(name);
        }

        /// After the last option: whatever is left is a mistake.
        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.println("error: " + problem);
            System.err.print(usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        /// A port in use is an ordinary mistake too: one line with a hint, exit status 1.
        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lab or lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
