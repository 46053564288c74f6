///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/// Lesson 25 · Broadcast and multicast — one datagram, many receivers: broadcast reaches every host
/// on the link, multicast only the hosts that joined the group; TTL says how far a datagram may go,
/// loopback whether the sender's own host gets a copy.
///
/// Run it: `./jbang lessons/25_BroadcastMulticast.java` (all on loopback); on three hosts:
/// `sudo ./jbang lessons/tools/Net.java --topology lan up`, then on b and on c
/// `... Net.java on b ./jbang lessons/25_BroadcastMulticast.java --answer b --join 239.1.2.3` and on a
/// `... Net.java on a ./jbang lessons/25_BroadcastMulticast.java --discover --join 239.1.2.3 --send 239.1.2.3`.
/// Chapter: docs/chapters/25-broadcast-multicast.adoc · Test: lessons/test/BroadcastMulticastTest.java
/// Not here: datagrams one to one (lesson 12); routing multicast between links (a multicast router,
/// not a socket's job); IPv6, which has no broadcast and joins groups the same way (ff02::/16 and up).
class BroadcastMulticast {
    static final int DEFAULT_PORT = 5000;
    static final String QUESTION = "WHO IS THERE?";
    /// How long the discovering client listens for answers: every host that heard the question
    /// answers at once, so a second is long on one link; two leave room for a host that is busy.
    static final Duration ANSWERS_WINDOW = Duration.ofSeconds(2);

