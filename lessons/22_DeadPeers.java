///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import jdk.net.ExtendedSocketOptions;

/// Lesson 22 · Dead peers and closed peers — a peer whose cable is pulled says nothing, so TCP
/// cannot tell it from a quiet one; keep-alive or a heartbeat finds out. A peer that closed answers
/// a write with a reset.
///
/// Run it on the course's hosts: `sudo ./jbang lessons/tools/Net.java up`, an echo server on a
/// (`... Net.java on a socat TCP-LISTEN:1234,reuseaddr,fork EXEC:cat`), then
/// `... Net.java on b ./jbang lessons/22_DeadPeers.java --connect a --detect keepalive`, and pull the
/// cable: `... Net.java cut a-b`. On loopback alone: `./jbang lessons/22_DeadPeers.java --closed-peer`.
/// Chapter: docs/chapters/22-dead-peers.adoc · Test: lessons/test/DeadPeersTest.java
/// Not here: an echo server (lesson 05), which address it binds (lesson 21), a full accept queue (lesson 03).
class DeadPeers {
    static final int DEFAULT_PORT = 1234;
    /// The closed peer's listener takes one connection: the JDK's default backlog is plenty.
    static final int BACKLOG = 50;
    /// How the client finds out that its peer is gone: not at all, by TCP keep-alive, or by a heartbeat.
    enum Detection { NONE, KEEPALIVE, HEARTBEAT }
    /// Keep-alive: probe after 2 s of silence, every 1 s, give up after 3 unanswered probes.
    /// Linux's defaults are 7,200 s, 75 s and 9: two hours and eleven minutes.
    static final int KEEPALIVE_IDLE = 2, KEEPALIVE_INTERVAL = 1, KEEPALIVE_COUNT = 3;
    /// Heartbeat: a ping every second; no answer within 2 s means the peer is presumed dead.
    static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(1), HEARTBEAT_DEADLINE = Duration.ofSeconds(2);

    // tag::connect[]
    /// Connects, or reports how the attempt failed and how long that took: a reset answers at once
    /// ("refused"), a dropped SYN is retried until `timeout` ("timed out").
    static Socket connect(String host, int port, Duration timeout) throws IOException {
        var socket = new Socket();
        var peer = new InetSocketAddress(host, port);          // look the name up before the clock starts
        long start = System.nanoTime();
        try {
            socket.connect(peer, (int) timeout.toMillis());
            return socket;
        } catch (IOException e) {
            socket.close();
            log("connect failed after %s: %s", since(start), e.getMessage());
            throw e;
        }
    }
    // end::connect[]

