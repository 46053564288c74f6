///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/// Tool · SocketTable — the kernel's own table of TCP sockets for one port, read from
/// `/proc/net/tcp` and `/proc/net/tcp6`, as `ss` reads it: each socket's state, its queues and
/// its timer; and the listen queue's overflow counters from `/proc/net/netstat`.
///
/// Run it: `./jbang lessons/tools/SocketTable.java --port 1234 [--watch]` beside a lesson.
/// Read: docs/chapters/03-bind-listen-accept.adoc (the accept queue) and 22-dead-peers.adoc (timers)
class SocketTable {
    /// The states as the kernel numbers them (include/net/tcp_states.h).
    static final List<String> STATES = List.of("?", "ESTABLISHED", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1",
            "FIN-WAIT-2", "TIME-WAIT", "CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING");
    /// What the timer column means: the kernel runs at most one of these timers for a socket.
    static final List<String> TIMERS = List.of("none", "retransmit", "keepalive", "time-wait", "zero-window probe");

    /// One line of the table. For a LISTEN socket, `recvQ` is the accept queue: connections the
    /// handshake finished that accept() has not taken yet.
    record Row(String state, String local, String remote, long sendQ, long recvQ, String timer,
               double timerSeconds, int retransmits) {
        @Override
        public String toString() {
            return "%-11s %-28s %-28s send-q %-6d recv-q %-6d timer %s%s".formatted(state, local, remote, sendQ, recvQ,
                    timer, timer.equals("none") ? "" : " (%.2f s left, %d retransmits)".formatted(timerSeconds, retransmits));
        }
    }

    // tag::read[]
    /// Every TCP socket whose local or remote port is `port`.
    static List<Row> rows(int port) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            // Not Files.readString: /proc files report a size of 0, and it may return too little.
            for (String line : Files.readAllLines(Path.of(table)).stream().skip(1).toList()) {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
                String[] f = line.trim().split("\\s+");
                String[] local = f[1].split(":"), remote = f[2].split(":"), queues = f[4].split(":"), timer = f[5].split(":");
                if (Integer.parseInt(local[1], 16) != port && Integer.parseInt(remote[1], 16) != port) continue;
                rows.add(new Row(STATES.get(Integer.parseInt(f[3], 16)), endpoint(local), endpoint(remote),
                        Long.parseLong(queues[0], 16), Long.parseLong(queues[1], 16),
                        TIMERS.get(Math.min(Integer.parseInt(timer[0], 16), TIMERS.size() - 1)),
                        Long.parseLong(timer[1], 16) / 100.0,            // in clock ticks of 1/100 s
                        Integer.parseInt(f[6], 16)));
            }
        }
        return rows;
    }

    /// The kernel's counters for a full accept queue: ListenOverflows counts handshakes completed
    /// while the queue was full (their final ACK dropped), ListenDrops every SYN or ACK thrown away.
    static Map<String, Long> listenCounters() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/net/netstat"));
        Map<String, Long> counters = new LinkedHashMap<>();
        for (int i = 0; i + 1 < lines.size(); i += 2) {
            if (!lines.get(i).startsWith("TcpExt:")) continue;
            String[] names = lines.get(i).split("\\s+"), values = lines.get(i + 1).split("\\s+");
            for (int k = 1; k < names.length; k++) {
                if (names[k].startsWith("Listen")) counters.put(names[k], Long.parseLong(values[k]));
            }
        }
        return counters;
    }
    // end::read[]

    /// An address as the kernel stores it: hex, in the byte order of the machine (little-endian
    /// here), in 32-bit words.
    static String endpoint(String[] hexAddressAndPort) throws UnknownHostException {
        String hex = hexAddressAndPort[0];
        byte[] bytes = new byte[hex.length() / 2];
        for (int word = 0; word < bytes.length / 4; word++) {
            for (int b = 0; b < 4; b++) {
                bytes[word * 4 + b] = (byte) Integer.parseInt(hex, word * 8 + (3 - b) * 2, word * 8 + (3 - b) * 2 + 2, 16);
            }
        }
        InetAddress address = InetAddress.getByAddress(bytes);
        String text = address.getHostAddress();
        if (bytes.length == 16 && new BigInteger(1, bytes).shiftRight(32).equals(BigInteger.valueOf(0xffff))) {
            text = "::ffff:" + text;                 // an IPv4 peer of a dual-stack socket
        }
        return (text.contains(":") ? "[" + text + "]" : text) + ":" + Integer.parseInt(hexAddressAndPort[1], 16);
    }

    // ---- The command line. ----

    static final String USAGE = """
            Usage: ./jbang lessons/tools/SocketTable.java --port N [--watch] [--help]

            Prints the kernel's TCP sockets on port N (local or remote), from /proc/net/tcp and
            /proc/net/tcp6: state, send and receive queues, timer; then the listen-queue counters
            ListenOverflows and ListenDrops from /proc/net/netstat.

              --port N   the port to show (required)
              --watch    print the table again every second, until Ctrl-C
              --help     print this help and exit
            """;

    public static void main(String[] args) throws Exception {
        List<String> rest = new ArrayList<>(List.of(args));
        if (rest.contains("--help") || rest.contains("-h")) {
            System.out.print(USAGE);
            return;
        }
        boolean watch = rest.remove("--watch");
        int i = rest.indexOf("--port");
        if (i < 0 || i + 1 == rest.size() || !rest.get(i + 1).matches("\\d{1,5}") || Integer.parseInt(rest.get(i + 1)) > 65_535) {
            fail("--port needs a port number from 0 to 65535");
        }
        int port = Integer.parseInt(rest.remove(i + 1));
        rest.remove(i);
        if (!rest.isEmpty()) fail("unknown argument: " + rest.getFirst());
        if (!Files.exists(Path.of("/proc/net/tcp"))) {
            System.err.println("SocketTable needs Linux: it reads /proc/net/tcp (elsewhere: netstat -an)");
            System.exit(1);
        }
        do {
            System.out.printf("%tT  port %d%n", LocalTime.now(), port);
            List<Row> rows = rows(port);
            if (rows.isEmpty()) System.out.println("  (no socket on this port)");
            rows.forEach(row -> System.out.println("  " + row));
            System.out.println("  " + listenCounters());
            if (watch) TimeUnit.SECONDS.sleep(1);
        } while (watch);
    }

    static void fail(String problem) {
        System.err.println("error: " + problem);
        System.err.print(USAGE);
        System.exit(2);
    }
}
