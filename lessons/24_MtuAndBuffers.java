///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jdk.net.ExtendedSocketOptions;

/// Lesson 24 · MTU and buffers — a datagram too big for the path is cut into fragments, or, with don't-fragment,
/// lost once and then refused; TCP fits its segments to the path (the MSS); a connection carries at most a window
/// per round trip, so a long fat path needs big socket buffers, which Linux grows by itself.
///
/// Run it on the course's `routed` hosts, as the chapter shows: `--serve` on b, then `--mtu b` or `--buffers b` on a.
/// Chapter: docs/chapters/24-mtu-and-buffers.adoc · Test: lessons/test/MtuAndBuffersTest.java
/// Not here: small writes and the segments they make (lesson 23); datagrams in general (lesson 12).
class MtuAndBuffers {
    static final int DEFAULT_PORT = 1234;
    static final int BACKLOG = 50;                  // a small backlog: one client at a time measures
    static final int DATAGRAM = 1_400;              // more than the path's MTU of 1,280, less than Ethernet's 1,500
    static final long MEASURE_NANOS = 2_000_000_000L;       // how long each TCP connection is sent data

    /// The far end: datagrams are answered with their size; each TCP connection is sent data for 2 s, as fast as read.
    record Server(DatagramSocket udp, ServerSocket tcp) implements AutoCloseable {
        int port() { return tcp.getLocalPort(); }

        @Override
        public void close() throws IOException {
            udp.close();
            tcp.close();
        }
    }

    static Server serve(int port) throws IOException {
        var udp = new DatagramSocket(port);
        var tcp = new ServerSocket(port, BACKLOG);
        Thread.ofPlatform().daemon().name("udp").start(() -> {
            while (!udp.isClosed()) {
                try {
                    var packet = new DatagramPacket(new byte[65_536], 65_536);
                    udp.receive(packet);
                    trace("received a datagram of %d bytes from %s", packet.getLength(), packet.getSocketAddress());
                    byte[] answer = ("got " + packet.getLength()).getBytes(StandardCharsets.UTF_8);
                    udp.send(new DatagramPacket(answer, answer.length, packet.getSocketAddress()));
                } catch (IOException e) {
                    if (!udp.isClosed()) log("udp: %s", e.getMessage());
                }
            }
        });
        Thread.ofPlatform().daemon().name("tcp").start(() -> {
            byte[] chunk = new byte[64 << 10];
            while (!tcp.isClosed()) {
                try (Socket client = tcp.accept(); OutputStream out = client.getOutputStream()) {
                    for (long end = System.nanoTime() + MEASURE_NANOS; System.nanoTime() < end; ) out.write(chunk);
                } catch (IOException e) {
                    if (!tcp.isClosed()) log("tcp: %s", e.getMessage());
                }
            }
        });
        return new Server(udp, tcp);
    }

    // tag::mtu[]
    /// Sends four datagrams of `DATAGRAM` bytes to `host`, each given a second for its answer: as Java sends by
    /// default, then with don't-fragment (DF) set, then both again, now that the kernel knows the path's MTU.
    static void datagrams(String host, int port) throws IOException {
        InetAddress to = InetAddress.getByName(host);
        try (var socket = new DatagramSocket()) {
            socket.setSoTimeout(1_000);
            for (int n = 1; n <= 4; n++) {
                // DF: nobody may cut the datagram; a router answers "too big" with an ICMP message.
                boolean dontFragment = n % 2 == 0;
                socket.setOption(ExtendedSocketOptions.IP_DONTFRAGMENT, dontFragment);
                long fragmentsBefore = ipCounter("FragCreates");
                String outcome;
                try {
                    socket.send(new DatagramPacket(new byte[DATAGRAM], DATAGRAM, to, port));
                    var answer = new DatagramPacket(new byte[64], 64);
                    socket.receive(answer);
                    outcome = "answered \"%s\"".formatted(new String(answer.getData(), 0, answer.getLength()));
                } catch (SocketTimeoutException e) {
                    outcome = "no answer within 1 s: lost";
                } catch (IOException e) {
                    outcome = "send failed: " + e.getMessage();
                }
                // The path MTU the kernel has learned for `to`, if any (`ip route get`).
                String mtu = ask("mtu (\\d+)", "the interface's", "ip", "route", "get", to.getHostAddress());
                log("datagram %d (%d bytes%s): %s; fragments made here: %d; path MTU now: %s", n, DATAGRAM,
                        dontFragment ? ", DF" : "", outcome, ipCounter("FragCreates") - fragmentsBefore, mtu);
            }
        }
    }

