///usr/bin/env jbang "$0" "$@" ; exit $?
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

/// Lab 02 · Event-loop echo — one thread, one Selector, every client.
///
/// Run it: `./jbang labs/02-event-loop-echo/EventLoopEcho.java [--port 1234]`; talk to it: `nc localhost 1234`.
/// Read: labs/02-event-loop-echo/README.adoc
class EventLoopEcho implements AutoCloseable {
    /// The longest line a client may send, in bytes with its newline: the size of its read buffer.
    static final int MAX_LINE = 8192;

    /// What the loop keeps for one client: bytes read but not yet a whole line, and replies the
    /// kernel has not taken yet.
    static final class Connection {
        final ByteBuffer in = ByteBuffer.allocate(MAX_LINE);
        final ArrayDeque<ByteBuffer> out = new ArrayDeque<>();
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
        // TODO(lab): read what the kernel has into the connection's buffer (it may be part of a
        //  line, or several lines). Queue a copy of each complete line, newline included, on
        //  `out`; keep an incomplete line for the next read. At end of stream, mark the input
        //  ended. Then try to send with write(key).
        throw new UnsupportedOperationException("TODO(lab): read and split lines");
    }

    /// Writes queued replies until the kernel takes no more; wants OP_WRITE only while some wait.
    private void write(SelectionKey key) throws IOException {
        // TODO(lab): write queued replies while the kernel takes them all. A write that leaves
        //  bytes in its buffer means the send buffer is full: stop, and ask for OP_WRITE so the
        //  loop calls you again when there is room. With nothing queued, want OP_READ only (or, once
        //  the input has ended, close the connection).
        throw new UnsupportedOperationException("TODO(lab): flush the queued replies");
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

    public static void main(String[] args) throws Exception {
        int port = args.length == 2 && args[0].equals("--port") ? Integer.parseInt(args[1]) : 1234;
        var server = start(port);
        log("listening on " + InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.port());
    }
}
