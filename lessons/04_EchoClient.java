///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;

/// Lesson 04 · Echo client — connect, send what you type, print what comes back; at the end of your
/// input, close only your sending side and keep reading until the server closes.
///
/// Run it: start lesson 05 (`./jbang lessons/05_PassiveEcho.java`), then
/// `./jbang lessons/04_EchoClient.java [--host localhost] [--port 1234] [--timeout SECONDS]`.
/// Read: docs/chapters/04-echo-client.adoc
class EchoClient {
    static final String DEFAULT_HOST = "localhost";
    static final int DEFAULT_PORT = 1234;
    /// Zero means: wait for the server as long as it takes.
    static final Duration NO_TIMEOUT = Duration.ZERO;

    static final String USAGE = """
            Usage: ./jbang lessons/04_EchoClient.java [--host H] [--port N] [--timeout SECONDS] [--help]

            An interactive line client: every line you type goes to the server, every line the
            server sends is printed. End your input (Ctrl-D) to close your sending side; the
            client still prints what the server sends, and exits when the server closes.

              --host H           the server's host name or address (default %s)
              --port N           the server's TCP port (default %d)
              --timeout SECONDS  give up when the server sends nothing for this long (default: wait)
              --help             print this help and exit

            Start a server first, in another terminal:  ./jbang lessons/05_PassiveEcho.java
            """.formatted(DEFAULT_HOST, DEFAULT_PORT);

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

    static void log(PrintStream screen, String format, Object... args) {
        screen.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    public static void main(String[] args) {
        String host = DEFAULT_HOST;
        int port = DEFAULT_PORT;
        Duration timeout = NO_TIMEOUT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--host" -> host = value(args, ++i, "--host");
                case "--port" -> {
                    port = number(value(args, ++i, "--port"));
                    if (port < 1 || port > 65_535) usageError("a server's port is a number from 1 to 65535, not " + port);
                }
                case "--timeout" -> {
                    int seconds = number(value(args, ++i, "--timeout"));
                    if (seconds < 0 || seconds > 86_400) usageError("--timeout needs 0 to 86400 seconds, not " + seconds);
                    timeout = Duration.ofSeconds(seconds);
                }
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        var keyboard = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.exit(run(keyboard, System.out, host, port, timeout));
    }

    static String value(String[] args, int i, String option) {
        if (i == args.length) usageError(option + " needs a value");
        return args[i];
    }

    static int number(String text) {
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
