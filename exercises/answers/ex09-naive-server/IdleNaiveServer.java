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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/// Chapter 09, exercise 3 · An idle timeout — lesson 09's one-client-at-a-time server, cut short.
///
/// Run it: `./jbang exercises/ex09-naive-server/IdleNaiveServer.java [--port 1234]`; check it:
/// `./jbang labs/Grade.java ex09`.
class IdleNaiveServer {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_LINE = 8192;
    /// Lesson 09's accept queue: the waiting clients queue in it for their turn.
    static final int BACKLOG = 50;
    /// How long a client may stay silent before the server drops it, unless told otherwise.
    static final Duration DEFAULT_IDLE = Duration.ofSeconds(10);

    record Server(ServerSocket listener, AtomicReference<Socket> current) implements AutoCloseable {
        int port() { return listener.getLocalPort(); }

        @Override
        public void close() throws IOException {
            listener.close();
            Socket client = current.get();
            if (client != null) client.close();
        }
    }

    static Server start(int port, Duration idle) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        var server = new Server(listener, new AtomicReference<>());
        Thread.ofPlatform().name("server").start(() -> acceptAndServe(server, idle));
        return server;
    }

    static void acceptAndServe(Server server, Duration idle) {
        while (!server.listener().isClosed()) {
            try {
                Socket client = server.listener().accept();
                server.current().set(client);
                System.out.println("serving " + client.getRemoteSocketAddress() + "; the next client waits");
                serve(server, client, idle);
                server.current().set(null);
            } catch (IOException e) {
                if (!server.listener().isClosed()) System.out.println("accept failed: " + e.getMessage());
            }
        }
    }

    static void serve(Server server, Socket client, Duration idle) {
        try (client) {
            // Each read waits at most `idle`; every byte that arrives starts the wait again.
            client.setSoTimeout((int) idle.toMillis());
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = client.getOutputStream();
            try {
                for (String line; (line = readLine(in)) != null; ) {
                    out.write(("ECHO " + line + "\n").getBytes(StandardCharsets.UTF_8));
                }
                System.out.println(client.getRemoteSocketAddress() + " left");
            } catch (SocketTimeoutException e) {
                // The socket is still open after a timeout: say why, then close it (try-with-resources).
                System.out.println(client.getRemoteSocketAddress() + " was idle for " + idle.toMillis() + " ms; dropping it");
                out.write(("TIMEOUT idle for " + idle.toMillis() + " ms\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            if (!server.listener().isClosed()) System.out.println("connection ended: " + e.getMessage());
        }
    }

    /// Lesson 09's bounded readLine: a line, or null at end of stream.
    static String readLine(InputStream in) throws IOException {
        var line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; line.write(b)) {
            if (b == -1) return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            if (line.size() == MAX_LINE) throw new IOException("line longer than " + MAX_LINE + " bytes");
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    static final String USAGE = "Usage: ./jbang exercises/ex09-naive-server/IdleNaiveServer.java [--port N]";

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help")) {
            System.out.println(USAGE);
            return;
        }
        int port = args.length == 0 ? DEFAULT_PORT
                : args.length == 2 && args[0].equals("--port") && args[1].matches("\\d{1,5}") ? Integer.parseInt(args[1]) : -1;
        if (port < 0 || port > 65_535) {
            System.err.println(USAGE);
            System.exit(2);
        }
        try (Server server = start(port, DEFAULT_IDLE)) {
            System.out.println("listening on port " + server.port() + "; try: nc -N localhost " + server.port());
            Thread.currentThread().join();
        } catch (BindException e) {
            System.err.println("Port " + port + " is already in use. Is a lesson still running? --port 0 picks a free one.");
            System.exit(1);
        }
    }
}
