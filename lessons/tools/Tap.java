///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Tool · Tap — sits between a client and a server, forwards both ways, and prints every chunk.
///
/// Run it: `./jbang lessons/tools/Tap.java --port 1235 --to localhost:1234 [--chunk N] [--delay MS]`,
/// then point the client at port 1235 instead of 1234.
/// Read: docs/chapters/15-binary-protocol.adoc (and chapters 02 and 16, which use it too)
class Tap implements AutoCloseable {
    static final int DEFAULT_PORT = 1235;
    static final String DEFAULT_TARGET = "localhost:1234";

    static final String USAGE = """
            Usage: ./jbang lessons/tools/Tap.java [--port N] [--to HOST:PORT] [--chunk N] [--delay MS] [--help]

            A tap between a client and a server: it accepts the client, connects to the server,
            forwards bytes both ways unchanged, and prints every chunk it forwards with its
            direction, time and bytes (hex and text, like hexdump -C).

              --port N       the TCP port to listen on for the client (default %d; 0 picks a free port)
              --to HOST:PORT the server to forward to (default %s)
              --chunk N      re-cut the stream: forward at most N bytes per write (default: as read)
              --delay MS     wait MS milliseconds before forwarding each chunk (default 0)
              --help         print this help and exit

            Example: a server on 1234, the tap on 1235 cutting everything into single bytes:
              ./jbang lessons/tools/Tap.java --port 1235 --to localhost:1234 --chunk 1
              nc localhost 1235
            """.formatted(DEFAULT_PORT, DEFAULT_TARGET);

    private final ServerSocket listener;
    private final InetSocketAddress target;
    private final int chunk;
    private final Duration delay;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;

    private Tap(ServerSocket listener, InetSocketAddress target, int chunk, Duration delay) {
        this.listener = listener;
        this.target = target;
        this.chunk = chunk;
        this.delay = delay;
        this.acceptor = Thread.ofPlatform().name("tap acceptor").start(this::acceptLoop);
    }

