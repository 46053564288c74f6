///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;

/// Lesson 04 · Echo client — connect, send what you type, print what comes back; at the end of your
/// input, close only your sending side and keep reading until the server closes.
///
/// Run it: start lesson 05 (`./jbang lessons/05_PassiveEcho.java`), then
/// `./jbang lessons/04_EchoClient.java [--host localhost] [--port 1234] [--timeout SECONDS]`.
/// Chapter: docs/chapters/04-echo-client.adoc · Test: lessons/test/EchoClientTest.java ·
/// Lab: labs/08-surviving-client
/// Not here: the server side (lesson 05), messages that are not lines (lesson 15), TLS (lesson 16).
class EchoClient {
    static final String DEFAULT_HOST = "localhost";
    static final int DEFAULT_PORT = 1234;

    // tag::run[]
    /// Talks to the server at `host:port`: keyboard lines go out, server lines come to the screen.
    /// Returns the exit status: 0 when the server closed the connection, 1 on any failure.
    static int run(BufferedReader keyboard, PrintStream screen, String host, int port, Duration timeout) {
        try (var socket = new Socket()) {
            // Connect: the kernel sends SYN, waits for SYN-ACK, answers ACK; then connect returns.
            socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
            socket.setSoTimeout((int) timeout.toMillis());   // every read waits at most this long; 0 = forever
            log(screen, "connected %s -> %s; type lines, end with Ctrl-D",
                    socket.getLocalSocketAddress(), socket.getRemoteSocketAddress());
            // The keyboard gets its own thread, so that replies are printed the moment they arrive.
            Thread.ofVirtual().name("keyboard").start(() -> sendKeyboard(keyboard, socket, screen));
            return printReplies(socket, screen, timeout);
        } catch (UnknownHostException e) {
            screen.printf("cannot find host %s: no such name%n", host);
        } catch (ConnectException e) {
            screen.printf("nothing listens on %s:%d — start lesson 05 first? (%s)%n", host, port, e.getMessage());
        } catch (SocketTimeoutException e) {
            screen.printf("no answer from %s:%d within %d s while connecting%n", host, port, timeout.toSeconds());
        } catch (IOException e) {
            screen.printf("cannot talk to %s:%d: %s%n", host, port, e.getMessage());
        }
        return 1;
    }
    // end::run[]

    // tag::keyboard[]
    static void sendKeyboard(BufferedReader keyboard, Socket socket, PrintStream screen) {
        try {
            OutputStream out = socket.getOutputStream();
            for (String line; (line = keyboard.readLine()) != null; ) {
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            // End of input: send FIN. The server sees end of stream; we can still read its replies.
            socket.shutdownOutput();
            log(screen, "end of input: sent FIN (shutdownOutput); still reading what the server sends");
        } catch (IOException e) {
            // The socket is closed: the server ended the conversation, or we gave up waiting.
        }
    }
    // end::keyboard[]

    // tag::replies[]
    static int printReplies(Socket socket, PrintStream screen, Duration timeout) throws IOException {
        var replies = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        try {
            for (String reply; (reply = replies.readLine()) != null; ) {
                screen.println(reply);
            }
            log(screen, "the server closed the connection (end of stream); bye");
            return 0;
        } catch (SocketTimeoutException e) {
            screen.printf("the server sent nothing for %s s (--timeout); giving up%n", seconds(timeout));
            return 1;
        }
    }
    // end::replies[]

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? String.valueOf(d.toSeconds()) : String.valueOf(d.toMillis() / 1000.0);
    }

    /// Narration goes to the screen the caller gave: System.out when run, a buffer in the tests.
    static void log(PrintStream screen, String format, Object... args) {
        screen.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/04_EchoClient.java [--host H] [--port N] [--timeout SECONDS] [--help]

            An interactive line client: every line you type goes to the server, every line the
            server sends is printed. End your input (Ctrl-D) to close your sending side; the
            client still prints what the server sends, and exits when the server closes.

              --host H           the server's host name or address (default %s)
              --port N           the server's TCP port (default %d)
              --timeout SECONDS  give up when the server sends nothing for this long
                                 (default 0: wait as long as it takes)
              --help             print this help and exit

            Start a server first, in another terminal:  ./jbang lessons/05_PassiveEcho.java
            """.formatted(DEFAULT_HOST, DEFAULT_PORT);

    public static void main(String[] args) {
        var commandLine = new CommandLine(USAGE, args);
        String host = commandLine.text("--host", DEFAULT_HOST);
        int port = commandLine.number("--port", DEFAULT_PORT, 1, 65_535);
        var timeout = Duration.ofSeconds(commandLine.number("--timeout", 0, 0, 86_400));
        commandLine.done();
        var keyboard = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.exit(run(keyboard, System.out, host, port, timeout));
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
