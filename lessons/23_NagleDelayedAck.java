///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// Lesson 23 · Nagle and delayed ACK — a request sent in two small writes waits about 40 ms for
/// the answer: the sender holds its second write until the first is acknowledged, and the
/// receiver holds its acknowledgement, hoping to send it with an answer.
///
/// Run it: `./jbang lessons/23_NagleDelayedAck.java` (server and client on loopback); on the course's
/// hosts: `sudo ./jbang lessons/tools/Net.java up`, `... Net.java rate a-b 10mbit`, then
/// `... Net.java on a ./jbang lessons/23_NagleDelayedAck.java --serve` and
/// `... Net.java on b ./jbang lessons/23_NagleDelayedAck.java --connect a`.
/// Chapter: docs/chapters/23-nagle-delayed-ack.adoc · Test: lessons/test/NagleDelayedAckTest.java
/// Not here: how big a segment may be and how much may be in flight (lesson 24).
class NagleDelayedAck {
    static final int DEFAULT_PORT = 1234;
    /// A small backlog: this lesson serves one client at a time, never a crowd.
    static final int BACKLOG = 50;
    /// The request: a header and a body, each a small line, as many protocols send them.
    static final String HEADER = "GET /item/42\n", BODY = "accept: text/plain\n";
    /// The bulk transfer's size: 10,000 writes of 100 bytes.
    static final int BULK_BYTES = 1_000_000;

    /// How the client sends each request.
    enum Send {
        /// Two write() calls, Nagle's algorithm on (the default): the classic stall.
        TWO_WRITES,
        /// Two write() calls with TCP_NODELAY: each write leaves at once.
        NODELAY,
        /// One write() of both parts, gathered in a buffer first: nothing is left waiting.
        ONE_WRITE
    }

