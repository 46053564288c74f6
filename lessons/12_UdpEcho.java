///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/// Lesson 12 · UDP echo — no connection: each datagram carries its sender's address, the reply goes there.
///
///
/// Run it: `./jbang lessons/12_UdpEcho.java [--port 1234]`; talk to it: `nc -u 127.0.0.1 1234`,
/// or `./jbang lessons/12_UdpEcho.java --client`.
/// Chapter: docs/chapters/12-udp-echo.adoc · Test: lessons/test/UdpEchoTest.java ·
/// Lab: labs/06-reliable-udp
/// Not here: peers that talk to each other (lesson 13), retries and sequence numbers (lab 06),
/// broadcast and multicast (a later lesson).
class UdpEcho {
    static final int DEFAULT_PORT = 1234;
    /// The largest datagram the server echoes, in bytes (the course's Python UDP clients read 1024).
    static final int MAX_DATAGRAM = 1024;
    // No backlog: UDP has no listen() and no accept queue. Datagrams wait in the socket's receive
    // buffer, and when it is full the kernel drops them (chapter 12 shows it).
    /// How long the client waits for a reply before it calls the datagram lost.
    static final int REPLY_TIMEOUT_MS = 2_000;

    /// A running server: the port it got, and `close()` to stop it.
    record Server(DatagramSocket socket, Thread loop) implements AutoCloseable {
        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() {
            socket.close();                         // receive() in the loop throws: the loop ends
        }
    }

    /// One datagram as it arrived: its bytes, who sent it, and whether it was longer than we accept.
    record Datagram(byte[] data, SocketAddress sender, boolean truncated) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    // tag::receive[]
    /// Receives one datagram of at most `limit` bytes. The kernel copies as much of a datagram as
    /// fits in the buffer and silently drops the rest, with no error. So ask for one byte more than
    /// the limit: if that byte gets filled, the datagram was too long.
    static Datagram receive(DatagramSocket socket, int limit) throws IOException {
        var packet = new DatagramPacket(new byte[limit + 1], limit + 1);
        socket.receive(packet);                     // blocks until a whole datagram is there
        boolean truncated = packet.getLength() > limit;
        byte[] data = Arrays.copyOf(packet.getData(), Math.min(packet.getLength(), limit));
        return new Datagram(data, packet.getSocketAddress(), truncated);
    }
    // end::receive[]

    // tag::start[]
    static Server start(int port) throws SocketException {
        // Bind to loopback. There is no listen() and no accept(): the socket is ready to receive.
        var socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        Thread loop = Thread.ofPlatform().name("udp-echo").start(() -> serve(socket));
        return new Server(socket, loop);
    }
    // end::start[]

    // tag::serve[]
    static void serve(DatagramSocket socket) {
        while (!socket.isClosed()) {
            try {
                trace("waiting in receive() for the next datagram, from anyone");
                Datagram datagram = receive(socket, MAX_DATAGRAM);
                if (datagram.truncated()) {
                    log("a datagram from %s was longer than %d bytes; refusing it", datagram.sender(), MAX_DATAGRAM);
                    reply(socket, ("ERROR datagram longer than " + MAX_DATAGRAM + " bytes; not echoed\n")
                            .getBytes(StandardCharsets.UTF_8), datagram.sender());
                    continue;
                }
                trace("%d bytes from %s: %s", datagram.data().length, datagram.sender(), printable(datagram.text()));
                // The reply goes to the address and port the datagram came from: that is all we know.
                reply(socket, datagram.data(), datagram.sender());
            } catch (IOException e) {
                if (!socket.isClosed()) log("receive or send failed: %s", e.getMessage());
            }
        }
        log("socket closed; no more datagrams");
    }

    static void reply(DatagramSocket socket, byte[] data, SocketAddress to) throws IOException {
        socket.send(new DatagramPacket(data, data.length, to));
        trace("sent %d bytes back to %s", data.length, to);
    }
    // end::serve[]

    // tag::client[]
    static void runClient(InetSocketAddress server, int bufferSize, BufferedReader keyboard) throws IOException {
        try (var socket = new DatagramSocket()) {
            // Connect: no packet is sent. The kernel only fixes the peer, so send() needs no address,
            // datagrams from anyone else are dropped, and an ICMP error from the peer is reported to us.
            socket.connect(server);
            socket.setSoTimeout(REPLY_TIMEOUT_MS);
            log("connected to %s from %s (nothing was sent); type lines, Ctrl-D ends",
                    server, socket.getLocalSocketAddress());
            for (String line; (line = keyboard.readLine()) != null; ) {
                byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
                socket.send(new DatagramPacket(bytes, bytes.length));   // one line, one datagram
                try {
                    Datagram reply = receive(socket, bufferSize);
                    log("reply from %s, %d bytes: %s", reply.sender(), reply.data().length, printable(reply.text()));
                    if (reply.truncated()) {
                        log("the reply was longer than the %d-byte buffer: the rest is lost for good", bufferSize);
                    }
                } catch (SocketTimeoutException e) {
                    log("no reply within %d ms: the datagram or its reply is lost; UDP never resends", REPLY_TIMEOUT_MS);
                } catch (PortUnreachableException e) {
                    log("port unreachable: nothing receives on %s (the kernel there answered with ICMP)", server);
                }
            }
        }
    }
    // end::client[]

    /// Shows a datagram's text on one line, with its line endings visible.
    static String printable(String text) {
        String shown = text.replace("\r", "\\r").replace("\n", "\\n");
        return "\"" + (shown.length() > 80 ? shown.substring(0, 80) + "..." : shown) + "\"";
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/12_UdpEcho.java [--port N] [--help]
                   ./jbang lessons/12_UdpEcho.java --client [--host H] [--port N] [--buffer N]

            A UDP echo server: every datagram that arrives goes back, whole, to the address
            and port it came from. No connections, no accept: one socket serves everyone.

              --port N     the UDP port to receive on, or to send to (default %d; 0 = any free port)
              --client     be the client: send each line you type as one datagram, print the reply
              --host H     the server's host, for --client (default 127.0.0.1)
              --buffer N   the client's receive buffer in bytes (default %d): a smaller one shows truncation
              --help       print this help and exit

            Then, in another terminal:  nc -u 127.0.0.1 1234
            """.formatted(DEFAULT_PORT, MAX_DATAGRAM);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        boolean client = commandLine.flag("--client");
        String host = commandLine.text("--host", "127.0.0.1");
        int port = commandLine.port(DEFAULT_PORT);
        int buffer = commandLine.number("--buffer", MAX_DATAGRAM, 1, 65_507);
        commandLine.done();
        if (client) {
            runClient(new InetSocketAddress(host, port), buffer,
                    new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
            return;
        }
        try (Server server = start(port)) {
            String address = server.socket().getLocalAddress().getHostAddress();
            log("listening on %s:%d (UDP); try: nc -u %s %d", address, server.port(), address, server.port());
            server.loop().join();
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