    // tag::discover[]
    /// Answers the broadcast question with this host's name, from a socket bound to the wildcard
    /// address: a socket bound to one unicast address would not receive datagrams sent to the
    /// broadcast address. SO_REUSEADDR lets several answerers share the port on one host.
    static Listener answer(String name, int port) throws IOException {
        DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET)
                .setOption(StandardSocketOptions.SO_REUSEADDR, true)
                .bind(new InetSocketAddress(port));
        return Listener.start("answer " + name, channel, (text, from) -> {
            if (!text.equals(QUESTION)) return;
            log("heard \"%s\" from %s; answering", text, from);
            channel.send(utf8("HERE " + name), from);               // the answer goes back one to one
        });
    }

    /// Asks everyone on the link: one datagram to the subnet's broadcast address, then every answer
    /// that comes within the window. Without SO_BROADCAST the kernel refuses to send it (EACCES);
    /// Java's DatagramSocket turns it on by default, a DatagramChannel (like C's socket) does not.
    static List<String> discover(InetAddress broadcast, int port, boolean broadcastOption) throws IOException {
        try (var socket = new DatagramSocket()) {
            socket.setBroadcast(broadcastOption);
            byte[] question = QUESTION.getBytes(StandardCharsets.UTF_8);
            socket.send(new DatagramPacket(question, question.length, broadcast, port));
            log("asked \"%s\" at %s:%d", QUESTION, broadcast.getHostAddress(), port);
            List<String> answers = new ArrayList<>();
            long deadline = System.nanoTime() + ANSWERS_WINDOW.toNanos();
            for (long left; (left = (deadline - System.nanoTime()) / 1_000_000) > 0; ) {
                var packet = new DatagramPacket(new byte[512], 512);
                socket.setSoTimeout((int) left);
                try {
                    socket.receive(packet);
                } catch (SocketTimeoutException e) {
                    break;                                           // the window is over
                }
                String answer = new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8)
                        + " (" + address(packet.getSocketAddress()) + ")";
                log("answer: %s", answer);
                answers.add(answer);
            }
            return answers;
        }
    }
    // end::discover[]

    // tag::join[]
    /// A member of `group`: a socket bound to the group's port that has joined the group on one
    /// interface. Joining tells the interface to accept the group's address (and, on a real
    /// network, sends an IGMP report so that switches and routers forward the group here).
    static Listener join(InetAddress group, int port, NetworkInterface nif, String name) throws IOException {
        DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET)
                .setOption(StandardSocketOptions.SO_REUSEADDR, true)     // several members on one host
                .bind(new InetSocketAddress(port));
        channel.join(group, nif);
        log("%s joined %s on %s, port %d", name, group.getHostAddress(), nif.getName(),
                ((InetSocketAddress) channel.getLocalAddress()).getPort());
        return Listener.start(name, channel, (text, from) -> {});
    }

    /// Sends `text` to the group through interface `nif`. `ttl` is how many routers the datagram
    /// may cross (0: it never leaves this host); `loop` whether members on this host get a copy.
    static void send(InetAddress group, int port, NetworkInterface nif, int ttl, boolean loop, String text) throws IOException {
        try (DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET)) {
            // Without IP_MULTICAST_IF the kernel picks the interface from its routes; a host with no
            // default route has none for 224.0.0.0/4 and fails with "Network is unreachable".
            channel.setOption(StandardSocketOptions.IP_MULTICAST_IF, nif);
            channel.setOption(StandardSocketOptions.IP_MULTICAST_TTL, ttl);
            channel.setOption(StandardSocketOptions.IP_MULTICAST_LOOP, loop);
            channel.send(utf8(text), new InetSocketAddress(group, port));
            log("sent \"%s\" to %s:%d on %s", text, group.getHostAddress(), port, nif.getName());
        }
    }

    /// The experiment: three datagrams, so that who received which one shows what TTL and loop mean.
    static void sendThree(InetAddress group, int port, NetworkInterface nif) throws IOException {
        send(group, port, nif, 0, true, "datagram 1 (ttl 0, loop on)");
        send(group, port, nif, 1, true, "datagram 2 (ttl 1, loop on)");
        send(group, port, nif, 1, false, "datagram 3 (ttl 1, loop off)");
    }
    // end::join[]

    /// A socket and the virtual thread that receives on it: every datagram narrated and kept.
    record Listener(String name, DatagramChannel channel, BlockingQueue<String> received) implements AutoCloseable {
        interface OnDatagram {
            void handle(String text, SocketAddress from) throws IOException;
        }

        static Listener start(String name, DatagramChannel channel, OnDatagram then) {
            var listener = new Listener(name, channel, new LinkedBlockingQueue<>());
            Thread.ofPlatform().daemon().name(name).start(() -> {
                try {
                    while (true) {
                        ByteBuffer buffer = ByteBuffer.allocate(1_500);
                        SocketAddress from = channel.receive(buffer);
                        String text = text(buffer);
                        if (!text.equals(QUESTION)) {
                            log("received \"%s\" from %s", text, address(from));
                            listener.received().add(text);
                        }
                        then.handle(text, from);
                    }
                } catch (ClosedChannelException e) {
                    // close() was called: the thread's work is done.
                } catch (IOException e) {
                    log("%s: %s", name, e.getMessage());
                }
            });
            return listener;
        }

        int port() throws IOException {
            return ((InetSocketAddress) channel.getLocalAddress()).getPort();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /// The interface named `name`, or the first that is up, is not loopback and has an IPv4
    /// address; on a machine with none, loopback (Linux delivers multicast there too).
    static NetworkInterface pickInterface(String name) throws IOException {
        if (name != null) {
            NetworkInterface nif = NetworkInterface.getByName(name);
            if (nif == null) throw new IOException("no interface named " + name);
            return nif;
        }
        for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (nif.isUp() && !nif.isLoopback() && nif.inetAddresses().anyMatch(a -> a instanceof Inet4Address)) return nif;
        }
        return NetworkInterface.getByName("lo");
    }

    /// The IPv4 broadcast address of the interface's subnet (10.10.3.255 for 10.10.3.1/24), or
    /// 127.255.255.255 on loopback, which the kernel treats as loopback's broadcast address.
    static InetAddress broadcastAddress(NetworkInterface nif) throws IOException {
        if (nif.isLoopback()) return InetAddress.getByName("127.255.255.255");
        for (InterfaceAddress address : nif.getInterfaceAddresses()) {
            InetAddress broadcast = address.getBroadcast();
            if (broadcast != null && !broadcast.isAnyLocalAddress()) return broadcast;
        }
        return null;
    }

    static ByteBuffer utf8(String text) {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    }

    static String text(ByteBuffer buffer) {
        return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
    }

    static String address(SocketAddress from) {
        var a = (InetSocketAddress) from;
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /// The experiment on one host: two answerers and two members on loopback.
    static void onLoopback(int port) throws IOException, InterruptedException {
        NetworkInterface lo = NetworkInterface.getByName("lo");
        InetAddress group = InetAddress.getByName("239.1.2.3");
        try (var one = answer("one", port); var two = answer("two", one.port());
             var first = join(group, port, lo, "member 1");
             var second = join(group, first.port(), lo, "member 2")) {
            discover(broadcastAddress(lo), two.port(), true);       // both answerers share the port
            sendThree(group, first.port(), lo);
            // Wait for each member's three datagrams (on lo all three arrive), at most a second each.
            for (Listener member : List.of(first, second)) {
                for (int i = 0; i < 3; i++) {
                    if (member.received().poll(1, TimeUnit.SECONDS) == null) log("%s: a datagram did not come", member.name());
                }
            }
        }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/25_BroadcastMulticast.java [--port N]
                   ./jbang lessons/25_BroadcastMulticast.java [--answer NAME] [--join GROUP] [--discover]
                                                             [--send GROUP] [--interface IF] [--port N]

            One datagram, many receivers. With no mode: everything on loopback, in this process.
              --answer NAME   answer "WHO IS THERE?" broadcasts with "HERE NAME" (keeps running)
              --join GROUP    join the multicast group, e.g. 239.1.2.3, and print what arrives
              --discover      broadcast "WHO IS THERE?" on the interface's subnet; print the answers
              --send GROUP    send three datagrams to the group: ttl 0; ttl 1; ttl 1 with loop off
              --interface IF  the interface to use (default: the first that is up and not loopback)
              --port N        the UDP port of answers and group alike (default %d; 0 on loopback only)
              --help          print this help and exit

            On three hosts: sudo ./jbang lessons/tools/Net.java --topology lan up
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        String name = commandLine.text("--answer", null);
        String join = commandLine.text("--join", null);
        String sendTo = commandLine.text("--send", null);
        boolean discover = commandLine.flag("--discover");
        String interfaceName = commandLine.text("--interface", null);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        if (name == null && join == null && sendTo == null && !discover) {
            onLoopback(port);
            return;
        }
        NetworkInterface nif = pickInterface(interfaceName);
        List<Listener> listeners = new ArrayList<>();
        try {
            if (name != null) listeners.add(answer(name, port));
            if (join != null) listeners.add(join(InetAddress.getByName(join), port, nif, "member"));
            log("ready on %s %s", nif.getName(), nif.getInterfaceAddresses().stream()
                    .filter(a -> a.getAddress() instanceof Inet4Address).toList());
            if (discover) {
                InetAddress broadcast = broadcastAddress(nif);
                if (broadcast == null) throw commandLine.fail(nif.getName() + " has no IPv4 broadcast address");
                discover(broadcast, port, true);
            }
            if (sendTo != null) sendThree(InetAddress.getByName(sendTo), port, nif);
            if (!listeners.isEmpty()) Thread.currentThread().join();   // answer and listen until stopped
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
        } finally {
            for (Listener listener : listeners) listener.close();
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
