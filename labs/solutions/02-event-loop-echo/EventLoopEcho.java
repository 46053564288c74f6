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
        var channel = (SocketChannel) key.channel();
        var connection = (Connection) key.attachment();
        if (channel.read(connection.in) < 0) {
            connection.inputEnded = true;
            write(key);                            // flushes what is queued, then closes
            return;
        }
        // Cut every complete line out of the buffer; keep a partial line for the next read.
        ByteBuffer in = connection.in.flip();
        int lineStart = 0;
        for (int i = 0; i < in.limit(); i++) {
            if (in.get(i) == '\n') {
                connection.out.add(copyOf(in, lineStart, i + 1));
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
            channel.write(head);
            if (head.hasRemaining()) {
                break;                             // the kernel's send buffer is full
            }
            connection.out.poll();
        }
        if (connection.out.isEmpty() && connection.inputEnded) {
            log("end of stream from " + channel.getRemoteAddress());
            closeConnection(key);
        } else if (connection.out.isEmpty()) {
            key.interestOps(SelectionKey.OP_READ);
        } else {
            key.interestOps(connection.inputEnded ? SelectionKey.OP_WRITE : SelectionKey.OP_READ | SelectionKey.OP_WRITE);
        }
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
