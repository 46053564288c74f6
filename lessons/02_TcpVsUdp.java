///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;

/// Lesson 02 · TCP vs UDP — TCP carries a stream of bytes with no boundaries; UDP carries datagrams, whole or not at all.
///
/// Run it: `./jbang lessons/02_TcpVsUdp.java [--port 1234]`; it shows each difference on loopback and exits.
/// Chapter: docs/chapters/02-tcp-vs-udp.adoc · Test: lessons/test/TcpVsUdpTest.java
/// Not here: framing messages on a stream (lesson 15), a UDP server, lost datagrams, connected UDP (lesson 12).
class TcpVsUdp {
    static final int DEFAULT_PORT = 1234;
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final int TIMEOUT_MS = 5_000;             // no read, receive or connect here waits longer

    // tag::tcp[]
    /// A TCP connection with both ends in this program: a writer and the reader that accept() gave us.
    record TcpPair(ServerSocket listener, Socket writer, Socket reader) implements AutoCloseable {
        @Override
        public void close() throws IOException { try (listener; writer; reader) { /* closes all three */ } }
    }

    static TcpPair connectTcp(int port) throws IOException {
        var listener = new ServerSocket(port, 1, LOOPBACK);     // backlog 1: the one client is our own writer
        var writer = new Socket(LOOPBACK, listener.getLocalPort());
        Socket reader = listener.accept();
        reader.setSoTimeout(TIMEOUT_MS);
        return new TcpPair(listener, writer, reader);
    }

    /// Calls write() once for each piece: three pieces are three separate hand-overs to the kernel.
    static void writeEach(Socket socket, List<String> pieces) throws IOException {
        for (String piece : pieces) socket.getOutputStream().write(piece.getBytes(StandardCharsets.UTF_8));
    }

    /// Waits until the kernel holds at least `bytes` unread bytes in the socket's receive buffer.
    static void awaitBuffered(Socket socket, int bytes) throws IOException, InterruptedException {
        for (int waitedMs = 0; socket.getInputStream().available() < bytes; waitedMs++) {
            if (waitedMs == TIMEOUT_MS) throw new IOException("the bytes did not arrive");
            Thread.sleep(1);
        }
    }

    /// Calls read() exactly once: it returns what has arrived, at most `size` bytes.
    static String readOnce(Socket socket, int size) throws IOException {
        byte[] buffer = new byte[size];
        int n = socket.getInputStream().read(buffer);
        return n == -1 ? null : new String(buffer, 0, n, StandardCharsets.UTF_8);
    }
    // end::tcp[]

    // tag::udp[]
    /// Two UDP sockets: no connection between them, only addresses.
    record UdpPair(DatagramSocket sender, DatagramSocket receiver) implements AutoCloseable {
        @Override
        public void close() { try (sender; receiver) { /* closes both */ } }
    }

    static UdpPair udpPair(int port) throws IOException {
        var receiver = new DatagramSocket(new InetSocketAddress(LOOPBACK, port));
        receiver.setSoTimeout(TIMEOUT_MS);
        return new UdpPair(new DatagramSocket(new InetSocketAddress(LOOPBACK, 0)), receiver);
    }

