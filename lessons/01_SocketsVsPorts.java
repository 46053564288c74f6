///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/// Lesson 01 · Sockets vs ports — a port is a number, a socket is an endpoint, a connection is a 4-tuple.
///
/// Run it: `./jbang lessons/01_SocketsVsPorts.java [--port 1234]`; then `nc localhost 1234` and `ss -tan`.
/// Chapter: docs/chapters/01-sockets-vs-ports.adoc · Test: lessons/test/SocketsVsPortsTest.java
/// Not here: sending and receiving data (lessons 02 and 04), the steps of a server's life and its
/// accept queue (lesson 03).
class SocketsVsPorts {
    static final int DEFAULT_PORT = 1234;
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

    /// The listening socket, the connections of the tour, and the visitors accepted after it
    /// (`nc`, say); `close()` closes them all.
    record Server(ServerSocket listener, List<Connection> connections, Set<Socket> visitors) implements AutoCloseable {
        int port() { return listener.getLocalPort(); }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Connection c : connections) {
                c.client().close();
                c.accepted().close();
            }
            for (Socket visitor : visitors) visitor.close();
        }
    }

    // tag::connect[]
    static Server listen(int port) throws IOException {
        // Bind to loopback. Port 0 asks the kernel to choose a free port.
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return new Server(listener, new CopyOnWriteArrayList<>(), ConcurrentHashMap.newKeySet());
    }

    /// Connects `count` clients to the server one after the other and accepts each one.
    static List<Connection> connectClients(Server server, int count) throws IOException {
        List<Connection> made = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            // Connect without bind(): the kernel gives the client an ephemeral port.
            var client = new Socket(InetAddress.getLoopbackAddress(), server.port());
            // accept() returns a NEW socket for this connection; the listening socket stays as it was.
            Socket accepted = server.listener().accept();
            made.add(new Connection(client, accepted));
        }
        server.connections().addAll(made);
        return made;
    }
    // end::connect[]

    // tag::ranges[]
    record PortRange(int first, int last) {
        boolean contains(int port) { return first <= port && port <= last; }

        @Override
        public String toString() { return first + "-" + last; }
    }

    /// IANA's three classes of port numbers (RFC 6335).
    enum PortClass {
        WELL_KNOWN(0, 1023), REGISTERED(1024, 49151), DYNAMIC(49152, 65535);

        final PortRange range;

        PortClass(int first, int last) { range = new PortRange(first, last); }

        static PortClass of(int port) {
            for (PortClass c : values()) if (c.range.contains(port)) return c;
            throw new IllegalArgumentException("not a port number: " + port);
        }
    }

    /// The range the kernel picks client ports from, or empty where it cannot be read (not Linux).
    static Optional<PortRange> ephemeralRange() {
        return readPortRange(EPHEMERAL_RANGE);
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

    // tag::names[]
    /// Every address a name resolves to, as the system's resolver (/etc/hosts, DNS) answers.
    static List<InetAddress> resolve(String name) throws UnknownHostException {
        return List.of(InetAddress.getAllByName(name));
    }

    record Interface(String name, int mtu, boolean up, boolean loopback, List<InetAddress> addresses) {}

    static List<Interface> interfaces() throws SocketException {
        List<Interface> found = new ArrayList<>();
        for (NetworkInterface nic : NetworkInterface.networkInterfaces().toList()) {
            found.add(new Interface(nic.getName(), nic.getMTU(), nic.isUp(), nic.isLoopback(),
                    nic.inetAddresses().toList()));
        }
        return found;
    }
    // end::names[]

    static void tour(Server server) throws IOException {
        try (var other = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            log("another socket bound to port 0: the kernel chose port %d", other.getLocalPort());
        }
        log("the listening socket: local %s:%d, no remote: it only hands out connections",
                server.listener().getInetAddress().getHostAddress(), server.port());
        List<Connection> connections = connectClients(server, 3);
        for (int i = 0; i < connections.size(); i++) {
            Connection c = connections.get(i);
            log("connection %d, client's socket: %s", i + 1, c.clientView());
            log("connection %d, server's socket: %s", i + 1, c.serverView());
        }
        Optional<PortRange> ephemeral = ephemeralRange();
        log(ephemeral.map(r -> "ephemeral range (" + EPHEMERAL_RANGE + "): " + r)
                .orElse("ephemeral range: " + EPHEMERAL_RANGE + " cannot be read here (not Linux?)"));
        log("server port %d: IANA class %s", server.port(), PortClass.of(server.port()));
        for (Connection c : connections) {
            int port = c.client().getLocalPort();
            log("client port %d: IANA class %s%s", port, PortClass.of(port), ephemeral
                    .map(r -> r.contains(port) ? ", inside the ephemeral range" : ", OUTSIDE the ephemeral range")
                    .orElse(""));
        }
        for (String name : List.of("localhost", ownName())) {
            try {
                log("%s resolves to %s", name, resolve(name).stream().map(InetAddress::getHostAddress).toList());
            } catch (UnknownHostException e) {
                log("%s does not resolve: %s", name, e.getMessage());
            }
        }
        for (Interface nic : interfaces()) {
            log("interface %s: mtu %d, %s%s, addresses %s", nic.name(), nic.mtu(), nic.up() ? "up" : "down",
                    nic.loopback() ? ", loopback" : "", nic.addresses().stream().map(InetAddress::getHostAddress).toList());
        }
    }

    static String ownName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }

    /// After the tour: accept whoever connects, print their 4-tuple, hold the connection until they close.
    static void keepAccepting(Server server) {
        while (!server.listener().isClosed()) {
            try {
                Socket accepted = server.listener().accept();
                server.visitors().add(accepted);
                log("accepted a new connection: %s (client port %d: %s)", FourTuple.of(accepted),
                        accepted.getPort(), PortClass.of(accepted.getPort()));
                Thread.ofVirtual().name("client " + accepted.getPort()).start(() -> {
                    holdUntilClosed(accepted);
                    server.visitors().remove(accepted);
                });
            } catch (IOException e) {
                if (!server.listener().isClosed()) log("accept failed: %s", e.getMessage());
            }
        }
    }

    static void holdUntilClosed(Socket accepted) {
        try (accepted; InputStream in = accepted.getInputStream()) {
            long bytes = in.transferTo(OutputStream.nullOutputStream());     // read and drop until end of stream
            log("client port %d closed its side after %d bytes; closing ours", accepted.getPort(), bytes);
        } catch (IOException e) {
            log("connection from port %d ended: %s", accepted.getPort(), e.getMessage());
        }
    }

    /// A port below 1024 needs privileges: bind fails with "Permission denied", not "in use".
    static boolean needsPrivileges(int port, BindException e) {
        return port != 0 && PortClass.of(port) == PortClass.WELL_KNOWN && "Permission denied".equals(e.getMessage());
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/01_SocketsVsPorts.java [--port N] [--help]

            One listening socket, three clients: prints each connection's 4-tuple as seen
            from both ends, the ephemeral port range, name resolution and the interfaces.
            Then it goes on listening, so that you can connect and look with ss.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal:  nc localhost 1234   and   ss -tan
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try (Server server = listen(port)) {
            log("asked for port %d; listening on %s:%d", port,
                    server.listener().getInetAddress().getHostAddress(), server.port());
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
