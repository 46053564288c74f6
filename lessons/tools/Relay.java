///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;

/// Tool · Relay — a slow, lossy piece of network in user space, for kernels without `tc netem`:
/// it forwards TCP or UDP to a target, holding every chunk or datagram back for a fixed delay,
/// and (UDP only) drops a share of the datagrams, chosen by a seeded random generator so that a
/// run can be repeated exactly.
///
/// Run it on the router of the course's network: `sudo ./jbang lessons/tools/Net.java --topology routed
/// on r ./jbang lessons/tools/Relay.java --listen 9000 --to b:1234 --delay 50`, then connect from a to r:9000.
/// Read: docs/chapters/22-dead-peers.adoc
class Relay implements AutoCloseable {
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final Duration delay;

    private Relay(Duration delay) {
        this.delay = delay;
    }

    /// Something to send at a time in the future: a delay line is a queue ordered by that time.
    record Due(long atNanos, Runnable send) implements Delayed {
        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(atNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            return Long.compare(atNanos, ((Due) other).atNanos);
        }
    }

    /// A thread that sends each item when its time has come. Items keep their order: every item
    /// waits the same delay, so none can overtake another.
    DelayQueue<Due> delayLine(String name) {
        var line = new DelayQueue<Due>();
        Thread.ofPlatform().daemon().name(name).start(() -> {
            try {
                while (true) line.take().send().run();
            } catch (InterruptedException e) {
                // The relay is closing.
            }
        });
        return line;
    }