    /// Sends one datagram to `port` on loopback. It returns normally: nobody tells the sender anything.
    static void sendTo(DatagramSocket socket, int port, String message) throws IOException {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(bytes, bytes.length, LOOPBACK, port));
    }

    static void sendEach(UdpPair pair, List<String> messages) throws IOException {
        for (String message : messages) sendTo(pair.sender(), pair.receiver().getLocalPort(), message);
    }

    /// Calls receive() exactly once with a buffer of `size` bytes: one datagram, or as much of it as fits.
    static String receiveOnce(DatagramSocket socket, int size) throws IOException {
        var packet = new DatagramPacket(new byte[size], size);
        socket.receive(packet);
        return new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8);
    }
    // end::udp[]

    // tag::nobody[]
    static IOException connectWhereNobodyListens() {
        // Bind a TCP socket but never listen(): the port is ours, and nobody accepts on it.
        try (var bound = new Socket(); var client = new Socket()) {
            bound.bind(new InetSocketAddress(LOOPBACK, 0));
            client.connect(bound.getLocalSocketAddress(), TIMEOUT_MS);
            return null;
        } catch (IOException e) {
            return e;
        }
    }

    /// A UDP port with nobody on it: bind one, note its number, let it go.
    static int unusedUdpPort() throws IOException {
        try (var probe = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            return probe.getLocalPort();
        }
    }
    // end::nobody[]

    static void showStream(Socket writer, Socket reader) throws Exception {
        List<String> pieces = List.of("one\n", "two\n", "three\n");
        writeEach(writer, pieces);
        log("TCP: three write() calls returned: %s", pieces.stream().map(TcpVsUdp::quote).toList());
        awaitBuffered(reader, 14);
        log("TCP: nobody has called read() yet, and the reader's kernel already holds %d bytes",
                reader.getInputStream().available());
        String got = readOnce(reader, 1024);
        log("TCP: ONE read() returned %d bytes: %s. Three writes, one read: no boundaries", got.length(), quote(got));
        writeEach(writer, List.of("0123456789"));
        awaitBuffered(reader, 10);
        log("TCP: one write of \"0123456789\"; read() with a 4-byte buffer: %s", quote(readOnce(reader, 4)));
        log("TCP: the next read(): %s. Nothing is lost: the rest waits in the kernel", quote(readOnce(reader, 1024)));
    }

    static void showDatagrams(UdpPair udp) throws IOException {
        sendEach(udp, List.of("one", "two", "three"));
        log("UDP: sent three datagrams \"one\", \"two\", \"three\" before any receive()");
        for (int i = 1; i <= 3; i++) {
            log("UDP: receive() #%d with a 1024-byte buffer: %s", i, quote(receiveOnce(udp.receiver(), 1024)));
        }
        sendEach(udp, List.of("0123456789", "next"));
        log("UDP: sent \"0123456789\" (10 bytes), then \"next\"");
        log("UDP: receive() with a 4-byte buffer: %s, and no error", quote(receiveOnce(udp.receiver(), 4)));
        log("UDP: the next receive(): %s. The rest of the first datagram is gone",
                quote(receiveOnce(udp.receiver(), 1024)));
    }

    static void showNobodyListening(UdpPair udp) throws IOException {
        for (String attempt : List.of("first", "second")) {     // the first one also loads classes
            long start = System.nanoTime();
            IOException refused = connectWhereNobodyListens();
            log("TCP: connect() where nothing listens, %s try: %s \"%s\" after %.3f ms", attempt,
                    refused.getClass().getSimpleName(), refused.getMessage(), (System.nanoTime() - start) / 1e6);
        }
        int port = unusedUdpPort();
        sendTo(udp.sender(), port, "anyone there?");
        log("UDP: send() to 127.0.0.1:%d where nothing is bound: returned normally, no error", port);
    }

    static String quote(String text) { return "\"" + text.replace("\n", "\\n") + "\""; }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/02_TcpVsUdp.java [--port N] [--help]

              --port N   the TCP port, and the UDP port with the same number (default %d; 0 picks a free one)
              --help     print this help and exit
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try (TcpPair tcp = connectTcp(port); UdpPair udp = udpPair(tcp.listener().getLocalPort())) {
            log("TCP: listening on %s:%d; connected %s -> %s", LOOPBACK.getHostAddress(), tcp.listener().getLocalPort(),
                    tcp.writer().getLocalSocketAddress(), tcp.reader().getLocalSocketAddress());
            log("UDP: bound %s, the same number: a UDP port is not a TCP port", udp.receiver().getLocalSocketAddress());
            showStream(tcp.writer(), tcp.reader());
            showDatagrams(udp);
            showNobodyListening(udp);
            log("TCP's \"reliable\": bytes reach the peer's kernel in order, once, or you get an error."
                    + " Not: the peer's program has read them");
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
