///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.BindException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;

/// Lesson 21 · Bind addresses — which address a server binds decides who can reach it; a client
/// tries every address a name resolves to, in order, until one answers.
///
/// Run it on the course's hosts: `sudo ./jbang lessons/tools/Net.java up`, then
/// `sudo ./jbang lessons/tools/Net.java on a ./jbang lessons/21_BindAddresses.java --bind 0.0.0.0` and
/// `sudo ./jbang lessons/tools/Net.java on b ./jbang lessons/21_BindAddresses.java --connect a`.
/// Chapter: docs/chapters/21-bind-addresses.adoc · Test: lessons/test/BindAddressesTest.java
/// Not here: a peer that vanishes without a word (lesson 22); TLS's names in certificates (lesson 16).
class BindAddresses {
    static final int DEFAULT_PORT = 1234;
    /// A small backlog: this lesson serves a learner or two, never a crowd.
    static final int BACKLOG = 50;
    /// How long one address may take to answer before the client tries the next.
    static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(3);

    // tag::explain[]
    /// Who can reach a server bound to `address`: the kernel delivers a connection to a listener
    /// only if the connection's destination address matches the address the listener bound.
    static String whoCanConnect(InetAddress address) {
        if (address.isLoopbackAddress()) {
            return "only programs on this host: loopback packets never leave it";
        }
        if (address.isAnyLocalAddress() && address instanceof Inet6Address) {
            return "anyone who can reach this host, on any of its addresses, IPv6 and IPv4 alike"
                    + " (Java's :: socket is dual-stack: IPv4 peers appear as ::ffff:a.b.c.d)";
        }
        if (address.isAnyLocalAddress()) {
            // C's and Python's 0.0.0.0 is IPv4 only. Java opens IPv6 sockets where it can and binds
            // 0.0.0.0 as ::, unless started with -Djava.net.preferIPv4Stack=true.
            return Boolean.getBoolean("java.net.preferIPv4Stack")
                    ? "anyone who can reach any IPv4 address of this host, on every interface"
                    : "anyone who can reach this host, on any address: Java binds 0.0.0.0 as ::, so IPv6 too";
        }
        return "only connections addressed to " + address.getHostAddress() + " (not to the host's other addresses)";
    }
    // end::explain[]

    /// A running server: the address and port it bound, and `close()`.
    record Server(ServerSocket listener, Thread acceptor) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    // tag::serve[]
    static Server start(String bindAddress, int port) throws IOException {
        InetAddress address = InetAddress.getByName(bindAddress);
        var listener = new ServerSocket();
        // Bind to the one address we were given: this choice decides who can connect.
        listener.bind(new InetSocketAddress(address, port), BACKLOG);
        log("bound %s port %d: %s", address.getHostAddress(), listener.getLocalPort(), whoCanConnect(address));
        Thread acceptor = Thread.ofPlatform().name("acceptor").start(() -> acceptLoop(listener));
        return new Server(listener, acceptor);
    }

    static void acceptLoop(ServerSocket listener) {
        while (!listener.isClosed()) {
            try (Socket client = listener.accept()) {
                // The local address of an accepted socket is the address the client dialled.
                String greeting = "you reached %s from %s".formatted(
                        client.getLocalSocketAddress(), client.getRemoteSocketAddress());
                log(greeting);
                OutputStream out = client.getOutputStream();
                out.write((greeting + "\n").getBytes(StandardCharsets.UTF_8));
                client.shutdownOutput();
            } catch (IOException e) {
                if (!listener.isClosed()) log("connection failed: %s", e.getMessage());
            }
        }
    }
    // end::serve[]

    // tag::connect[]
    /// Connects to `host`: resolves it to all its addresses and tries each in turn, giving each
    /// `timeout`, until one accepts. Returns the connected socket. Java lists IPv4 addresses first;
    /// `-Djava.net.preferIPv6Addresses=system` keeps the resolver's order (IPv6 first, usually).
    static Socket connectToAny(String host, int port, Duration timeout) throws IOException {
        InetAddress[] addresses = InetAddress.getAllByName(host);
        log("%s resolves to %d addresses: %s", host, addresses.length,
                String.join(", ", List.of(addresses).stream().map(InetAddress::getHostAddress).toList()));
        List<String> failures = new ArrayList<>();
        for (InetAddress address : addresses) {
            var socket = new Socket();
            try {
                log("trying %s port %d", address.getHostAddress(), port);
                socket.connect(new InetSocketAddress(address, port), (int) timeout.toMillis());
                log("connected to %s from %s", socket.getRemoteSocketAddress(), socket.getLocalSocketAddress());
                return socket;
            } catch (SocketTimeoutException e) {
                // No answer at all: a firewall dropped the SYN, or the host is not there.
                log("%s: no answer within %d ms; trying the next address", address.getHostAddress(), timeout.toMillis());
                failures.add(address.getHostAddress() + " timed out");
                socket.close();
            } catch (IOException e) {
                // An answer that says no: a reset (nothing listens there) or an ICMP error.
                log("%s: %s; trying the next address", address.getHostAddress(), e.getMessage());
                failures.add(address.getHostAddress() + " " + e.getMessage());
                socket.close();
            }
        }
        throw new IOException("no address of " + host + " accepted: " + String.join("; ", failures));
    }
    // end::connect[]

    static void ask(String host, int port) throws IOException {
        try (Socket socket = connectToAny(host, port, ATTEMPT_TIMEOUT)) {
            socket.setSoTimeout(10_000);
            var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            log("the server says: %s", in.readLine());
        }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/21_BindAddresses.java [--bind ADDRESS] [--port N] [--help]
                   ./jbang lessons/21_BindAddresses.java --connect HOST [--port N]

            Server (default): binds ADDRESS and tells every client which address it reached.
            Client (--connect): tries each address HOST resolves to, in order, until one answers.

              --bind ADDRESS  the address to listen on (default 127.0.0.1): 127.0.0.1, 0.0.0.0, ::,
                              or one of this host's addresses
              --connect HOST  be the client: connect to HOST (a name or an address)
              --port N        the TCP port (default %d; 0 picks a free one for the server)
              --help          print this help and exit

            On the course's hosts (sudo ./jbang lessons/tools/Net.java up), run the server on a
            and the client on b:  ... Net.java on b ./jbang lessons/21_BindAddresses.java --connect a
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        String host = commandLine.text("--connect", null);
        String bind = commandLine.text("--bind", "127.0.0.1");
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        if (host != null) {
            try {
                ask(host, port);
            } catch (IOException e) {
                System.err.println("cannot reach " + host + ": " + e.getMessage());
                System.exit(1);
            }
            return;
        }
        try (Server server = start(bind, port)) {
            log("listening on %s:%d", server.listener().getInetAddress().getHostAddress(), server.port());
            server.acceptor().join();
        } catch (BindException e) {
            if (e.getMessage().contains("Cannot assign")) {
                System.err.println("This host has no address " + bind + " to bind (" + e.getMessage()
                        + "); ip -brief address lists the ones it has.");
                System.exit(1);
            }
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
