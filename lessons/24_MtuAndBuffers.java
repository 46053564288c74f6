///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jdk.net.ExtendedSocketOptions;

/// Lesson 24 · MTU and buffers — a datagram larger than the path's MTU is lost once, then cut into
/// fragments (or refused, with don't-fragment); TCP fits its segments to the path (the MSS); and
/// one connection can carry at most a window of data per round trip, so a long fat path needs big
/// socket buffers, which Linux grows by itself.
///
/// Run it on the course's hosts: `sudo ./jbang lessons/tools/Net.java --topology routed up`,
/// `... Net.java mtu r-b 1280`, then `... Net.java on b ./jbang lessons/24_MtuAndBuffers.java --serve`
/// and `... Net.java on a ./jbang lessons/24_MtuAndBuffers.java --mtu b`; for buffers, a delay on r
/// (`... Net.java on r ./jbang lessons/tools/DelayLine.java --delay 25`) and `--buffers b` on a.
/// Chapter: docs/chapters/24-mtu-and-buffers.adoc · Test: lessons/test/MtuAndBuffersTest.java
/// Not here: small writes and the segments they make (lesson 23); datagrams in general (lesson 12).
class MtuAndBuffers {
    static final int DEFAULT_PORT = 1234;
    /// A small backlog: one client at a time measures.
    static final int BACKLOG = 50;
    /// Larger than the 1,280-byte MTU the chapter gives the path, smaller than Ethernet's 1,500.
    static final int DATAGRAM = 1_400;
    /// How long each throughput measurement sends.
    static final Duration MEASURE = Duration.ofSeconds(2);
    /// Receive buffers to measure with; 0 means "not set": the kernel's autotuning.
    static final List<Integer> BUFFERS = List.of(8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10, 0);

    /// The far end: UDP datagrams are answered with their size; each TCP connection is sent
    /// data for as long as the client's first line asks, as fast as the client reads it.
    record Server(DatagramSocket udp, ServerSocket tcp) implements AutoCloseable {
        int port() {
            return tcp.getLocalPort();
        }

        @Override
        public void close() {
            udp.close();
            try {
                tcp.close();
            } catch (IOException e) {
                // Closing: nothing more to do.
            }
        }
    }

