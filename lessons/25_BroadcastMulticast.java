///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/// Lesson 25 · Broadcast and multicast — one datagram, many receivers: every host on the link, or a group's members.
///
/// Run it: `./jbang lessons/25_BroadcastMulticast.java --answer one --join 239.1.2.3`, then in another terminal
/// `./jbang lessons/25_BroadcastMulticast.java --discover --send 239.1.2.3`; on three hosts, see the chapter.
/// Chapter: docs/chapters/25-broadcast-multicast.adoc · Test: lessons/test/BroadcastMulticastTest.java
/// Not here: datagrams one to one (lesson 12); routing multicast between links (a multicast router,
/// not a socket's job); IPv6, which has no broadcast and joins groups the same way (ff02::/16 and up).
class BroadcastMulticast {
    static final int DEFAULT_PORT = 5000;
    static final String QUESTION = "WHO IS THERE?";
    /// How long discover() listens for answers: every host that heard the question answers at once, so
    /// a second is long on one link; two leave room for a host that is busy.
    static final Duration ANSWERS_WINDOW = Duration.ofSeconds(2);

    /// A socket on the port and the thread that receives on it: every datagram narrated and kept.
    record Listener(String name, DatagramChannel channel, BlockingQueue<String> received) implements AutoCloseable {
        int port() throws IOException { return ((InetSocketAddress) channel.getLocalAddress()).getPort(); }

        @Override
        public void close() throws IOException { channel.close(); }
    }

    // tag::discover[]
    /// Receives on `port`, bound to the wildcard address: a socket bound to one unicast address would
    /// not receive datagrams sent to the broadcast address. SO_REUSEADDR lets several share the port.
    /// With an `answer`, it answers the broadcast question; every other datagram it narrates and keeps.
    static Listener listen(String name, int port, String answer) throws IOException {
        DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET)
                .setOption(StandardSocketOptions.SO_REUSEADDR, true)
                .bind(new InetSocketAddress(port));
        var listener = new Listener(name, channel, new LinkedBlockingQueue<>());
        Thread.ofPlatform().daemon().name(name).start(() -> {
            try {
                while (true) {
                    ByteBuffer buffer = ByteBuffer.allocate(1_500);
                    var from = (InetSocketAddress) channel.receive(buffer);
                    String text = new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
                    if (!text.equals(QUESTION)) {
                        log("received \"%s\" from %s:%d", text, from.getAddress().getHostAddress(), from.getPort());
                        listener.received().add(text);
                    } else if (answer != null) {
                        log("heard \"%s\" from %s; answering", text, from);
                        channel.send(utf8(answer), from);                // the answer goes back one to one
                    }
                }
            } catch (IOException e) {
                if (channel.isOpen()) log("%s: %s", name, e.getMessage());   // else close() ended the loop
            }
        });
        return listener;
    }

    static Listener answer(String name, int port) throws IOException {
        return listen("answer " + name, port, "HERE " + name);
    }

    /// Asks everyone on the link: one datagram to the subnet's broadcast address, then every answer
    /// that comes within the window. Without SO_BROADCAST the kernel refuses to send it (EACCES):
    /// a DatagramChannel, like C's socket, starts with it off (Java's DatagramSocket turns it on).
    static List<String> discover(InetAddress broadcast, int port, boolean broadcastOption)
            throws IOException, InterruptedException {
        try (Listener asker = listen("discover", 0, null)) {
            asker.channel().setOption(StandardSocketOptions.SO_BROADCAST, broadcastOption);
            asker.channel().send(utf8(QUESTION), new InetSocketAddress(broadcast, port));
            log("asked \"%s\" at %s:%d", QUESTION, broadcast.getHostAddress(), port);
            Thread.sleep(ANSWERS_WINDOW);            // listen: the asker's thread narrates each answer as it comes
            return List.copyOf(asker.received());
        }
    }
    // end::discover[]

    // tag::join[]
    /// A member of `group`: a socket on the group's port that has joined the group on one interface.
    /// Joining tells the interface to accept the group's address (and, on a real network, sends an
    /// IGMP report so that switches and routers forward the group here).
    static Listener join(InetAddress group, int port, NetworkInterface nif, String name) throws IOException {
        Listener member = listen(name, port, null);
        member.channel().join(group, nif);
        log("%s joined %s on %s, port %d", name, group.getHostAddress(), nif.getName(), member.port());
        return member;
    }

    /// Sends `text` to the group through interface `nif`. `ttl` is how many routers the datagram
    /// may cross (0: it never leaves this host); `loop` whether members on this host get a copy.
    static void send(InetAddress group, int port, NetworkInterface nif, int ttl, boolean loop, String text)
            throws IOException {
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

    /// The IPv4 broadcast address of the interface's subnet (10.10.3.255 for 10.10.3.1/24), or null. Java
    /// reports none for lo, which lacks the BROADCAST flag, yet the kernel takes 127.255.255.255 as one.
    static InetAddress broadcastAddress(NetworkInterface nif) throws IOException {
        if (nif.isLoopback()) return InetAddress.ofLiteral("127.255.255.255");
        return nif.getInterfaceAddresses().stream().map(InterfaceAddress::getBroadcast)
                .filter(b -> b != null && !b.isAnyLocalAddress()).findFirst().orElse(null);
    }

    static ByteBuffer utf8(String text) { return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)); }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/25_BroadcastMulticast.java [--answer NAME] [--join GROUP] [--discover]
                                                             [--send GROUP] [--interface IF] [--port N]

              --answer NAME   answer "WHO IS THERE?" broadcasts with "HERE NAME" (keeps running)
              --join GROUP    join the multicast group, e.g. 239.1.2.3, and print what arrives
              --discover      broadcast "WHO IS THERE?" on the interface's subnet; print the answers
              --send GROUP    send three datagrams to the group: ttl 0; ttl 1; ttl 1 with loop off
              --interface IF  the interface to send and join on: eth0 on the course's hosts (default lo)
              --port N        the UDP port of answers and group alike (default %d)
              --help          print this help and exit

            With --answer one --join 239.1.2.3 running, then, in another terminal:
              ./jbang lessons/25_BroadcastMulticast.java --discover --send 239.1.2.3
            On three hosts (sudo ./jbang lessons/tools/Net.java --topology lan up), see the chapter.
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        String name = commandLine.text("--answer", null);
        String join = commandLine.text("--join", null);
        String sendTo = commandLine.text("--send", null);
        boolean discover = commandLine.flag("--discover");
        NetworkInterface nif = NetworkInterface.getByName(commandLine.text("--interface", "lo"));
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        if (name == null && join == null && sendTo == null && !discover) throw commandLine.fail("nothing to do");
        if (nif == null) throw commandLine.fail("no such interface (ip -brief link lists them)");
        InetAddress broadcast = broadcastAddress(nif);
        if (discover && broadcast == null) throw commandLine.fail(nif.getName() + " has no IPv4 broadcast address");
        try (Listener answerer = name == null ? null : answer(name, port);
             Listener member = join == null ? null : join(InetAddress.ofLiteral(join), port, nif, "member")) {
            log("ready on %s %s", nif.getName(), nif.inetAddresses().filter(a -> a instanceof Inet4Address).toList());
            if (discover) discover(broadcast, port, true);
            if (sendTo != null) sendThree(InetAddress.ofLiteral(sendTo), port, nif);
            if (answerer != null || member != null) Thread.currentThread().join();   // until Ctrl-C
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
        } catch (IllegalArgumentException e) {                      // from ofLiteral or join: not a group
            throw commandLine.fail(e.getMessage() + " (a group is an address from 224.0.0.0 to 239.255.255.255)");
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