    /// Listens on `listenPort` (0: any free port) on loopback and forwards every connection to
    /// `target`. `chunk` 0 forwards bytes as they were read; `chunk` N writes at most N bytes at a time.
    static Tap start(int listenPort, InetSocketAddress target, int chunk, Duration delay) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), listenPort));
        return new Tap(listener, target, chunk, delay);
    }

    int port() {
        return listener.getLocalPort();
    }

    Thread acceptor() {
        return acceptor;
    }

    /// Stops listening and closes both sides of every connection the tap holds.
    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket socket : sockets) socket.close();
    }

    void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Thread.ofVirtual().name("tap " + client.getPort()).start(() -> connect(client));
            } catch (IOException e) {
                if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
            }
        }
    }

    // tag::connect[]
    void connect(Socket client) {
        sockets.add(client);
        try (client; Socket server = new Socket()) {
            sockets.add(server);
            server.connect(target, 5_000);
            // Send every chunk at once: without this, the kernel may hold small pieces back (Nagle).
            server.setTcpNoDelay(true);
            client.setTcpNoDelay(true);
            String id = "#" + client.getPort();
            log("%s connected: client %s <-> tap <-> server %s", id, client.getRemoteSocketAddress(),
                    server.getRemoteSocketAddress());
            // One thread per direction: each blocks in its own read.
            Thread up = Thread.ofVirtual().name("tap " + id + " up")
                    .start(() -> pump(client, server, id + " client -> server"));
            pump(server, client, id + " server -> client");
            up.join();
            log("%s closed", id);
        } catch (IOException e) {
            log("cannot reach the server %s: %s", target, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            sockets.removeIf(Socket::isClosed);
        }
    }

    /// Copies one direction until end of stream, then passes the end on (FIN for FIN).
    void pump(Socket from, Socket to, String direction) {
        byte[] buffer = new byte[64 * 1024];
        long offset = 0;
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            for (int n; (n = in.read(buffer)) != -1; ) {
                // Re-cut what was read into pieces of at most `chunk` bytes, each its own write.
                int piece = chunk > 0 ? chunk : n;
                for (int start = 0; start < n; start += piece) {
                    int length = Math.min(piece, n - start);
                    if (delay.isPositive()) Thread.sleep(delay);
                    print(direction, offset, buffer, start, length);
                    out.write(buffer, start, length);
                    out.flush();
                    offset += length;
                }
            }
            log("%s: end of stream after %d bytes; passing it on", direction, offset);
            to.shutdownOutput();
        } catch (IOException e) {
            log("%s: %s; closing both sides", direction, e.getMessage());
            closeQuietly(from);
            closeQuietly(to);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
    // end::connect[]

    // tag::hexdump[]
    /// Prints a chunk as `hexdump -C` does: offset in the stream, 16 bytes in hex, the same as text.
    static synchronized void print(String direction, long offset, byte[] bytes, int start, int length) {
        var out = new StringBuilder();
        out.append("%s %s  %d byte%s%n".formatted(LocalTime.now().truncatedTo(ChronoUnit.MILLIS), direction,
                length, length == 1 ? "" : "s"));
        for (int row = 0; row < length; row += 16) {
            out.append("  %08x  ".formatted(offset + row));
            var text = new StringBuilder();
            for (int i = 0; i < 16; i++) {
                if (row + i < length) {
                    int b = bytes[start + row + i] & 0xff;
                    out.append("%02x ".formatted(b));
                    text.append(b >= 0x20 && b < 0x7f ? (char) b : '.');   // only printable ASCII as text
                } else {
                    out.append("   ");
                }
                if (i == 7) out.append(' ');
            }
            out.append(" |").append(text).append("|\n");
        }
        System.out.print(out);
        System.out.flush();
    }
    // end::hexdump[]

    static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // Already closed: nothing to do.
        }
    }

    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    record Options(int port, InetSocketAddress target, int chunk, Duration delay) {
    }

    public static void main(String[] args) throws Exception {
        Options options = parse(args);
        try (Tap tap = start(options.port(), options.target(), options.chunk(), options.delay())) {
            log("listening on %s:%d, forwarding to %s (chunk %s, delay %d ms); try: nc localhost %d",
                    tap.listener.getInetAddress().getHostAddress(), tap.port(), options.target(),
                    options.chunk() == 0 ? "as read" : options.chunk() + " bytes",
                    options.delay().toMillis(), tap.port());
            tap.acceptor().join();
        } catch (BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson or tap still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", options.port(), e.getMessage());
            System.exit(1);
        } catch (SocketException e) {
            System.err.println("Cannot listen on port " + options.port() + ": " + e.getMessage());
            System.exit(1);
        }
    }

    /// Reads the options. Anything else is a mistake: say what, print usage, exit 2.
    static Options parse(String[] args) {
        int port = DEFAULT_PORT;
        String to = DEFAULT_TARGET;
        int chunk = 0;
        int delayMillis = 0;
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            switch (option) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--port", "--to", "--chunk", "--delay" -> {
                    if (i + 1 == args.length) usageError(option + " needs a value");
                    String value = args[++i];
                    switch (option) {
                        case "--port" -> port = portNumber(value);
                        case "--to" -> to = value;
                        case "--chunk" -> chunk = number(value, 1, "--chunk");
                        default -> delayMillis = number(value, 0, "--delay");
                    }
                }
                default -> usageError("unknown argument: " + option);
            }
        }
        int colon = to.lastIndexOf(':');
        if (colon <= 0) usageError("--to needs HOST:PORT, not " + to);
        var target = new InetSocketAddress(to.substring(0, colon), portNumber(to.substring(colon + 1)));
        if (target.isUnresolved()) usageError("unknown host: " + to.substring(0, colon));
        return new Options(port, target, chunk, Duration.ofMillis(delayMillis));
    }

    static int portNumber(String text) {
        int port = number(text, 0, "a port");
        if (port > 65_535) usageError("a port is a number from 0 to 65535, not " + port);
        return port;
    }

    static int number(String text, int min, String what) {
        try {
            int n = Integer.parseInt(text);
            if (n < min) usageError(what + " must be at least " + min + ", not " + n);
            return n;
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
