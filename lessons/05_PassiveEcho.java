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
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Lesson 05 · Passive echo — the server asks for each line; nothing arrives until it calls read.
///
/// Run it: `./jbang lessons/05_PassiveEcho.java [--port 1234]`; talk to it: `nc localhost 1234`.
/// Read: docs/chapters/05-passive-echo.adoc
class PassiveEcho {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;

    /// When set, the per-line narration is left out: printing costs more than echoing.
    static volatile boolean quiet;

    static final String USAGE = """
            Usage: ./jbang lessons/05_PassiveEcho.java [--port N] [--quiet] [--help]

            A line echo server in passive mode: each connection's handler calls read
            for the next line itself, echoes it, and sees the client's close as end of stream.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --quiet    narrate connections only, not every line (for measuring, lesson 19)
              --help     print this help and exit

            Then, in another terminal:  nc localhost 1234
            """.formatted(DEFAULT_PORT);

    /// A running server: the port it got, and `close()` to stop it and every connection it holds.
    record Server(ServerSocket listener, Set<Socket> connections, Thread acceptor) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();                       // accept() in the acceptor throws: its loop ends
            for (Socket connection : connections) {
                connection.close();                 // a handler blocked in read() wakes with an exception
            }
        }
    }

    // tag::start[]
    static Server start(int port) throws IOException {
        // Create the listening socket and bind it to loopback: only this machine can connect.
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        Set<Socket> connections = ConcurrentHashMap.newKeySet();
        Thread acceptor = Thread.ofPlatform().name("acceptor").start(() -> acceptLoop(listener, connections));
        return new Server(listener, connections, acceptor);
    }

    static void acceptLoop(ServerSocket listener, Set<Socket> connections) {
        while (!listener.isClosed()) {
            try {
                log("waiting in accept() for the next client");
                // Block until the kernel has a completed connection for us: a new, connected socket.
                Socket client = listener.accept();
                connections.add(client);
                log("accepted %s -> %s", client.getRemoteSocketAddress(), client.getLocalSocketAddress());
                // Give the connection its own thread so the acceptor can go straight back to accept().
                Thread.ofVirtual().name("client " + client.getPort())
                        .start(() -> serve(client, connections));
            } catch (IOException e) {
                if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
            }
        }
        log("listening socket closed; no more clients");
    }
    // end::start[]

    // tag::serve[]
    static void serve(Socket client, Set<Socket> connections) {
        try (client) {
            try {
                echoLines(client);
            } catch (LineTooLongException e) {
                log("refused: %s", e.getMessage());
                refuse(client, "ERROR " + e.getMessage() + "; closing");
            }
        } catch (IOException e) {
            log("connection ended: %s", e.getMessage());   // a reset, or the server shutting down
        } finally {
            connections.remove(client);
        }
    }

    static void echoLines(Socket client) throws IOException {
        // Buffer what we read: one read() call to the kernel fetches as many bytes as have arrived.
        InputStream in = new BufferedInputStream(client.getInputStream());
        OutputStream out = client.getOutputStream();
        while (true) {
            if (!quiet) log("waiting in read() for a line");
            // Passive mode: nothing is handed to us; we ask for the next line and wait for it.
            String line = readLine(in, MAX_LINE);
            if (line == null) {
                log("end of stream: the client closed its side; closing ours");
                return;
            }
            if (!quiet) log("read \"%s\"; echoing it", line);
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
    }
    // end::serve[]

    // tag::readline[]
    /// Reads bytes up to the next `\n` and returns them as text without the line ending, or null at
    /// end of stream. A last line without `\n` before end of stream still counts as a line.
    /// A line longer than `max` bytes is refused before it can fill memory.
    static String readLine(InputStream in, int max) throws IOException {
        var line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();                      // one byte, from the buffer in front of the socket
            if (b == -1) {
                return line.size() == 0 ? null : text(line);
            }
            if (b == '\n') {
                return text(line);
            }
            if (line.size() == max) {
                throw new LineTooLongException("line longer than " + max + " bytes");
            }
            line.write(b);
        }
    }
    // end::readline[]

    static String text(ByteArrayOutputStream bytes) {
        String s = bytes.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;   // telnet sends \r\n
    }

    /// Sends a last line in a way that lets the client really read it.
    static void refuse(Socket client, String message) throws IOException {
        client.getOutputStream().write((message + "\n").getBytes(StandardCharsets.UTF_8));
        // Closing a socket with unread bytes in its receive buffer makes Linux send a reset (RST),
        // which can destroy our message before the client reads it. So: send FIN first, then
        // read and discard what the client still sends, for a short while, then close.
        client.shutdownOutput();
        client.setSoTimeout(2_000);
        try {
            client.getInputStream().skip(1 << 20);
        } catch (SocketTimeoutException e) {
            // The client went quiet without closing: we waited long enough.
        }
    }

    static final class LineTooLongException extends IOException {
        LineTooLongException(String message) {
            super(message);
        }
    }

    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    public static void main(String[] args) throws Exception {
        int port = parsePort(args);
        try (Server server = start(port)) {
            log("listening on %s:%d (passive mode); try: nc localhost %d",
                    server.listener().getInetAddress().getHostAddress(), server.port(), server.port());
            server.acceptor().join();
        } catch (BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        } catch (SocketException e) {
            System.err.println("Cannot listen on port " + port + ": " + e.getMessage());
            System.exit(1);
        }
    }

    /// Reads `--port N` and `--help`. Anything else is a mistake: say what, print usage, exit 2.
    static int parsePort(String[] args) {
        int port = DEFAULT_PORT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--quiet" -> quiet = true;
                case "--port" -> {
                    if (i + 1 == args.length) usageError("--port needs a number");
                    port = parseNumber(args[++i]);
                    if (port < 0 || port > 65_535) usageError("a port is a number from 0 to 65535, not " + port);
                }
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        return port;
    }

    static int parseNumber(String text) {
        try {
            return Integer.parseInt(text);
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
