///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;

/// Lesson 03 · Bind, listen, accept — a server's life one step at a time: the kernel accepts
/// connections before the program calls accept, and a port stays taken after the server stops.
///
/// Run it: `./jbang lessons/03_BindListenAccept.java [--port 1234] [--backlog 3] [--no-pause]`;
/// press Enter for each step, and poke it from another terminal with `nc localhost 1234` and `ss -tan`.
/// Chapter: docs/chapters/03-bind-listen-accept.adoc · Test: lessons/test/BindListenAcceptTest.java
/// Not here: serving the accepted connection (lesson 05), many clients at once (lessons 08 to 11),
/// SO_REUSEPORT.
class BindListenAccept {
    static final int DEFAULT_PORT = 1234;
    static final int DEFAULT_BACKLOG = 3;
    /// How long a demo client waits for its connect before giving up.
    static final Duration CONNECT_PATIENCE = Duration.ofSeconds(1);
    /// The kernel's ceiling for any backlog (Linux).
    static final Path SOMAXCONN = Path.of("/proc/sys/net/core/somaxconn");

    // tag::create[]
    /// socket(2): a TCP socket with no address and no port yet.
    static ServerSocket create(boolean reuseAddress) throws IOException {
        var socket = new ServerSocket();
        log("created a socket: bound=%s, SO_REUSEADDR=%s (Java's default on Linux)",
                socket.isBound(), socket.getReuseAddress());
        socket.setReuseAddress(reuseAddress);
        return socket;
    }
    // end::create[]

