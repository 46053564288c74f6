///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Lesson 01 · Sockets vs ports — a port is a number, a socket is an endpoint, a connection is a 4-tuple.
///
/// Run it: `./jbang lessons/01_SocketsVsPorts.java [--port 1234]`; then `nc localhost 1234` and `ss -tan`.
/// Chapter: docs/chapters/01-sockets-vs-ports.adoc · Test: lessons/test/SocketsVsPortsTest.java
/// Not here: sending and receiving data (lessons 02 and 04), the steps of a server's life and its
/// accept queue (lesson 03), names and interfaces (the chapter shows them in jshell).
class SocketsVsPorts {
    static final int DEFAULT_PORT = 1234;
    static final int BACKLOG = 50;              // the JDK's default accept queue; lesson 03 fills one
    static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

    // tag::tuple[]
    /// One end's view of a TCP connection: its own address and port, and its peer's.
    record FourTuple(InetSocketAddress local, InetSocketAddress remote) {
        static FourTuple of(Socket socket) {
            return new FourTuple((InetSocketAddress) socket.getLocalSocketAddress(),
                    (InetSocketAddress) socket.getRemoteSocketAddress());
        }

        @Override
        public String toString() {
            return "local %s:%d  remote %s:%d".formatted(local.getAddress().getHostAddress(), local.getPort(),
                    remote.getAddress().getHostAddress(), remote.getPort());
        }
    }

    /// One connection is two sockets: the client's, and the one `accept()` returned on the server.
    record Connection(Socket client, Socket accepted) {
        FourTuple clientView() { return FourTuple.of(client); }
        FourTuple serverView() { return FourTuple.of(accepted); }
    }
    // end::tuple[]

    record Server(ServerSocket listener, Set<Socket> open) implements AutoCloseable {
        int port() { return listener.getLocalPort(); }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket socket : open) socket.close();
        }
    }

    // tag::connect[]
    static Server listen(int port) throws IOException {
        // Bind to loopback. Port 0 asks the kernel to choose a free port.
        var listener = new ServerSocket(port, BACKLOG, InetAddress.getLoopbackAddress());
        return new Server(listener, ConcurrentHashMap.newKeySet());
    }

    static List<Connection> connectClients(Server server, int count) throws IOException {
        List<Connection> made = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            // Connect without bind(): the kernel gives the client an ephemeral port.
            var client = new Socket(InetAddress.getLoopbackAddress(), server.port());
            // accept() returns a NEW socket for this connection; the listening socket stays as it was.
            Socket accepted = server.listener().accept();
            server.open().addAll(List.of(client, accepted));
            made.add(new Connection(client, accepted));
        }
        return made;
    }
    // end::connect[]

    // tag::ranges[]
    record PortRange(int first, int last) {
        boolean contains(int port) { return first <= port && port <= last; }
    }

    /// IANA's three classes of port numbers (RFC 6335).
    enum PortClass {
        WELL_KNOWN, REGISTERED, DYNAMIC;
        static PortClass of(int port) {
            if (port < 0 || port > 65_535) throw new IllegalArgumentException("not a port number: " + port);
            return port <= 1023 ? WELL_KNOWN : port <= 49_151 ? REGISTERED : DYNAMIC;
        }
    }

    static Optional<PortRange> readPortRange(Path file) {
        try {
            // Read through a buffer: a sysctl file gives its value to the first read() only, however
            // little it asked for. Files.readString got just "3" of "32768 60999" here.
            String[] numbers = Files.readAllLines(file).getFirst().strip().split("\\s+");
            return Optional.of(new PortRange(Integer.parseInt(numbers[0]), Integer.parseInt(numbers[1])));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
    // end::ranges[]

    static void tour(Server server) throws IOException {
        try (var other = new ServerSocket(0, BACKLOG, InetAddress.getLoopbackAddress())) {
            log("another socket bound to port 0: the kernel chose port %d", other.getLocalPort());
        }
        List<Connection> connections = connectClients(server, 3);
        for (int i = 0; i < connections.size(); i++) {
            log("connection %d, client's socket: %s", i + 1, connections.get(i).clientView());
            log("connection %d, server's socket: %s", i + 1, connections.get(i).serverView());
        }
        Optional<PortRange> ephemeral = readPortRange(EPHEMERAL_RANGE);
        log(ephemeral.map(r -> "ephemeral range (%s): %d-%d".formatted(EPHEMERAL_RANGE, r.first(), r.last()))
                .orElse("ephemeral range: " + EPHEMERAL_RANGE + " cannot be read here (not Linux?)"));
        log("server port %d: IANA class %s", server.port(), PortClass.of(server.port()));
        for (Connection c : connections) {
            int port = c.client().getLocalPort();
            log("client port %d: IANA class %s%s", port, PortClass.of(port), ephemeral
                    .map(r -> r.contains(port) ? ", inside the ephemeral range" : ", OUTSIDE the ephemeral range")
                    .orElse(""));
        }
    }

    /// After the tour: accept whoever connects, one at a time (the next waits in the accept queue; lesson 03).
    static void keepAccepting(Server server) {
        while (!server.listener().isClosed()) {
            try (Socket accepted = server.listener().accept()) {
                server.open().add(accepted);
                log("accepted a new connection: %s (client port %d: %s)", FourTuple.of(accepted),
                        accepted.getPort(), PortClass.of(accepted.getPort()));
                long bytes = accepted.getInputStream().transferTo(OutputStream.nullOutputStream());  // read, drop
                log("client port %d closed its side after %d bytes; closing ours", accepted.getPort(), bytes);
                server.open().remove(accepted);
            } catch (IOException e) {
                if (!server.listener().isClosed()) log("connection ended: %s", e.getMessage());
            }
        }
    }

    /// A port below 1024 needs privileges: bind fails with "Permission denied", not "in use".
    static boolean needsPrivileges(int port, BindException e) {
        return port != 0 && PortClass.of(port) == PortClass.WELL_KNOWN && "Permission denied".equals(e.getMessage());
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/01_SocketsVsPorts.java [--port N] [--help]

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal:  nc localhost 1234   and   ss -tan
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try (Server server = listen(port)) {
            log("asked for port %d; listening on %s:%d, no remote: a listening socket only hands out connections",
                    port, server.listener().getInetAddress().getHostAddress(), server.port());
            tour(server);
            log("still listening, with 3 connections open: try  ss -tan '( sport = :%d or dport = :%d )'",
                    server.port(), server.port());
            log("connect with  nc localhost %d  to see your own 4-tuple; Ctrl-C stops", server.port());
            keepAccepting(server);
        } catch (BindException e) {
            if (!needsPrivileges(port, e)) CommandLine.exitPortInUse(port, e);
            System.err.printf("Port %d is a well-known port (0-1023): binding it needs privileges. "
                    + "Choose a port above 1023, or --port 0 for any free one.%n", port);
            System.exit(1);
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