    /// One of the kernel's IP counters for this host (network namespace), from /proc/net/snmp.
    static long ipCounter(String name) throws IOException {
        var ip = Files.readAllLines(Path.of("/proc/net/snmp")).stream().filter(l -> l.startsWith("Ip: ")).toList();
        List<String> names = List.of(ip.get(0).split(" ")), values = List.of(ip.get(1).split(" "));
        return Long.parseLong(values.get(names.indexOf(name)));
    }
    // end::mtu[]

    // tag::throughput[]
    /// One connection's throughput from `host` in Mbit/s, with the receive buffer set to `receiveBuffer` bytes
    /// before connecting (0: not set, the kernel tunes it); printed with the MSS and round trip the kernel saw.
    static double throughput(String host, int port, int receiveBuffer) throws IOException {
        try (var socket = new Socket()) {
            // Before connect: the window scale is agreed in the handshake, from the buffer's size.
            if (receiveBuffer > 0) socket.setReceiveBufferSize(receiveBuffer);
            socket.connect(new InetSocketAddress(host, port), 5_000);
            socket.setSoTimeout(10_000);
            long start = System.nanoTime();
            long bytes = socket.getInputStream().transferTo(OutputStream.nullOutputStream());     // read all, keep none
            double mbits = bytes * 8 / ((System.nanoTime() - start) / 1e9) / 1e6;
            // Ask what the kernel knows of this connection, still open on our side (`ss -ti`): its MSS, round trip.
            String[] ss = {"ss", "-tinH", "( sport = :" + socket.getLocalPort() + " )"};
            log("receive buffer %-9s %7.2f Mbit/s  (mss %s, rtt %s ms; SO_RCVBUF at the end: %d bytes)",
                    receiveBuffer == 0 ? "autotuned" : (receiveBuffer >> 10) + " KiB", mbits,
                    ask("mss:(\\d+)", "?", ss), ask("rtt:([\\d.]+)", "?", ss), socket.getReceiveBufferSize());
            return mbits;
        }
    }
    // end::throughput[]

    /// Runs `ip` or `ss` (iproute2) and returns the group `regex` finds in its output, or `otherwise`.
    static String ask(String regex, String otherwise, String... command) throws IOException {
        Process process = new ProcessBuilder(command).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        Matcher m = Pattern.compile(regex).matcher(out);
        return m.find() ? m.group(1) : otherwise;
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/24_MtuAndBuffers.java (--serve | --mtu HOST | --buffers HOST) [--port N]

              --serve         the far end: answers datagrams with their size, sends TCP data
              --mtu HOST      four %d-byte datagrams to HOST: as Java sends them, with DF, and again
              --buffers HOST  one connection's throughput from HOST for each receive buffer size
              --sizes K,K...  the receive buffers to try, in KiB; 0 is autotuned (default 8,16,...,256,0)
              --port N        UDP and TCP port (default %d)
              --help          print this help and exit
            """.formatted(DATAGRAM, DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        boolean serve = commandLine.flag("--serve");
        String mtu = commandLine.text("--mtu", null);
        String buffers = commandLine.text("--buffers", null);
        String sizes = commandLine.text("--sizes", "8,16,32,64,128,256,0");
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        if (!serve && mtu == null && buffers == null) throw commandLine.fail("choose one: --serve, --mtu or --buffers");
        if (!sizes.matches("\\d{1,5}(,\\d{1,5})*")) throw commandLine.fail("--sizes is a list of KiB, e.g. 16,64,0");
        if (mtu != null) {
            datagrams(mtu, port);
        } else if (buffers != null) {
            for (String kib : sizes.split(",")) throughput(buffers, port, Integer.parseInt(kib) << 10);
        } else {
            try (Server server = serve(port)) {
                log("listening on 0.0.0.0:%d, UDP and TCP", server.port());
                Thread.currentThread().join();
            } catch (BindException e) {
                CommandLine.exitPortInUse(port, e);
            }
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
