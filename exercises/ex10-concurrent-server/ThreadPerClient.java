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
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Chapter 10, exercise 3 · A thread per client — lesson 09's server, to be made lesson 10's.
///
/// Run it: `./jbang exercises/ex10-concurrent-server/ThreadPerClient.java [--port 1234]`; check it:
/// `./jbang labs/Grade.java ex10`.
class ThreadPerClient {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_LINE = 8192;
    /// Lesson 10's accept queue: a thread-per-connection server is the one that meets bursts.
    /// Linux caps the value at net.core.somaxconn.
    static final int BACKLOG = 4096;

    record Server(ServerSocket listener, Set<Socket> connections) implements AutoCloseable {
        int port() { return listener.getLocalPort(); }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket client : connections) client.close();
        }
    }

    static Server start(int port) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        var server = new Server(listener, ConcurrentHashMap.newKeySet());
        Thread.ofPlatform().name("acceptor").start(() -> acceptLoop(server));
        return server;
    }

    static void acceptLoop(Server server) {
        while (!server.listener().isClosed()) {
            try {
                Socket client = server.listener().accept();
                server.connections().add(client);
                // TODO(exercise): the acceptor serves the client itself, so nobody else is accepted
                // until it leaves. Serve each client on a virtual thread of its own instead, and go
                // straight back to accept().
                serve(server, client);
            } catch (IOException e) {
                if (!server.listener().isClosed()) System.out.println("accept failed: " + e.getMessage());
            }
        }
    }

    static void serve(Server server, Socket client) {
        try (client) {
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = client.getOutputStream();
            for (String line; (line = readLine(in)) != null; ) {
                out.write(("ECHO " + line + "\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            if (!server.listener().isClosed()) System.out.println("connection ended: " + e.getMessage());
        } finally {
            server.connections().remove(client);
        }
    }

    /// Lesson 10's bounded readLine: a line, or null at end of stream.
    static String readLine(InputStream in) throws IOException {
        var line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; line.write(b)) {
            if (b == -1) return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            if (line.size() == MAX_LINE) throw new IOException("line longer than " + MAX_LINE + " bytes");
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    static final String USAGE = "Usage: ./jbang exercises/ex10-concurrent-server/ThreadPerClient.java [--port N]";

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
        try (Server server = start(port)) {
            System.out.println("listening on port " + server.port() + "; try: nc -N localhost " + server.port());
            Thread.currentThread().join();
        } catch (BindException e) {
            System.err.println("Port " + port + " is already in use. Is a lesson still running? --port 0 picks a free one.");
            System.exit(1);
        }
    }
}
