///usr/bin/env jbang "$0" "$@" ; exit $?
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
                    line.write('\n');
                    line.writeTo(out);
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

    public static void main(String[] args) throws Exception {
        int port = args.length == 2 && args[0].equals("--port") ? Integer.parseInt(args[1]) : 1234;
        var server = start(port);
        log("listening on " + InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.port());
    }
}