    static Server serve(int port) throws IOException {
        var udp = new DatagramSocket(port);
        var tcp = new ServerSocket();
        tcp.bind(new InetSocketAddress(port), BACKLOG);
        Thread.ofPlatform().daemon().name("udp").start(() -> {
            byte[] buffer = new byte[65_536];
            while (!udp.isClosed()) {
                try {
                    var packet = new DatagramPacket(buffer, buffer.length);
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
            while (!tcp.isClosed()) {
                try (Socket client = tcp.accept()) {
                    int millis = Integer.parseInt(new String(client.getInputStream().readNBytes(6), StandardCharsets.UTF_8).strip());
                    OutputStream out = client.getOutputStream();
                    byte[] chunk = new byte[64 << 10];
                    for (long end = System.nanoTime() + millis * 1_000_000L; System.nanoTime() < end; ) out.write(chunk);
                } catch (IOException | NumberFormatException e) {
                    if (!tcp.isClosed()) log("tcp: %s", e.getMessage());
                }
            }
        });
        return new Server(udp, tcp);
    }

    // tag::mtu[]
    /// Sends four datagrams of `DATAGRAM` bytes to `host`, each waiting a second for its answer:
    /// as Java sends by default, then with don't-fragment (DF) set, then both again, now that the
    /// kernel has learned the path's MTU. Returns what happened.
    static List<String> datagrams(String host, int port) throws IOException {
        List<String> seen = new ArrayList<>();
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
                    outcome = "answered \"" + new String(answer.getData(), 0, answer.getLength(), StandardCharsets.UTF_8) + "\"";
                } catch (SocketTimeoutException e) {
                    outcome = "no answer within 1 s: lost";
                } catch (IOException e) {
                    outcome = "send failed: " + e.getMessage();
                }
                String line = "datagram %d (%d bytes%s): %s; fragments made here: %d; path MTU now: %s".formatted(n, DATAGRAM,
                        dontFragment ? ", DF" : "", outcome, ipCounter("FragCreates") - fragmentsBefore, pathMtu(to));
                log("%s", line);
                seen.add(line);
            }
        }
        return seen;
    }

    /// The path MTU the kernel has learned for `host` (`ip route get`), or "the interface's".
    static String pathMtu(InetAddress host) {
        Matcher m = Pattern.compile("mtu (\\d+)").matcher(command("ip", "route", "get", host.getHostAddress()));
        return m.find() ? m.group(1) : "the interface's";
    }

    /// One of the kernel's IP counters for this host (network namespace), from /proc/net/snmp.
    static long ipCounter(String name) throws IOException {
        List<String> ip = Files.readAllLines(Path.of("/proc/net/snmp")).stream().filter(l -> l.startsWith("Ip: ")).toList();
        List<String> names = List.of(ip.get(0).split(" ")), values = List.of(ip.get(1).split(" "));
        return Long.parseLong(values.get(names.indexOf(name)));
    }
    // end::mtu[]

    // tag::throughput[]
    /// One connection's throughput from `host`, with the receive buffer set to `receiveBuffer`
    /// bytes before connecting (0: not set, the kernel tunes it). Returns Mbit/s, and the
    /// connection's MSS and round-trip time as the kernel sees them.
    record Measured(int receiveBuffer, double mbits, String mss, String rtt) {
    }

    static Measured throughput(String host, int port, int receiveBuffer) throws IOException {
        try (var socket = new Socket()) {
            // Before connect: the window scale is agreed in the handshake, from the buffer's size.
            if (receiveBuffer > 0) socket.setReceiveBufferSize(receiveBuffer);
            socket.connect(new InetSocketAddress(host, port), 5_000);
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write("%5d\n".formatted(MEASURE.toMillis()).getBytes(StandardCharsets.UTF_8));
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[64 << 10];
            long bytes = 0, start = System.nanoTime();
            String info = "";
            for (int n; (n = in.read(buffer)) != -1; ) {
                bytes += n;
                if (info.isEmpty() && System.nanoTime() - start > MEASURE.toNanos() / 2) info = tcpInfo(socket);
            }
            double mbits = bytes * 8 / ((System.nanoTime() - start) / 1e9) / 1e6;
            var m = new Measured(receiveBuffer, mbits, field(info, "mss:(\\d+)"), field(info, "rtt:([\\d.]+)"));
            log("receive buffer %-9s %7.2f Mbit/s  (mss %s, rtt %s ms; SO_RCVBUF at the end: %d bytes)",
                    receiveBuffer == 0 ? "autotuned" : (receiveBuffer >> 10) + " KiB", mbits, m.mss(), m.rtt(),
                    socket.getReceiveBufferSize());
            return m;
        }
    }
    // end::throughput[]

    /// What `ss -ti` says about this connection: its MSS, round-trip time, windows.
    static String tcpInfo(Socket socket) {
        return command("ss", "-tinH", "state", "established", "( sport = :" + socket.getLocalPort() + " )");
    }

    static String field(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        return m.find() ? m.group(1) : "?";
    }

    /// Runs a short command and returns its output, or "" where it cannot run.
    static String command(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
            return out;
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/24_MtuAndBuffers.java --serve [--port N]
                   ./jbang lessons/24_MtuAndBuffers.java --mtu HOST [--port N]
                   ./jbang lessons/24_MtuAndBuffers.java --buffers HOST [--port N]

            Run on the course's hosts (sudo ./jbang lessons/tools/Net.java --topology routed up):
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
        String mtuHost = commandLine.text("--mtu", null);
        String buffersHost = commandLine.text("--buffers", null);
        String sizes = commandLine.text("--sizes", null);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        List<Integer> buffers = BUFFERS;
        if (sizes != null) {
            if (!sizes.matches("\\d{1,5}(,\\d{1,5})*")) throw commandLine.fail("--sizes is a list of KiB, e.g. 16,64,0");
            buffers = List.of(sizes.split(",")).stream().map(k -> Integer.parseInt(k) << 10).toList();
        }
        if (mtuHost != null) {
            datagrams(mtuHost, port);
        } else if (buffersHost != null) {
            for (int size : buffers) throughput(buffersHost, port, size);
        } else if (serve) {
            try (Server server = serve(port)) {
                log("listening on 0.0.0.0:%d, UDP and TCP", server.port());
                Thread.currentThread().join();
            } catch (BindException e) {
                CommandLine.exitPortInUse(port, e);
            }
        } else {
            throw commandLine.fail("say what to do: --serve, --mtu HOST or --buffers HOST");
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
