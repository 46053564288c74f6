import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/// Chapter 22, exercise 3: a line echo server that waits for each client forever. A client whose
/// cable was pulled says nothing, and neither does its kernel: this server would keep it, and
/// its thread, until the kernel's keep-alive (hours, by default) found out. Give it a heartbeat
/// deadline of its own.
///
/// Run it: `java QuietCutter.java --port 1234`, then `nc localhost 1234` and say nothing.
/// Check it: `./jbang labs/Grade.java ex22`.
class QuietCutter {

    record Server(ServerSocket listener) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    /// Starts the server: a client from which nothing came for `deadline` is told
    /// `*** no word from you for N ms; closing` (N: the deadline) and closed.
    static Server start(int port, Duration deadline) throws IOException {
        // Bind to loopback: only this machine can connect.
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        Thread.ofPlatform().name("acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket socket = listener.accept();
                    Thread.ofVirtual().start(() -> serve(socket, deadline));
                } catch (IOException e) {
                    if (!listener.isClosed()) System.out.println("accept failed: " + e.getMessage());
                }
            }
        });
        return new Server(listener);
    }

    static void serve(Socket socket, Duration deadline) {
        try (socket) {
            // Every read gets `deadline` to bring something: a silent peer may be a dead one.
            socket.setSoTimeout((int) deadline.toMillis());
            var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = socket.getOutputStream();
            try {
                for (String line; (line = in.readLine()) != null; ) {
                    out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                }
            } catch (SocketTimeoutException silent) {
                System.out.println(socket.getRemoteSocketAddress() + " said nothing for " + deadline.toMillis() + " ms: closing");
                out.write(("*** no word from you for " + deadline.toMillis() + " ms; closing\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            System.out.println("connection ended: " + e.getMessage());
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2 || !args[0].equals("--port") || !args[1].matches("\\d{1,5}")) {
            System.err.println("Usage: java QuietCutter.java --port PORT");
            System.exit(2);
        }
        Server server = start(Integer.parseInt(args[1]), Duration.ofSeconds(5));
        System.out.println("echo on port " + server.port() + "; silent clients are closed after 5 s");
    }
}
