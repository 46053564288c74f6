import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Chapter 18, exercise 3: a line echo server cut from lesson 18, whose stop (what SIGTERM runs)
/// drops every client at once, half a line and all. Make it drain, as lesson 18 does.
///
/// Run it: `java Draining.java --port 1234`, connect with `nc localhost 1234`, type half a line,
/// and `kill PID`. Check it: `./jbang labs/Grade.java ex18`.
class Draining {
    /// How often a waiting handler looks up from its read to see whether the server is stopping.
    static final Duration POLL = Duration.ofMillis(200);
    /// The longest a stop waits for the clients' lines before it closes what is left.
    static final Duration DRAIN_LIMIT = Duration.ofSeconds(3);
    static final String GOODBYE = "BYE the server is going down";

    static final class Server implements AutoCloseable {
        final ServerSocket listener;
        final Set<Socket> connections = ConcurrentHashMap.newKeySet();
        final Set<Thread> handlers = ConcurrentHashMap.newKeySet();
        volatile boolean stopping;

        Server(ServerSocket listener) {
            this.listener = listener;
        }

        int port() {
            return listener.getLocalPort();
        }

        /// Stops the server: what the SIGTERM hook runs.
        void stop() throws IOException, InterruptedException {
            // TODO(exercise): drain instead. Stop accepting (close the listener) and set `stopping`;
            //  each handler then finishes the line it is in, says GOODBYE and closes (see handle).
            //  Wait for the handlers, at most DRAIN_LIMIT in all, then close whatever is left.
            listener.close();
            for (Socket socket : connections) socket.close();
        }

        @Override
        public void close() throws IOException {
            try {
                stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static Server start(int port) throws IOException {
        // Bind to loopback: only this machine can connect.
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        var server = new Server(listener);
        Thread.ofPlatform().name("acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket socket = listener.accept();
                    server.connections.add(socket);
                    server.handlers.add(Thread.ofVirtual().start(() -> handle(server, socket)));
                } catch (IOException e) {
                    if (!listener.isClosed()) System.out.println("accept failed: " + e.getMessage());
                }
            }
        });
        return server;
    }

    /// Echoes lines. Its read gives up every POLL, so that the handler can look at `stopping`.
    static void handle(Server server, Socket socket) {
        try (socket) {
            socket.setSoTimeout((int) POLL.toMillis());
            InputStream in = new BufferedInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            var line = new ByteArrayOutputStream();
            while (true) {
                int b;
                try {
                    b = in.read();
                } catch (SocketTimeoutException e) {
                    // TODO(exercise): nothing came for POLL. When the server is stopping and no
                    //  line is half read, say GOODBYE and end this conversation.
                    continue;
                }
                if (b < 0) break;
                line.write(b);
                if (b == '\n') {
                    out.write(line.toByteArray());
                    out.flush();
                    line.reset();
                }
            }
        } catch (IOException e) {
            System.out.println("connection ended: " + e.getMessage());
        } finally {
            server.connections.remove(socket);
            server.handlers.remove(Thread.currentThread());
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2 || !args[0].equals("--port") || !args[1].matches("\\d{1,5}")) {
            System.err.println("Usage: java Draining.java --port PORT");
            System.exit(2);
        }
        Server server = start(Integer.parseInt(args[1]));
        // SIGTERM (kill PID, systemctl stop) runs the hooks: stop there.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.stop();
            } catch (IOException | InterruptedException e) {
                System.out.println("stop failed: " + e);
            }
        }));
        System.out.println("echo on port " + server.port() + "; stop me with: kill " + ProcessHandle.current().pid());
    }
}
