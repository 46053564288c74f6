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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/// Chapter 11, exercise 3 · A deadline for a whole line — a fixed pool of workers, as in lesson 11, cut short.
///
/// Run it: `./jbang exercises/ex11-pooled-server/DeadlineEcho.java [--port 1234]`; check it:
/// `./jbang labs/Grade.java ex11`.
class DeadlineEcho {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_LINE = 8192;
    /// Lesson 11's accept queue: clients wait in it while every worker is busy.
    static final int BACKLOG = 1024;
    static final int DEFAULT_WORKERS = 4;
    /// How long a worker waits for a client's next bytes before it gives up on it (lesson 11's).
    static final Duration READ_DEADLINE = Duration.ofSeconds(30);
    /// How long a client may take to send one whole line, unless told otherwise.
    static final Duration DEFAULT_LINE_DEADLINE = Duration.ofSeconds(10);

    record Server(ServerSocket listener, ExecutorService workers, Duration lineDeadline, Set<Socket> connections)
            implements AutoCloseable {
        int port() { return listener.getLocalPort(); }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket client : connections) client.close();
            workers.shutdownNow();
        }
    }

    /// Serves on `workers` threads at most; a client must send each line within `lineDeadline`.
    static Server start(int port, int workers, Duration lineDeadline) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        var pool = Executors.newFixedThreadPool(workers, Thread.ofPlatform().name("worker-", 1).factory());
        var server = new Server(listener, pool, lineDeadline, ConcurrentHashMap.newKeySet());
        Thread.ofPlatform().name("acceptor").start(() -> acceptLoop(server));
        return server;
    }

    static void acceptLoop(Server server) {
        while (!server.listener().isClosed()) {
            try {
                Socket client = server.listener().accept();
                server.connections().add(client);
                server.workers().execute(() -> serve(server, client));   // waits for a free worker
            } catch (IOException e) {
                if (!server.listener().isClosed()) System.out.println("accept failed: " + e.getMessage());
            }
        }
    }

    static void serve(Server server, Socket client) {
        try (client) {
            // Lesson 11's read deadline: each byte that arrives starts the wait again, so a client
            // that trickles a byte at a time keeps its worker for ever.
            client.setSoTimeout((int) READ_DEADLINE.toMillis());
            // TODO(exercise): give each line server.lineDeadline() from the moment the worker starts
            // waiting for it. A client whose line is not complete by then gets the line
            // "ERROR no complete line within <milliseconds> ms; closing", and its connection is closed.
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = client.getOutputStream();
            try {
                for (String line; (line = readLine(in)) != null; ) {
                    out.write(("ECHO " + line + "\n").getBytes(StandardCharsets.UTF_8));
                }
            } catch (SocketTimeoutException e) {
                System.out.println(client.getRemoteSocketAddress() + " sent nothing for " + READ_DEADLINE.toSeconds() + " s; closing it");
            }
        } catch (IOException e) {
            if (!server.listener().isClosed()) System.out.println("connection ended: " + e.getMessage());
        } finally {
            server.connections().remove(client);
        }
    }

    /// Lesson 11's bounded readLine: a line, or null at end of stream.
    static String readLine(InputStream in) throws IOException {
        var line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; line.write(b)) {
            if (b == -1) return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            if (line.size() == MAX_LINE) throw new IOException("line longer than " + MAX_LINE + " bytes");
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    static final String USAGE = "Usage: ./jbang exercises/ex11-pooled-server/DeadlineEcho.java [--port N]";

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
        try (Server server = start(port, DEFAULT_WORKERS, DEFAULT_LINE_DEADLINE)) {
            System.out.println("listening on port " + server.port() + "; try: nc -N localhost " + server.port());
            Thread.currentThread().join();
        } catch (BindException e) {
            System.err.println("Port " + port + " is already in use. Is a lesson still running? --port 0 picks a free one.");
            System.exit(1);
        }
    }
}
