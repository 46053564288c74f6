///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;

/// Lesson 03 · Bind, listen, accept — the kernel lets clients in before accept(); a port outlives its server.
///
/// Run it: `./jbang lessons/03_BindListenAccept.java [--port 1234] [--backlog 3] [--no-pause]`;
/// press Enter for each step, and poke it from another terminal with `nc localhost 1234` and `ss -tan`.
/// Chapter: docs/chapters/03-bind-listen-accept.adoc · Test: lessons/test/BindListenAcceptTest.java
/// Not here: serving the accepted connection (lesson 05), many clients at once (lessons 08 to 11), SO_REUSEPORT.
class BindListenAccept {
    static final int DEFAULT_PORT = 1234;
    static final int DEFAULT_BACKLOG = 3;   // the listen backlog: small, so the accept queue fills where ss shows it
    static final int CONNECT_PATIENCE = 1_000;   // milliseconds a demo client waits for connect() to complete
    static final Path SOMAXCONN = Path.of("/proc/sys/net/core/somaxconn");   // Linux's ceiling for any backlog

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
    /// bind(2) then listen(2), one call in Java; its second argument is the backlog. Returns the one applied.
    static int bindAndListen(ServerSocket socket, int port, int backlog) throws IOException {
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), backlog);
        // Linux silently takes the smaller of the backlog and net.core.somaxconn; other systems have no
        // such file. (Not Files.readString: a /proc file reports size 0, and readString got one digit of it.)
        int applied = Files.exists(SOMAXCONN)
                ? Math.min(backlog, Integer.parseInt(Files.readAllLines(SOMAXCONN).getFirst().strip())) : backlog;
        log("bound to %s:%d and listening with backlog %d: the kernel now completes handshakes for us",
                socket.getInetAddress().getHostAddress(), socket.getLocalPort(), applied);
        if (applied < backlog) {
            log("asked for backlog %d; the kernel capped it at net.core.somaxconn = %d (ss -tln shows Send-Q %d)",
                    backlog, applied, applied);
        }
        return applied;
    }
    // end::bind[]
    // tag::queue[]
    /// Clients the lesson starts itself, to fill the accept queue while nobody calls accept().
    static List<Socket> connectClients(int port, int count) throws IOException {
        List<Socket> connected = new ArrayList<>();
        for (int number = 1; number <= count; number++) {
            var socket = new Socket();
            try {
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), CONNECT_PATIENCE);
                // The handshake is complete: we can send at once, though nobody has accepted us.
                socket.getOutputStream().write(("hello from client " + number + "\n").getBytes(StandardCharsets.UTF_8));
                log("client %d: connect() returned, from port %d; sent a line; nobody has called accept()",
                        number, socket.getLocalPort());
                connected.add(socket);
            } catch (SocketTimeoutException e) {
                log("client %d: connect() did not complete within %d s: the accept queue is full, so the kernel "
                        + "drops our SYN and we would have to retry", number, CONNECT_PATIENCE / 1000);
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

    /// read(2): blocks until bytes (up to 1,024) or end of stream arrive; they may predate accept().
    static String readSome(Socket connection) throws IOException {
        byte[] buffer = new byte[1024];
        int n = connection.getInputStream().read(buffer);             // -1: the client has closed its side
        String text = new String(buffer, 0, Math.max(n, 0), StandardCharsets.UTF_8);
        log("read() returned %d bytes: \"%s\"", n, text.strip());
        return text;
    }
    // end::accept[]
    // tag::close[]
    /// The server closes first: its side goes to FIN_WAIT, then TIME_WAIT; the unaccepted clients are reset.
    static void closeServerFirst(Socket connection, ServerSocket listener, List<Socket> clients) throws IOException {
        connection.close();
        log("closed the accepted connection first: our FIN is on its way");
        listener.close();
        log("closed the listening socket: nobody accepts any more; the queued connections are reset");
        // Each demo client reads what the server's close sends it, then closes its own side.
        for (int i = 0; i < clients.size(); i++) {
            try (Socket client = clients.get(i)) {
                if (client.getInputStream().read() == -1) log("client %d: end of stream; closing its side too", i + 1);
            } catch (IOException e) {
                log("client %d: %s", i + 1, e.getMessage());
            }
        }
    }

    static boolean tryRebind(int port, boolean reuseAddress) throws IOException {
        try (ServerSocket again = create(reuseAddress)) {
            log("binding port %d again with SO_REUSEADDR=%s", port, again.getReuseAddress());
            bindAndListen(again, port, DEFAULT_BACKLOG);
            return true;
        } catch (BindException e) {
            log("bind failed: %s. The connection we closed first is in TIME_WAIT on port %d (ss -tan state time-wait); "
                    + "without SO_REUSEADDR the kernel will not share the port with it for about 60 s",
                    e.getMessage(), port);
            return false;
        }
    }
    // end::close[]
    // tag::walk[]
    static void walk(int askedPort, int backlog, boolean pause) throws IOException {
        step(1, "create a socket", pause);
        ServerSocket listener = create(true);
        step(2, "bind to port %d and listen with backlog %d".formatted(askedPort, backlog), pause);
        int applied = bindAndListen(listener, askedPort, backlog);
        int port = listener.getLocalPort();
        log("listening on %s:%d; try: nc localhost %d, and ss -tln 'sport = :%d'",
                listener.getInetAddress().getHostAddress(), port, port, port);
        // Two more than the queue holds: Linux lets backlog + 1 wait, and the last one finds it full.
        step(3, "%d clients connect while nobody calls accept()".formatted(applied + 2), pause);
        List<Socket> clients = connectClients(port, applied + 2);
        log("%d connections wait in the accept queue; ss -tln 'sport = :%d' shows them as Recv-Q",
                clients.size(), port);
        step(4, "accept() one connection", pause);
        Socket connection = acceptOne(listener);
        step(5, "read from it", pause);
        readSome(connection);
        step(6, "close: the server closes its connection first, then stops listening", pause);
        closeServerFirst(connection, listener, clients);
        step(7, "start again on port %d without SO_REUSEADDR".formatted(port), pause);
        tryRebind(port, false);
        step(8, "start again on port %d with SO_REUSEADDR".formatted(port), pause);
        if (tryRebind(port, true)) log("bound: SO_REUSEADDR lets a new listener share the port with TIME_WAIT");
        log("done; ss -tan state time-wait shows the old connection for about a minute");
    }
    // end::walk[]

    static void step(int number, String what, boolean pause) {
        System.out.printf("%nStep %d: %s.%s%n", number, what, pause ? " Press Enter to go on." : "");
        if (pause) IO.readln();                 // once the input has ended, it returns at once: the walk runs on
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/03_BindListenAccept.java [--port N] [--backlog N] [--no-pause] [--help]
              --port N     the TCP port to listen on (default %d; 0 picks any free port)
              --backlog N  the accept queue's length asked of listen() (default %d; Linux caps it at somaxconn)
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
