// Mistake: the client waits after the last failed attempt too, before it gives up. Caught by: "gives up after the last attempt, waiting longer each time"
//JAVA 25+

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;

/// Lab 08 · A client that survives — one request, its whole reply, and a clear failure when the
/// server is slow, silent, broken or not there.
///
/// Run it: start lesson 05 (`./jbang lessons/05_PassiveEcho.java`), then
/// `echo hello | ./jbang labs/08-surviving-client/SurvivingClient.java [--port 1234]`.
/// Read: labs/08-surviving-client/README.adoc
class SurvivingClient {
    static final String DEFAULT_HOST = "localhost";
    static final int DEFAULT_PORT = 1234;

    /// How hard the client tries. `connectTimeout`: the longest one connect may wait for the
    /// server's SYN-ACK. `readTimeout`: the longest the server may stay silent while we wait for
    /// its reply. `attempts`: how many connects in all. `firstBackoff`: the wait after the first
    /// failed connect; each later wait is twice the one before.
    record Policy(Duration connectTimeout, Duration readTimeout, int attempts, Duration firstBackoff) {
        Policy {
            if (attempts < 1) throw new IllegalArgumentException("attempts must be at least 1, not " + attempts);
        }
    }

    /// Connects to `server`, making up to `policy.attempts()` attempts. An attempt fails when nothing
    /// listens there (`ConnectException`: the kernel answered the SYN with a reset) or when nothing
    /// answers within the connect timeout (`SocketTimeoutException`: the SYN went unanswered). Before
    /// the next attempt it waits: `firstBackoff`, then twice that, and so on. After the last attempt
    /// it throws that attempt's failure, without waiting again.
    static Socket connect(InetSocketAddress server, Policy policy) throws IOException, InterruptedException {
        Duration backoff = policy.firstBackoff();
        for (int attempt = 1; ; attempt++) {
            var socket = new Socket();
            try {
                socket.connect(server, (int) policy.connectTimeout().toMillis());
                return socket;
            } catch (ConnectException | SocketTimeoutException failed) {
                socket.close();
                Thread.sleep(backoff);
                if (attempt == policy.attempts()) throw failed;
                log("attempt %d of %d failed (%s); trying again in %d ms", attempt, policy.attempts(),
                        failed.getMessage(), backoff.toMillis());
                backoff = backoff.multipliedBy(2);
            } catch (IOException other) {
                socket.close();
                throw other;
            }
        }
    }

    /// Sends `request` to `server` and returns the whole reply: every byte up to the server's end of
    /// stream. Half-closes after the request (the server's sign that the request is complete); gives
    /// up when the server stays silent longer than the read timeout; a reset is a failure, never a
    /// short reply. Retries only the connect: once the request is sent, the server may have acted
    /// on it. Closes the socket however the exchange ends.
    static byte[] ask(InetSocketAddress server, byte[] request, Policy policy) throws IOException, InterruptedException {
        try (Socket socket = connect(server, policy)) {
            socket.setSoTimeout((int) policy.readTimeout().toMillis());
            OutputStream out = socket.getOutputStream();
            out.write(request);
            out.flush();
            socket.shutdownOutput();                 // FIN: the request is complete; we still read
            return socket.getInputStream().readAllBytes();   // until end of stream; each read waits at most readTimeout
        }
    }

    static void log(String format, Object... args) {
        System.err.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    // ---- The command line: the same block as in the lessons; read it once. ----

    static final String USAGE = """
            Usage: ./jbang labs/08-surviving-client/SurvivingClient.java [--host H] [--port N]
                       [--connect-timeout MS] [--read-timeout MS] [--attempts N] [--backoff MS] [--help]

            Lab 08's client: sends what it reads on standard input as one request, shuts down its
            sending side, and prints the server's whole reply, up to its end of stream. It retries
            a connect that is refused or not answered, waiting longer each time.

              --host H              the server's host name or address (default %s)
              --port N              the server's TCP port (default %d)
              --connect-timeout MS  the longest one connect may take (default 2000)
              --read-timeout MS     the longest the server may stay silent (default 5000)
              --attempts N          connects to try in all (default 4)
              --backoff MS          the wait after the first failed connect; it doubles (default 200)
              --help                print this help and exit

            Start a server first, in another terminal:  ./jbang lessons/05_PassiveEcho.java
            then:  echo hello | ./jbang labs/08-surviving-client/SurvivingClient.java
            """.formatted(DEFAULT_HOST, DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        String host = commandLine.text("--host", DEFAULT_HOST);
        int port = commandLine.number("--port", DEFAULT_PORT, 1, 65_535);
        var policy = new Policy(Duration.ofMillis(commandLine.number("--connect-timeout", 2000, 1, 600_000)),
                Duration.ofMillis(commandLine.number("--read-timeout", 5000, 1, 600_000)),
                commandLine.number("--attempts", 4, 1, 100),
                Duration.ofMillis(commandLine.number("--backoff", 200, 0, 600_000)));
        commandLine.done();
        byte[] request = System.in.readAllBytes();
        try {
            byte[] reply = ask(new InetSocketAddress(host, port), request, policy);
            System.out.write(reply);
            System.out.flush();
            log("%,d bytes sent, %,d bytes of reply, then end of stream", request.length, reply.length);
        } catch (UnknownHostException e) {
            log("cannot find host %s: no such name", host);
            System.exit(1);
        } catch (ConnectException e) {
            log("nothing listens on %s:%d after %d attempts (%s)", host, port, policy.attempts(), e.getMessage());
            System.exit(1);
        } catch (SocketTimeoutException e) {
            log("gave up on %s:%d: %s", host, port, e.getMessage());
            System.exit(1);
        } catch (IOException e) {
            log("the exchange with %s:%d failed: %s", host, port, e.getMessage());
            System.exit(1);
        }
    }

    /// Reads `--help` and the options a lab asks for. Anything else is a learner's mistake:
    /// say what, print the usage, exit with status 2; never a stack trace.
    static final class CommandLine {
        private final String usage;
        private final List<String> args;

        CommandLine(String usage, String[] args) {
            this.usage = usage;
            this.args = new ArrayList<>(List.of(args));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        /// `--port N`: 0 to 65535; 0 asks the kernel for any free port.
        int port(int otherwise) {
            return number("--port", otherwise, 0, 65_535);
        }

        /// `--name N` or `--name=N`, a whole number from `min` to `max`.
        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        /// `--name TEXT` or `--name=TEXT`.
        String text(String name, String otherwise) {
            for (int i = 0; i < args.size(); i++) {
                if (args.get(i).startsWith(name + "=")) return args.remove(i).substring(name.length() + 1);
                if (!args.get(i).equals(name)) continue;
                if (i + 1 == args.size()) throw fail(name + " needs a value");
                args.remove(i);
                return args.remove(i);
            }
            return otherwise;
        }

        /// `--name`, present or not.
        boolean flag(String name) {
            return args.remove(name);
        }

        /// After the last option: whatever is left is a mistake.
        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.println("error: " + problem);
            System.err.print(usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        /// A port in use is an ordinary mistake too: one line with a hint, exit status 1.
        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lab or lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