    // tag::watch[]
    /// Talks to the peer once, then waits for it in the way `detection` says, narrating what each
    /// call does. Returns when the connection is found dead (or ends).
    static void watch(Socket socket, Detection detection) throws IOException, InterruptedException {
        var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = socket.getOutputStream();
        out.write("hello\n".getBytes(StandardCharsets.UTF_8));
        log("connected; the peer answered \"%s\"", in.readLine());
        switch (detection) {
            case NONE -> {
                // Every two seconds a line, and a read with no timeout for its echo.
                for (int tick = 1; ; tick++) {
                    long start = System.nanoTime();
                    out.write(("tick " + tick + "\n").getBytes(StandardCharsets.UTF_8));
                    log("wrote \"tick %d\": write() returned, the bytes are in the kernel's send buffer", tick);
                    String echo = in.readLine();        // with the cable out, this waits: no FIN, no RST
                    if (echo == null) return;
                    log("reply \"%s\" after %s", echo, since(start));
                    Thread.sleep(Duration.ofSeconds(2));
                }
            }
            case KEEPALIVE -> {
                // Ask the kernel to probe an idle connection: ACKs with no data, which a live peer answers.
                socket.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
                socket.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, KEEPALIVE_IDLE);
                socket.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, KEEPALIVE_INTERVAL);
                socket.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, KEEPALIVE_COUNT);
                log("keep-alive on: probe after %d s idle, every %d s, %d probes",
                        KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT);
                long start = System.nanoTime();
                try {
                    String line = in.readLine();       // blocks; only the kernel's verdict can end it
                    log("read returned %s", line == null ? "end of stream" : "\"" + line + "\"");
                } catch (IOException e) {
                    log("dead peer found by keep-alive after %s idle: %s", since(start), e.getMessage());
                }
            }
            case HEARTBEAT -> {
                // Our own probe: a line the peer must answer within a deadline.
                socket.setSoTimeout((int) HEARTBEAT_DEADLINE.toMillis());
                long lastReply = System.nanoTime();
                for (int ping = 1; ; ping++) {
                    out.write(("ping " + ping + "\n").getBytes(StandardCharsets.UTF_8));
                    try {
                        if (in.readLine() == null) return;
                        lastReply = System.nanoTime();
                        trace("ping %d answered", ping);
                    } catch (SocketTimeoutException e) {
                        log("dead peer found by heartbeat: no reply to ping %d within %d s, %s after the last reply",
                                ping, HEARTBEAT_DEADLINE.toSeconds(), since(lastReply));
                        return;
                    }
                    Thread.sleep(HEARTBEAT_EVERY);
                }
            }
        }
    }
    // end::watch[]

    // tag::closed[]
    /// Writes to a peer that has closed its socket: the first write succeeds (the bytes only reach
    /// our kernel), the peer's kernel answers them with a reset, and the next write fails.
    static List<String> writeToClosedPeer() throws IOException, InterruptedException {
        List<String> seen = new ArrayList<>();
        try (var listener = new ServerSocket(0, BACKLOG, InetAddress.getLoopbackAddress());
             var client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
            listener.accept().close();                                   // the peer closes at once
            seen.add("read: " + (client.getInputStream().read() == -1 ? "end of stream (the peer's FIN)" : "data"));
            for (int write = 1; write <= 2; write++) {
                try {
                    client.getOutputStream().write(("write " + write + "\n").getBytes(StandardCharsets.UTF_8));
                    seen.add("write " + write + ": succeeded");
                } catch (IOException e) {
                    seen.add("write " + write + ": failed: " + e.getMessage());
                }
                Thread.sleep(200);                                       // the experiment's pace: the reset comes back
            }
        }
        seen.forEach(DeadPeers::log);
        return seen;
    }
    // end::closed[]

    static String since(long start) { return "%.1f s".formatted((System.nanoTime() - start) / 1e9); }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/22_DeadPeers.java --connect HOST [--port N] [--detect none|keepalive|heartbeat]
                   ./jbang lessons/22_DeadPeers.java --closed-peer

              --connect HOST  talk once to the echo server on HOST, then watch for its death
              --detect HOW    none (a write every 2 s, a read with no timeout), keepalive or heartbeat
              --closed-peer   on loopback: write twice to a peer that has closed
              --port N        the echo server's TCP port (default %d)
              --help          print this help and exit

            Then, in another terminal, pull the cable:  sudo ./jbang lessons/tools/Net.java cut a-b
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        boolean closedPeer = commandLine.flag("--closed-peer");
        String host = commandLine.text("--connect", null);
        String detect = commandLine.text("--detect", "none");
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        if (!List.of("none", "keepalive", "heartbeat").contains(detect)) {
            throw commandLine.fail("--detect is none, keepalive or heartbeat, not '" + detect + "'");
        }
        if (closedPeer) {
            writeToClosedPeer();
            return;
        }
        if (host == null) throw commandLine.fail("say what to do: --connect HOST or --closed-peer");
        try (Socket socket = connect(host, port, Duration.ofSeconds(5))) {
            watch(socket, Detection.valueOf(detect.toUpperCase()));
        } catch (IOException e) {
            System.exit(1);                                             // connect() has said why
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
