///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
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
import java.util.concurrent.atomic.AtomicReference;

/// Lesson 09 · The naive server — one thread accepts a client and serves it until it leaves; the next one waits.
///
/// Run it: `./jbang lessons/09_NaiveServer.java [--port 1234]`; talk to it from two terminals: `nc localhost 1234`.
/// Read: docs/chapters/09-naive-server.adoc
class NaiveServer {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;
    /// How many finished handshakes the kernel keeps for us while we are busy: the JDK's default.
    static final int BACKLOG = 50;

    static final String USAGE = """
            Usage: ./jbang lessons/09_NaiveServer.java [--port N] [--help]

            A line echo server with one thread: it accepts a client, answers each line
            with "ECHO <line>" until that client leaves, and only then accepts the next.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in two more terminals:  nc localhost 1234
            """.formatted(DEFAULT_PORT);

    /// A running server: the port it got, the client being served (if any), and `close()`.
    record Server(ServerSocket listener, AtomicReference<Socket> current, Thread thread) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();                   // a thread in accept() wakes with an exception
            Socket client = current.get();
            if (client != null) client.close(); // a thread in read() wakes with an exception
        }
    }

    static Server start(int port) throws IOException {
        // Bind to loopback; the kernel queues up to BACKLOG finished handshakes for us.
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        var current = new AtomicReference<Socket>();
        Thread thread = Thread.ofPlatform().name("server").start(() -> acceptAndServe(listener, current));
        return new Server(listener, current, thread);
    }

    // tag::loop[]
    static void acceptAndServe(ServerSocket listener, AtomicReference<Socket> current) {
        while (!listener.isClosed()) {
            try {
                log("waiting in accept() for the next client");
                Socket client = listener.accept();
                current.set(client);
                log("accepted %s; %s", client.getRemoteSocketAddress(), waitedHint(client));
                log("serving it until it leaves: anyone who connects now waits in the kernel's queue");
                serve(client);                  // the only thread is busy here: nobody else is accepted
                current.set(null);
            } catch (IOException e) {
                if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
            }
        }
        log("listening socket closed; no more clients");
    }

    /// A client that waited in the queue may have sent lines already: they sat in the kernel.
    static String waitedHint(Socket client) throws IOException {
        int waiting = client.getInputStream().available();
        return waiting == 0 ? "it has sent nothing yet"
                : "it already sent " + waiting + " bytes while it waited: they sat in the kernel's buffer";
    }
    // end::loop[]

    // tag::serve[]
    static void serve(Socket client) {
        try (client) {
            try {
                echoLines(client);
            } catch (LineTooLongException e) {
                log("refused: %s", e.getMessage());
                refuse(client, "ERROR " + e.getMessage() + "; closing");
            }
        } catch (IOException e) {
            log("connection ended: %s", e.getMessage());   // a reset, or the server shutting down
        }
    }

    static void echoLines(Socket client) throws IOException {
        InputStream in = new BufferedInputStream(client.getInputStream());
        OutputStream out = new BufferedOutputStream(client.getOutputStream());
        while (true) {
            String line = readLine(in, MAX_LINE);
            if (line == null) {
                log("end of stream: %s left; closing its socket", client.getRemoteSocketAddress());
                return;
            }
            log("read \"%s\"; answering", line);
            out.write(("ECHO " + line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
    }
    // end::serve[]

    /// Reads bytes up to the next `\n` and returns them as text without the line ending, or null at
    /// end of stream. A line longer than `max` bytes is refused before it can fill memory.
    static String readLine(InputStream in, int max) throws IOException {
        var line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b == -1) return line.size() == 0 ? null : text(line);
            if (b == '\n') return text(line);
            if (line.size() == max) throw new LineTooLongException("line longer than " + max + " bytes");
            line.write(b);
        }
    }

    static String text(ByteArrayOutputStream bytes) {
        String s = bytes.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;   // telnet sends \r\n
    }

    /// Sends a last line, then FIN, and drains what the client still sends so that closing does not
    /// turn into a reset that destroys the line before the client reads it (see lesson 05).
    static void refuse(Socket client, String message) throws IOException {
        client.getOutputStream().write((message + "\n").getBytes(StandardCharsets.UTF_8));
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
            log("listening on %s:%d (one client at a time); try: nc localhost %d",
                    server.listener().getInetAddress().getHostAddress(), server.port(), server.port());
            server.thread().join();
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
