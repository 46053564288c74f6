///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Lesson 05 · Passive echo — the server asks for each line; nothing arrives until it calls read.
///
/// Run it: `./jbang lessons/05_PassiveEcho.java [--port 1234] [--bytes]`; talk to it: `nc -N localhost 1234`.
/// Chapter: docs/chapters/05-passive-echo.adoc · Test: lessons/test/PassiveEchoTest.java ·
/// Lab: labs/01-line-echo
/// Not here: many clients on one thread (lesson 08), a bounded number of threads (lesson 11),
/// messages that are not lines (lesson 15).
class PassiveEcho {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_LINE = 8192;   // the longest line the server accepts, in bytes, not counting the newline
    /// How many finished connections the kernel may hold for us before accept() takes them. The JDK's default is 50: a
    /// crowd of 2,000 clients then waits in SYN retries for half a minute. Linux caps the number at net.core.somaxconn.
    static final int BACKLOG = 1024;

    enum Mode { LINES, BYTES }   // what it echoes: whole lines (the course's protocol), or whatever each read returns

    /// A running server: the port it got, and `close()` to stop it and every connection it holds.
    record Server(ServerSocket listener, Set<Socket> connections, Thread acceptor) implements AutoCloseable {
        int port() { return listener.getLocalPort(); }

        @Override
        public void close() throws IOException {
            listener.close();                       // accept() in the acceptor throws: its loop ends
            for (Socket connection : connections) connection.close();   // read() in each handler throws: it ends
        }
    }

    static Server start(int port) throws IOException { return start(port, Mode.LINES); }

    // tag::start[]
    static Server start(int port, Mode mode) throws IOException {
        // Create the listening socket and bind it to loopback: only this machine can connect.
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        Set<Socket> connections = ConcurrentHashMap.newKeySet();
        Thread acceptor = Thread.ofPlatform().name("acceptor").start(() -> acceptLoop(listener, connections, mode));
        return new Server(listener, connections, acceptor);
    }

    static void acceptLoop(ServerSocket listener, Set<Socket> connections, Mode mode) {
        while (!listener.isClosed()) {
            try {
                log("waiting in accept() for the next client");
                // Block until the kernel has a completed connection for us: a new, connected socket.
                Socket client = listener.accept();
                connections.add(client);
                log("accepted %s -> %s", client.getRemoteSocketAddress(), client.getLocalSocketAddress());
                // Give the connection its own thread so the acceptor can go straight back to accept().
                Thread.ofVirtual().name("client " + client.getPort()).start(() -> serve(client, connections, mode));
            } catch (IOException e) {
                if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
            }
        }
        log("listening socket closed; no more clients");
    }
    // end::start[]
    // tag::serve[]
    static void serve(Socket client, Set<Socket> connections, Mode mode) {
        try (client) {
            try {
                if (mode == Mode.LINES) echoLines(client); else echoBytes(client);
                log("end of stream: the client closed its side; closing ours");
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
        while (true) {
            trace("waiting in read() for a line");
            // Passive mode: nothing is handed to us; we ask for the next line and wait for it.
            String line = readLine(in, MAX_LINE);
            if (line == null) return;               // end of stream: the client closed its side
            trace("read \"%s\"; echoing it", line);
            client.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }
    // end::serve[]
    // tag::bytes[]
    /// Echoes whatever each read returns, as a plain `recv`/`sendall` loop does: no framing at all,
    /// so a client that sends bytes without a newline still gets them back.
    static void echoBytes(Socket client) throws IOException {
        byte[] buffer = new byte[8192];
        while (true) {
            trace("waiting in read() for bytes");
            int count = client.getInputStream().read(buffer);      // returns as soon as any bytes have arrived
            if (count == -1) return;                               // end of stream: the client closed its side
            trace("read %d bytes; echoing them", count);
            client.getOutputStream().write(buffer, 0, count);
        }
    }
    // end::bytes[]
    // tag::readline[]
    /// Reads bytes up to the next `\n` and returns them as text without the line ending, or null at end of
    /// stream; a last line without `\n` still counts. A line over `max` bytes is refused before it fills memory.
    static String readLine(InputStream in, int max) throws IOException {
        var line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();                      // one byte, from the buffer in front of the socket
            if (b == -1 && line.size() == 0) return null;
            if (b == -1 || b == '\n') {
                String text = line.toString(StandardCharsets.UTF_8);
                return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;   // telnet sends \r\n
            }
            if (line.size() == max) throw new LineTooLongException("line longer than " + max + " bytes");
            line.write(b);
        }
    }
    // end::readline[]

    /// Sends a last line so that the client can really read it: closing a socket with unread bytes in its receive
    /// buffer makes Linux send a reset (RST), which can destroy our message before the client reads it.
    static void refuse(Socket client, String message) throws IOException {
        client.getOutputStream().write((message + "\n").getBytes(StandardCharsets.UTF_8));
        // Send FIN first, then read and discard what the client still sends, for a short while, then close.
        client.shutdownOutput();
        client.setSoTimeout(2_000);
        try {
            client.getInputStream().skip(1 << 20);
        } catch (SocketTimeoutException e) {
            // The client went quiet without closing: we waited long enough.
        }
    }

    static final class LineTooLongException extends IOException {
        LineTooLongException(String message) { super(message); }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/05_PassiveEcho.java [--port N] [--bytes] [--help]
              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --bytes    echo whatever each read returns, newline or not (no framing)
              --help     print this help and exit

            Then, in another terminal:  nc -N localhost 1234   (-N: Ctrl-D then ends the stream)
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        Mode mode = commandLine.flag("--bytes") ? Mode.BYTES : Mode.LINES;
        commandLine.done();
        try (Server server = start(port, mode)) {
            log("listening on %s:%d (passive mode, echoing %s); try: nc -N localhost %d",
                    server.listener().getInetAddress().getHostAddress(), server.port(),
                    mode == Mode.LINES ? "lines" : "bytes", server.port());
            server.acceptor().join();
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
        }
    }

    /// Prints a line of narration: the time, the thread, what happens.
    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    /// Narration for every message. `-Dsocketlab.quiet=true` turns it off for the benchmark.
    static void trace(String format, Object... args) {
        if (!QUIET) log(format, args);
    }

    static final boolean QUIET = Boolean.getBoolean("socketlab.quiet");

    /// `--help`, options `--name value` (or `--name=value`) and flags `--name`. A mistake prints what
    /// is wrong and the usage, and exits 2; a port in use prints one line, and exits 1.
    record CommandLine(String usage, List<String> args) {
        CommandLine(String usage, String[] args) {
            this(usage, new ArrayList<>());
            // --port=1234 becomes --port 1234; a split limit of 1 leaves any other argument whole.
            for (String arg : args) this.args.addAll(List.of(arg.split("=", arg.startsWith("--") ? 2 : 1)));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        int port(int otherwise) { return number("--port", otherwise, 0, 65_535); }

        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        String text(String name, String otherwise) {
            int at = args.indexOf(name);
            if (at == -1) return otherwise;
            if (at + 1 == args.size()) throw fail(name + " needs a value");
            args.remove(at);
            return args.remove(at);
        }

        boolean flag(String name) { return args.remove(name); }

        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.print("error: " + problem + "\n" + usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