    // tag::bind[]
    /// bind(2) then listen(2): Java does both in one call; the second argument is the backlog.
    /// Returns the backlog the kernel applied.
    static int bindAndListen(ServerSocket socket, int port, int backlog) throws IOException {
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), backlog);
        int applied = appliedBacklog(backlog);
        log("bound to %s:%d and listening with backlog %d: the kernel now completes handshakes for us",
                socket.getInetAddress().getHostAddress(), socket.getLocalPort(), applied);
        if (applied < backlog) {
            log("asked for backlog %d; the kernel capped it at net.core.somaxconn = %d (ss -tln shows Send-Q %d)",
                    backlog, applied, applied);
        }
        return applied;
    }

    /// listen(2) on Linux silently takes the smaller of the backlog and net.core.somaxconn.
    static int appliedBacklog(int asked) {
        try {
            // Not Files.readString: a /proc file reports size 0, and readString got one digit of it.
            int cap = Integer.parseInt(Files.readAllLines(SOMAXCONN).getFirst().strip());
            return Math.min(asked, cap);
        } catch (IOException | RuntimeException e) {
            return asked;                       // not Linux: no /proc to ask
        }
    }
    // end::bind[]

    // tag::queue[]
    /// A client the lesson starts itself, to fill the accept queue while nobody calls accept().
    /// With thousands of them, only the first five and the last three are `told` in the narration.
    record DemoClient(int number, Socket socket, boolean told) {}

    static List<DemoClient> connectClients(int port, int count) throws IOException {
        List<DemoClient> connected = new ArrayList<>();
        for (int number = 1; number <= count; number++) {
            var socket = new Socket();
            try {
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port),
                        (int) CONNECT_PATIENCE.toMillis());
                // The handshake is complete: we can send at once, though nobody has accepted us.
                socket.getOutputStream().write(("hello from client " + number + "\n").getBytes(StandardCharsets.UTF_8));
                boolean told = number <= 5 || number > count - 3;
                if (told) {
                    log("client %d: connect() returned, from port %d; sent a line; nobody has called accept()",
                            number, socket.getLocalPort());
                }
                if (number == 6 && count > 8) log("clients 6 to %d: the same, told quietly", count - 3);
                connected.add(new DemoClient(number, socket, told));
            } catch (IOException e) {
                log("client %d: %s", number, switch (e) {
                    case SocketTimeoutException timeout -> "connect() did not complete within %d s: the accept queue "
                            .formatted(CONNECT_PATIENCE.toSeconds()) + "is full, so the kernel drops our SYN and we would have to retry";
                    default -> "connect() failed: " + e.getMessage();
                });
                socket.close();
            }
        }
        return connected;
    }
    // end::queue[]

    // tag::accept[]
    /// accept(2): take the oldest completed connection off the queue; it returns at once if one waits.
    static Socket acceptOne(ServerSocket listener) throws IOException {
        Socket connection = listener.accept();
        log("accept() returned a new socket: %s -> %s", connection.getRemoteSocketAddress(),
                connection.getLocalSocketAddress());
        return connection;
    }

    /// read(2): whatever has arrived, up to 1,024 bytes; the client may have sent it before we accepted.
    static String readSome(Socket connection, Duration patience) throws IOException {
        connection.setSoTimeout((int) patience.toMillis());
        byte[] buffer = new byte[1024];
        try {
            int n = connection.getInputStream().read(buffer);
            if (n == -1) {
                log("read() returned end of stream: the client has closed its side");
                return null;
            }
            String text = new String(buffer, 0, n, StandardCharsets.UTF_8);
            log("read() returned %d bytes: \"%s\"", n, text.strip());
            return text;
        } catch (SocketTimeoutException e) {
            log("nothing arrived within %d s", patience.toSeconds());
            return "";
        }
    }
    // end::accept[]

    // tag::close[]
    /// The server closes first. Its side of the connection goes to FIN_WAIT, then TIME_WAIT once the
    /// client closes too; the clients nobody accepted are reset when the listener closes.
    static void closeServerFirst(Socket connection, ServerSocket listener, List<DemoClient> clients) throws IOException {
        connection.close();
        log("closed the accepted connection first: our FIN is on its way");
        for (DemoClient client : clients) {
            if (client.socket().getLocalPort() == connection.getPort()) finish(client);
        }
        listener.close();
        log("closed the listening socket: nobody accepts any more; the queued connections are reset");
        for (DemoClient client : clients) {
            if (!client.socket().isClosed()) finish(client);
        }
        long quiet = clients.stream().filter(client -> !client.told()).count();
        if (quiet > 0) log("%d more queued clients: the same, told quietly", quiet);
    }

    /// A demo client reads until the server's close reaches it, then closes its own side.
    static void finish(DemoClient client) {

        try (Socket socket = client.socket()) {
            socket.setSoTimeout(2_000);
            var in = socket.getInputStream();
            while (in.read() != -1) {
                // Drain whatever the server still sent.
            }
            if (client.told()) log("client %d: end of stream; closing its side too", client.number());
        } catch (IOException e) {
            if (client.told()) log("client %d: %s", client.number(), e.getMessage());
        }
    }

    /// A new server on the same port, right after the old one stopped.
    static boolean tryRebind(int port, boolean reuseAddress) {
        try (ServerSocket again = create(reuseAddress)) {
            log("binding port %d again with SO_REUSEADDR=%s", port, again.getReuseAddress());
            bindAndListen(again, port, DEFAULT_BACKLOG);
            return true;
        } catch (BindException e) {
            log("bind failed: %s. The connection we closed first is in TIME_WAIT on port %d "
                    + "(ss -tan state time-wait); without SO_REUSEADDR the kernel will not share the port "
                    + "with it for about 60 s", e.getMessage(), port);
            return false;
        } catch (IOException e) {
            log("bind failed: %s", e.getMessage());
            return false;
        }
    }
    // end::close[]

    // tag::walk[]
    /// The whole walk, one step at a time: each waits for Enter unless `pause` is false.
    static void walk(int askedPort, int backlog, boolean pause) throws IOException {
        var steps = new Steps(pause);

        steps.next("create a socket");
        ServerSocket listener = create(true);

        steps.next("bind to port %d and listen with backlog %d".formatted(askedPort, backlog));
        int applied = bindAndListen(listener, askedPort, backlog);
        int port = listener.getLocalPort();
        log("listening on %s:%d; try: nc localhost %d, and ss -tln 'sport = :%d'",
                listener.getInetAddress().getHostAddress(), port, port, port);

        // Two more than the queue holds: Linux lets backlog + 1 wait, and the last one finds it full.
        steps.next("%d clients connect while nobody calls accept()".formatted(applied + 2));
        List<DemoClient> clients = connectClients(port, applied + 2);
        log("%d connections wait in the accept queue; ss -tln 'sport = :%d' shows them as Recv-Q", clients.size(), port);

        steps.next("accept() one connection");
        Socket connection = acceptOne(listener);

        steps.next("read from it");
        readSome(connection, Duration.ofSeconds(30));

        steps.next("close: the server closes its connection first, then stops listening");
        closeServerFirst(connection, listener, clients);

        steps.next("start again on port %d without SO_REUSEADDR".formatted(port));
        tryRebind(port, false);

        steps.next("start again on port %d with SO_REUSEADDR".formatted(port));
        if (tryRebind(port, true)) log("bound: SO_REUSEADDR lets a new listener share the port with TIME_WAIT");
        log("done; ss -tan state time-wait shows the old connection for about a minute");
    }
    // end::walk[]

    /// The pause the learner controls: each step waits for Enter unless `--no-pause` was given.
    static final class Steps {
        private final BufferedReader keyboard = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        private boolean pause;
        private int number;

        Steps(boolean pause) {
            this.pause = pause;
        }

        void next(String what) throws IOException {
            number++;
            System.out.printf("%nStep %d: %s.%s%n", number, what, pause ? " Press Enter to go on." : "");
            if (pause && keyboard.readLine() == null) pause = false;   // no keyboard any more: run straight through
        }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/03_BindListenAccept.java [--port N] [--backlog N] [--no-pause] [--help]

            A server's life one step at a time: create a socket, bind, listen, let clients
            connect before anyone calls accept, accept one, read, close, then start again
            on the same port without and with SO_REUSEADDR.

              --port N     the TCP port to listen on (default %d; 0 picks any free port)
              --backlog N  the accept queue's length asked of listen() (default %d;
                         Linux caps it at net.core.somaxconn)
              --no-pause   run every step straight through instead of waiting for Enter
              --help       print this help and exit
            """.formatted(DEFAULT_PORT, DEFAULT_BACKLOG);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        int backlog = commandLine.number("--backlog", DEFAULT_BACKLOG, 1, 1_000_000);
        boolean pause = !commandLine.flag("--no-pause");
        commandLine.done();
        try {
            walk(port, backlog, pause);
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
