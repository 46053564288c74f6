// Mistake: each line is decoded into a String and encoded again, so invalid bytes come back replaced. Caught by: "echoes invalid UTF-8 bytes as they came"
//JAVA 25+

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.net.BindException;
import java.util.ArrayList;
import java.util.List;

/// Lab 01 · Line echo server — several clients at once, each line echoed, limits kept.
///
/// Run it: `./jbang labs/01-line-echo/LineEchoServer.java [--port 1234]`; talk to it: `nc localhost 1234`.
/// Read: labs/01-line-echo/README.adoc
class LineEchoServer implements AutoCloseable {
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 1024;
    /// What the server answers to a longer line, before it closes the connection.
    static final String TOO_LONG = "ERROR line longer than " + MAX_LINE + " bytes";

    private final ServerSocket listener;
    private final Set<Socket> clients = ConcurrentHashMap.newKeySet();

    private LineEchoServer(ServerSocket listener) {
        this.listener = listener;
    }

    /// Binds to loopback on `port` (0: any free port) and starts accepting clients.
    static LineEchoServer start(int port) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        var server = new LineEchoServer(listener);
        Thread.ofPlatform().name("acceptor").start(server::acceptLoop);
        return server;
    }

    int port() {
        return listener.getLocalPort();
    }

    /// Stops accepting and closes every connection.
    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket client : clients) {
            client.close();
        }
    }

    private void acceptLoop() {
        try {
            while (true) {
                Socket client = listener.accept();
                log("accepted " + client.getRemoteSocketAddress());
                // Serve each client on a virtual thread of its own: a slow client holds up nobody.
                Thread.ofVirtual().name("client-" + client.getPort()).start(() -> handle(client));
            }
        } catch (IOException e) {
            log("stopped accepting: " + e.getMessage());
        }
    }

    /// Serves one client and forgets it; a bug in `serve` closes that connection, not the server.
    private void handle(Socket client) {
        clients.add(client);
        try {
            serve(client);
        } catch (IOException | RuntimeException e) {
            log("connection failed: " + e);
            try {
                client.close();
            } catch (IOException ignored) {
                // Already failed.
            }
        } finally {
            clients.remove(client);
        }
    }

    /// Echoes each line the client sends, until end of stream; refuses a line over `MAX_LINE`
    /// bytes with `TOO_LONG` and closes; closes the socket however the conversation ends.
    static void serve(Socket client) throws IOException {
        try (client) {
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = client.getOutputStream();
            var line = new ByteArrayOutputStream();
            for (int b = in.read(); b >= 0; b = in.read()) {
                if (b == '\n') {
                    out.write((line.toString(StandardCharsets.UTF_8) + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    line.reset();
                } else if (line.size() == MAX_LINE) {
                    log("refused a line longer than " + MAX_LINE + " bytes");
                    out.write((TOO_LONG + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    return;
                } else {
                    line.write(b);
                }
            }
            log("end of stream from " + client.getRemoteSocketAddress());
        } catch (SocketException e) {
            log("the client vanished: " + e.getMessage());
        }
    }

    static void log(String message) {
        System.out.printf("%s [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(), message);
    }

    // ---- The command line: the same block as in the lessons; read it once. ----

    static final int DEFAULT_PORT = 1234;

    static final String USAGE = """
            Usage: ./jbang labs/01-line-echo/LineEchoServer.java [--port N] [--help]

            Lab 01's line echo server: a thread per client, each line echoed, lines
            over MAX_LINE bytes refused.

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