    /// TCP: every connection to `listenPort` gets its own connection to `target`; bytes go both
    /// ways, each chunk `delay` later than it was read. A long delay does not slow a long
    /// transfer by itself: many chunks are on their way at once, as on a long cable.
    static Relay tcp(int listenPort, InetSocketAddress target, Duration delay) throws IOException {
        var relay = new Relay(delay);
        var listener = new ServerSocket(listenPort);
        relay.resources.add(listener);
        Thread.ofPlatform().daemon().name("relay acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket client = listener.accept();
                    Socket server = new Socket(target.getAddress(), target.getPort());
                    relay.resources.addAll(List.of(client, server));
                    relay.pipe(client, server, relay.delayLine("to server"));
                    relay.pipe(server, client, relay.delayLine("to client"));
                } catch (IOException e) {
                    if (!listener.isClosed()) System.err.println("relay: " + e.getMessage());
                }
            }
        });
        return relay;
    }

    void pipe(Socket from, Socket to, DelayQueue<Due> line) {
        Thread.ofVirtual().start(() -> {
            // Not try-with-resources: closing a socket's stream closes the whole socket, both ways.
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                byte[] buffer = new byte[16 * 1024];
                for (int n; (n = in.read(buffer)) != -1; ) {
                    byte[] chunk = Arrays.copyOf(buffer, n);
                    line.add(new Due(System.nanoTime() + delay.toNanos(), () -> write(out, chunk)));
                }
                line.add(new Due(System.nanoTime() + delay.toNanos(), () -> shutdownOutput(to)));
            } catch (IOException e) {
                line.add(new Due(System.nanoTime() + delay.toNanos(), () -> closeQuietly(to)));
            }
        });
    }

    // tag::udp[]
    /// UDP: datagrams to `listenPort` go to `target`, and the target's replies go back to whoever
    /// sent last; each one `delay` later, unless the generator seeded with `seed` drops it
    /// (with probability `loss`, in each direction).
    static Relay udp(int listenPort, InetSocketAddress target, Duration delay, double loss, long seed) throws IOException {
        var relay = new Relay(delay);
        var front = new DatagramSocket(listenPort);
        var back = new DatagramSocket();
        relay.resources.addAll(List.of(front, back));
        SocketAddress[] client = new SocketAddress[1];
        var toServer = relay.delayLine("to server");
        var toClient = relay.delayLine("to client");
        var dropToServer = new Random(seed);
        var dropToClient = new Random(seed + 1);
        Thread.ofPlatform().daemon().name("relay front").start(() -> relay.forward(front, back, toServer, dropToServer, loss,
                packet -> { client[0] = packet.getSocketAddress(); return target; }));
        Thread.ofPlatform().daemon().name("relay back").start(() -> relay.forward(back, front, toClient, dropToClient, loss,
                packet -> client[0]));
        return relay;
    }

    void forward(DatagramSocket in, DatagramSocket out, DelayQueue<Due> line, Random drop, double loss,
                 java.util.function.Function<DatagramPacket, SocketAddress> destination) {
        byte[] buffer = new byte[65_535];
        while (!in.isClosed()) {
            try {
                var packet = new DatagramPacket(buffer, buffer.length);
                in.receive(packet);
                SocketAddress to = destination.apply(packet);
                if (to == null || drop.nextDouble() < loss) continue;          // lost on the way
                var copy = new DatagramPacket(Arrays.copyOf(packet.getData(), packet.getLength()), packet.getLength(), to);
                line.add(new Due(System.nanoTime() + delay.toNanos(), () -> send(out, copy)));
            } catch (IOException e) {
                if (!in.isClosed()) System.err.println("relay: " + e.getMessage());
            }
        }
    }
    // end::udp[]

    int port() {
        return switch (resources.getFirst()) {
            case ServerSocket s -> s.getLocalPort();
            case DatagramSocket s -> s.getLocalPort();
            default -> throw new IllegalStateException();
        };
    }

    static void write(OutputStream out, byte[] chunk) {
        try {
            out.write(chunk);
        } catch (IOException e) {
            // The receiving side has gone: what was still on its way is lost, as on a real link.
        }
    }

    static void send(DatagramSocket socket, DatagramPacket packet) {
        try {
            socket.send(packet);
        } catch (IOException e) {
            // Nobody there: a datagram lost, which UDP allows.
        }
    }

    static void shutdownOutput(Socket socket) {
        try {
            socket.shutdownOutput();
        } catch (IOException e) {
            closeQuietly(socket);
        }
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // Closing what is already broken.
        }
    }

    @Override
    public void close() {
        resources.forEach(Relay::closeQuietly);
    }

    // ---- The command line. ----

    static final String USAGE = """
            Usage: ./jbang lessons/tools/Relay.java --listen PORT --to HOST:PORT [--udp]
                                                    [--delay MS] [--loss PERCENT] [--seed N] [--help]

            Forwards TCP (or UDP with --udp) from PORT to HOST:PORT, each chunk or datagram
            MS milliseconds late, each way; with --udp, drops PERCENT of the datagrams each way,
            chosen by a random generator seeded with N, so the same seed loses the same ones.

              --listen PORT     where clients connect (0 picks a free port)
              --to HOST:PORT    the real server
              --delay MS        one-way delay (default 0)
              --loss PERCENT    UDP only: the share of datagrams dropped (default 0)
              --seed N          the generator's seed (default 1)
              --help            print this help and exit
            """;

    public static void main(String[] args) throws Exception {
        List<String> rest = new ArrayList<>(List.of(args));
        if (rest.contains("--help") || rest.contains("-h")) {
            System.out.print(USAGE);
            return;
        }
        boolean udp = rest.remove("--udp");
        int listen = number(value(rest, "--listen", null), 0, 65_535, "--listen");
        String to = value(rest, "--to", null);
        int delay = number(value(rest, "--delay", "0"), 0, 60_000, "--delay");
        int loss = number(value(rest, "--loss", "0"), 0, 100, "--loss");
        int seed = number(value(rest, "--seed", "1"), 0, Integer.MAX_VALUE, "--seed");
        if (!rest.isEmpty()) fail("unknown argument: " + rest.getFirst());
        if (to == null || !to.matches(".+:\\d{1,5}")) fail("--to needs HOST:PORT");
        if (loss > 0 && !udp) fail("--loss is for UDP only: TCP would resend whatever the relay dropped");
        var target = new InetSocketAddress(InetAddress.getByName(to.substring(0, to.lastIndexOf(':'))),
                Integer.parseInt(to.substring(to.lastIndexOf(':') + 1)));
        try (Relay relay = udp ? udp(listen, target, Duration.ofMillis(delay), loss / 100.0, seed)
                               : tcp(listen, target, Duration.ofMillis(delay))) {
            System.out.printf("relaying %s port %d to %s, %d ms each way%s%n", udp ? "UDP" : "TCP", relay.port(), to, delay,
                    udp ? ", %d %% lost (seed %d)".formatted(loss, seed) : "");
            Thread.currentThread().join();
        }
    }

    static String value(List<String> rest, String name, String otherwise) {
        int i = rest.indexOf(name);
        if (i < 0) {
            if (otherwise == null) fail(name + " is required");
            return otherwise;
        }
        if (i + 1 == rest.size()) fail(name + " needs a value");
        rest.remove(i);
        return rest.remove(i);
    }

    static int number(String text, int min, int max, String name) {
        if (!text.matches("\\d{1,10}") || Long.parseLong(text) < min || Long.parseLong(text) > max) {
            fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }
        return Integer.parseInt(text);
    }

    static void fail(String problem) {
        System.err.println("error: " + problem);
        System.err.print(USAGE);
        System.exit(2);
    }
}
