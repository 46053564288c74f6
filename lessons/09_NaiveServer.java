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
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/// Lesson 09 · The naive server — one thread accepts a client and serves it until it leaves; the next one waits.
///
/// Run it: `./jbang lessons/09_NaiveServer.java [--port 1234]`; talk to it from two terminals: `nc -N localhost 1234`.
/// Chapter: docs/chapters/09-naive-server.adoc · Test: lessons/test/NaiveServerTest.java
/// Not here: serving clients side by side (lesson 10), a bounded pool (lesson 11), a read timeout
/// for a client that never leaves (lesson 04 shows timeouts).
class NaiveServer {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;
    /// How many finished handshakes the kernel keeps while the only thread is busy with a client.
    /// 50, the JDK's default, stated here: the waiting clients queue in it for their turn, and a
    /// server that serves one at a time gains nothing from a longer queue. When it is full, Linux
    /// drops a new client's SYN: that client retries, and in the end its connect times out.
    static final int BACKLOG = 50;

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

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/09_NaiveServer.java [--port N] [--help]

            A line echo server with one thread: it accepts a client, answers each line
            with "ECHO <line>" until that client leaves, and only then accepts the next.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in two more terminals:  nc -N localhost 1234
            (-N: when you press Ctrl-D, nc shuts down its sending side, and the server sees end of stream)
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try (Server server = start(port)) {
            log("listening on %s:%d (one client at a time, backlog %d); try: nc -N localhost %d",
                    server.listener().getInetAddress().getHostAddress(), server.port(), BACKLOG, server.port());
            server.thread().join();
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