    /// A running server: the port it got, and `close()`.
    record Server(ServerSocket listener, Thread acceptor) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    /// A server that answers each request (header line, body line) with one line, in one write,
    /// and counts the bytes of a bulk transfer (a first line `BULK`) until end of stream.
    static Server start(String bind, int port) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getByName(bind), port), BACKLOG);
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
            InputStream in = client.getInputStream();
            var lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            OutputStream out = client.getOutputStream();
            for (String header; (header = lines.readLine()) != null; ) {
                if (header.equals("BULK")) {
                    long bytes = 0;
                    char[] buffer = new char[65_536];
                    for (int n; (n = lines.read(buffer)) != -1; ) bytes += n;
                    out.write(("received " + bytes + "\n").getBytes(StandardCharsets.UTF_8));
                    return;
                }
                // The answer needs the whole request: wait for the body before writing anything.
                String body = lines.readLine();
                if (body == null) return;
                out.write(("200 ok\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            log("connection ended: %s", e.getMessage());
        }
    }

    // tag::exchange[]
    /// One request and its answer, timed: from the first write to the answer's last byte.
    static Duration exchange(Socket socket, Send how, BufferedReader answers) throws IOException {
        OutputStream out = socket.getOutputStream();
        byte[] header = HEADER.getBytes(StandardCharsets.UTF_8), body = BODY.getBytes(StandardCharsets.UTF_8);
        long start = System.nanoTime();
        if (how == Send.ONE_WRITE) {
            // Gather the parts in user space, then hand the kernel the whole request at once.
            var buffered = new BufferedOutputStream(out);
            buffered.write(header);
            buffered.write(body);
            buffered.flush();
        } else {
            out.write(header);      // leaves at once: nothing of ours is unacknowledged
            out.write(body);        // with Nagle on, waits in the kernel until the header is acknowledged
        }
        if (answers.readLine() == null) throw new IOException("the server closed the connection");
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /// Connects to `host:port` and times `rounds` requests sent as `how` says.
    static List<Duration> rounds(String host, int port, Send how, int rounds) throws IOException {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 5_000);
            socket.setSoTimeout(10_000);
            // TCP_NODELAY turns Nagle's algorithm off for this socket.
            socket.setOption(StandardSocketOptions.TCP_NODELAY, how == Send.NODELAY);
            var answers = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            List<Duration> times = new ArrayList<>();
            for (int i = 0; i < rounds; i++) {
                Duration took = exchange(socket, how, answers);
                trace("%s: request %d answered after %.1f ms", how, i + 1, took.toNanos() / 1e6);
                times.add(took);
            }
            return times;
        }
    }
    // end::exchange[]

    static Duration median(List<Duration> times) {
        List<Duration> sorted = times.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    // tag::bulk[]
    /// A bulk transfer: `total` bytes in writes of `writeSize` bytes, then the server's count.
    /// Returns how long it took and how many data segments the kernel sent for it.
    record Bulk(boolean nodelay, int writeSize, Duration took, long segments) {
    }

    static Bulk bulk(String host, int port, boolean nodelay, int total, int writeSize) throws IOException {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 5_000);
            socket.setSoTimeout(30_000);
            socket.setOption(StandardSocketOptions.TCP_NODELAY, nodelay);
            OutputStream out = socket.getOutputStream();
            out.write("BULK\n".getBytes(StandardCharsets.UTF_8));
            byte[] chunk = "x".repeat(writeSize).getBytes(StandardCharsets.UTF_8);
            long start = System.nanoTime();
            for (int sent = 0; sent < total; sent += writeSize) out.write(chunk);
            long segments = dataSegmentsSent(socket);
            socket.shutdownOutput();
            String answer = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8)).readLine();
            if (!("received " + total).equals(answer)) throw new IOException("the server answered " + answer);
            return new Bulk(nodelay, writeSize, Duration.ofNanos(System.nanoTime() - start), segments);
        }
    }

    /// The kernel's count of data segments this connection sent, from `ss -ti`, or -1. write() returns
    /// once the kernel holds the bytes, not once they left: ask until none is unacknowledged.
    static long dataSegmentsSent(Socket socket) {
        try {
            for (long deadline = System.nanoTime() + 30_000_000_000L; ; ) {
                Process ss = new ProcessBuilder("ss", "-tinH", "state", "established",
                        "( sport = :" + socket.getLocalPort() + " )").redirectErrorStream(true).start();
                String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!ss.waitFor(10, TimeUnit.SECONDS)) ss.destroyForcibly();
                // One state asked for, so the line starts with Recv-Q and Send-Q (bytes not yet acknowledged).
                Matcher m = Pattern.compile("^\\d+\\s+(\\d+)\\s[\\s\\S]*data_segs_out:(\\d+)").matcher(out);
                if (!m.find()) return -1;
                if (m.group(1).equals("0") || System.nanoTime() > deadline) return Long.parseLong(m.group(2));
            }
        } catch (IOException e) {
            return -1;                  // no ss (Debian and Ubuntu: apt install iproute2)
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
    // end::bulk[]

    /// The experiment: each way of sending, its median time, then the bulk transfer both ways.
    static void compare(String host, int port, int rounds) throws IOException {
        for (Send how : Send.values()) {
            Duration median = median(rounds(host, port, how, rounds));
            log("%-10s median of %d requests: %.1f ms", how, rounds, median.toNanos() / 1e6);
        }
        bulk(host, port, false, BULK_BYTES / 10, 100);       // a warm-up: the timed runs then start equal
        for (boolean nodelay : List.of(false, true)) {
            Bulk run = bulk(host, port, nodelay, BULK_BYTES, 100);
            log("bulk, %-11s: %d writes of %d bytes arrived in %d ms, in %d data segments", nodelay ? "TCP_NODELAY" : "Nagle on",
                    BULK_BYTES / run.writeSize(), run.writeSize(), run.took().toMillis(), run.segments());
        }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/23_NagleDelayedAck.java [--rounds N]
                   ./jbang lessons/23_NagleDelayedAck.java --serve [--bind ADDRESS] [--port N]
                   ./jbang lessons/23_NagleDelayedAck.java --connect HOST [--port N] [--rounds N]

            Times a request sent in two small writes (Nagle on), in two writes with TCP_NODELAY,
            and in one write; then a bulk transfer of 1 MB in 100-byte writes, Nagle on and off.

              (no mode)     server and client on loopback, in this one process
              --serve       only the server (bound to --bind, default 0.0.0.0)
              --connect     only the client, against a server on HOST
              --rounds N    requests per way of sending (default 20)
              --port N      the TCP port (default %d; 0 picks a free one for the server)
              --help        print this help and exit
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        boolean serve = commandLine.flag("--serve");
        String host = commandLine.text("--connect", null);
        String bind = commandLine.text("--bind", "0.0.0.0");
        int rounds = commandLine.number("--rounds", 20, 1, 10_000);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        if (host != null) {
            compare(host, port, rounds);
            return;
        }
        try (Server server = start(serve ? bind : "127.0.0.1", serve ? port : 0)) {
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
