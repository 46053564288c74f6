///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// Lesson 23 · Nagle and delayed ACK — a request in two small writes waits about 40 ms for its answer: the
/// sender holds the second write until the first is acknowledged, the receiver holds the ACK for an answer.
///
/// Run it: `./jbang lessons/23_NagleDelayedAck.java` (on loopback); on two hosts (`sudo ./jbang lessons/tools/Net.java
/// up`): `... Net.java on a ./jbang lessons/23_NagleDelayedAck.java --serve`, then `... on b ... --connect a`.
/// Chapter: docs/chapters/23-nagle-delayed-ack.adoc · Test: lessons/test/NagleDelayedAckTest.java
/// Not here: how big a segment may be and how much may be in flight (lesson 24).
class NagleDelayedAck {
    static final int DEFAULT_PORT = 1234;
    /// A small backlog: this lesson serves one client at a time, never a crowd.
    static final int BACKLOG = 50;
    static final String HEADER = "GET /item/42\n", BODY = "accept: text/plain\n";     // a request: two small lines
    static final int BULK_BYTES = 1_000_000;       // the bulk transfer: 10,000 writes of 100 bytes

    /// How the client sends each request: in two write() calls with Nagle's algorithm on (the default: the
    /// stall), in two with TCP_NODELAY (each leaves at once), or gathered in a buffer and written once.
    enum Send { TWO_WRITES, NODELAY, ONE_WRITE }

    record Server(ServerSocket listener, Thread acceptor) implements AutoCloseable {
        int port() { return listener.getLocalPort(); }

        @Override
        public void close() throws IOException { listener.close(); }
    }

    /// A server that answers each request (header line, body line) with one line, in one write, and
    /// each bulk transfer (a line `BULK n`, then n bytes) with the count it received.
    static Server start(String bind, int port) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(bind, port), BACKLOG);
        Thread acceptor = Thread.ofPlatform().name("acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket client = listener.accept();
                    Thread.ofVirtual().name("client " + client.getPort()).start(() -> serve(client));
                } catch (IOException e) {
                    if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
                }
            }
        });
        return new Server(listener, acceptor);
    }

    static void serve(Socket client) {
        try (client) {
            var lines = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
            for (String header; (header = lines.readLine()) != null; ) {
                if (header.matches("BULK \\d{1,9}")) {
                    long bytes = lines.skip(Long.parseLong(header.substring(5)));     // read them all, keep none
                    client.getOutputStream().write(("received " + bytes + "\n").getBytes(StandardCharsets.UTF_8));
                } else if (lines.readLine() != null) {      // the answer needs the whole request: wait for the body
                    client.getOutputStream().write("200 ok\n".getBytes(StandardCharsets.UTF_8));
                }
            }
        } catch (IOException e) {
            log("connection ended: %s", e.getMessage());
        }
    }

    // tag::exchange[]
    /// Times `rounds` requests to `host:port`, sent as `how` says, each from its first write to the answer.
    static List<Duration> rounds(String host, int port, Send how, int rounds) throws IOException {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 5_000);
            socket.setSoTimeout(10_000);
            socket.setOption(StandardSocketOptions.TCP_NODELAY, how == Send.NODELAY);     // Nagle's algorithm off
            var out = new BufferedOutputStream(socket.getOutputStream());      // the parts gather here, in user space
            var answers = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            List<Duration> times = new ArrayList<>();
            for (int i = 1; i <= rounds; i++) {
                long start = System.nanoTime();
                out.write(HEADER.getBytes(StandardCharsets.UTF_8));
                // Two writes: the header goes to the kernel alone, and leaves at once: nothing of ours awaits an ACK.
                if (how != Send.ONE_WRITE) out.flush();
                out.write(BODY.getBytes(StandardCharsets.UTF_8));
                out.flush();        // with Nagle on, after a header of its own: waits until the header is acknowledged
                if (answers.readLine() == null) throw new IOException("the server closed the connection");
                times.add(Duration.ofNanos(System.nanoTime() - start));
                trace("%s: request %d answered after %.1f ms", how, i, times.getLast().toNanos() / 1e6);
            }
            Duration median = times.stream().sorted().toList().get(rounds / 2);
            log("%-10s median of %d requests: %.1f ms", how, rounds, median.toNanos() / 1e6);
            return times;
        }
    }
    // end::exchange[]

    // tag::bulk[]
    /// A bulk transfer: how long until the server had every byte, and in how many data segments they left.
    record Bulk(Duration took, long segments) { }

    static Bulk bulk(String host, int port, boolean nodelay, int total, int writeSize) throws IOException {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 5_000);
            socket.setSoTimeout(30_000);
            socket.setOption(StandardSocketOptions.TCP_NODELAY, nodelay);
            OutputStream out = socket.getOutputStream();
            out.write(("BULK " + total + "\n").getBytes(StandardCharsets.UTF_8));
            byte[] chunk = "x".repeat(writeSize).getBytes(StandardCharsets.UTF_8);
            long start = System.nanoTime();
            for (int sent = 0; sent < total; sent += writeSize) out.write(chunk);
            // write() returns once the kernel holds the bytes, not once they left: the server's count says they did.
            var answer = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            if (!("received " + total).equals(answer.readLine())) throw new IOException("the server missed bytes");
            return new Bulk(Duration.ofNanos(System.nanoTime() - start), dataSegmentsSent(socket));
        }
    }

    /// The kernel's count of data segments this connection sent, from `ss -ti` (Debian, Ubuntu: apt install iproute2).
    static long dataSegmentsSent(Socket socket) throws IOException {
        Process ss = new ProcessBuilder("ss", "-tinH", "state", "established",
                "( sport = :" + socket.getLocalPort() + " )").start();
        Matcher m = Pattern.compile("data_segs_out:(\\d+)")
                .matcher(new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }
    // end::bulk[]

    /// The experiment: each way of sending, its median time, then the bulk transfer both ways.
    static void compare(String host, int port, int rounds) throws IOException {
        for (Send how : Send.values()) rounds(host, port, how, rounds);
        bulk(host, port, false, BULK_BYTES / 10, 100);       // a warm-up: the timed runs then start equal
        for (boolean nodelay : List.of(false, true)) {
            Bulk run = bulk(host, port, nodelay, BULK_BYTES, 100);
            log("bulk, %-11s: %d writes of 100 bytes arrived in %d ms, in %d data segments",
                    nodelay ? "TCP_NODELAY" : "Nagle on", BULK_BYTES / 100, run.took().toMillis(), run.segments());
        }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/23_NagleDelayedAck.java [--serve | --connect HOST] [--port N] [--rounds N]

              (neither)     server and client on loopback, in this one process
              --serve       only the server, on all of this host's addresses
              --connect     only the client, against a server on HOST
              --rounds N    requests per way of sending (default 20)
              --port N      the TCP port (default %d; 0 picks a free one for the server)
              --help        print this help and exit
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        boolean serve = commandLine.flag("--serve");
        String host = commandLine.text("--connect", null);
        int rounds = commandLine.number("--rounds", 20, 1, 10_000);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        if (host != null) {
            compare(host, port, rounds);
            return;
        }
        try (Server server = start(serve ? "0.0.0.0" : "127.0.0.1", serve ? port : 0)) {
            log("listening on %s:%d", server.listener().getInetAddress().getHostAddress(), server.port());
            if (serve) server.acceptor().join(); else compare("127.0.0.1", server.port(), rounds);
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
