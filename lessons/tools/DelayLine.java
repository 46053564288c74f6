///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.NetworkInterface;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;

/// Tool · DelayLine — delay for every packet a router forwards, for kernels without `tc netem`.
///
/// The router's kernel sends each IPv4 packet it forwards into a TUN device (a network interface
/// whose other side is this program) instead of out of its next interface. The program holds each
/// packet for the delay and writes it back into the device; the kernel then forwards it on as if
/// it had just arrived. Unlike the TCP relay (Relay.java), the connection stays one connection
/// end to end, so its window and round-trip time are the real ones: what lesson 24 measures.
///
/// Run it on the router: `sudo ./jbang lessons/tools/Net.java --topology routed on r ./jbang lessons/tools/DelayLine.java --delay 25`
/// (25 ms each way: a round trip through r takes 50 ms longer). IPv6 is not delayed.
/// Read: docs/chapters/24-mtu-and-buffers.adoc
@SuppressWarnings("restricted")     // calling C is restricted: run with --enable-native-access=ALL-UNNAMED
class DelayLine {
    static final String DEVICE = "delay0";
    static final String TABLE = "100";
    static final int IFF_TUN = 0x0001, IFF_NO_PI = 0x1000, O_RDWR = 2;
    static final long TUNSETIFF = 0x400454caL;

    // The C library's open, ioctl, read and write, called through Java's foreign function API.
    static final Linker C = Linker.nativeLinker();
    static final MethodHandle OPEN = C.downcallHandle(C.defaultLookup().find("open").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle IOCTL = C.downcallHandle(C.defaultLookup().find("ioctl").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    static final MethodHandle READ = C.downcallHandle(C.defaultLookup().find("read").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    static final MethodHandle WRITE = C.downcallHandle(C.defaultLookup().find("write").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));

    /// A packet and the time it may leave.
    record Due(long atNanos, byte[] packet) implements Delayed {
        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(atNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            return Long.compare(atNanos, ((Due) other).atNanos);
        }
    }

    /// Opens the TUN device `delay0`: a file descriptor on which each read() returns one packet
    /// the kernel sent into the device, and each write() hands one packet to the kernel.
    static int openTun(Arena arena) throws Throwable {
        int fd = (int) OPEN.invokeExact(arena.allocateFrom("/dev/net/tun"), O_RDWR);
        if (fd < 0) throw new IOException("cannot open /dev/net/tun (root? a kernel with TUN?)");
        MemorySegment ifreq = arena.allocate(40);                   // struct ifreq: name[16], then flags
        byte[] name = DEVICE.getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(name, 0, ifreq, JAVA_BYTE, 0, name.length);
        ifreq.set(JAVA_SHORT, 16, (short) (IFF_TUN | IFF_NO_PI));
        if ((int) IOCTL.invokeExact(fd, TUNSETIFF, ifreq) < 0) throw new IOException("ioctl TUNSETIFF failed");
        return fd;
    }

    // tag::route[]
    /// Routes every IPv4 packet that arrives on `interfaces` into the device: a rule sends them to
    /// table 100, whose only route is the device. Packets that come back out of the device are
    /// not from those interfaces, so the main table forwards them as usual.
    static void route(List<String> interfaces, boolean add) throws IOException {
        if (add) {
            command("ip", "link", "set", DEVICE, "up");
            command("ip", "route", "replace", "default", "dev", DEVICE, "table", TABLE);
            // A packet from a's address coming out of delay0 is not "from where a is": no reverse-path check.
            for (String conf : List.of("all", "default", DEVICE)) command("sysctl", "-q", "-w", "net.ipv4.conf." + conf + ".rp_filter=0");
        }
        for (String nif : interfaces) {
            if (add) command("ip", "rule", "add", "iif", nif, "lookup", TABLE);
            else command("ip", "rule", "del", "iif", nif, "lookup", TABLE);
        }
    }

    // end::route[]

    static void run(int fd, long delayNanos) throws Throwable {
        var line = new DelayQueue<Due>();
        Thread.ofPlatform().daemon().name("writer").start(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(65_536);
                while (true) {
                    byte[] packet = line.take().packet();
                    MemorySegment.copy(packet, 0, out, JAVA_BYTE, 0, packet.length);
                    long written = (long) WRITE.invokeExact(fd, out, (long) packet.length);
                    if (written < 0) System.err.println("delay line: a packet could not be written back");
                }
            } catch (Throwable e) {
                System.err.println("delay line: " + e);
            }
        });
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(65_536);
            while (true) {
                long n = (long) READ.invokeExact(fd, in, 65_536L);
                if (n < 0) throw new IOException("read from " + DEVICE + " failed");
                line.add(new Due(System.nanoTime() + delayNanos, in.asSlice(0, n).toArray(JAVA_BYTE)));
            }
        }
    }

    /// Runs a command to its end; a non-zero exit is an IOException with its output.
    static void command(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) throw new IOException(String.join(" ", command) + ": " + out.strip());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
    }

    static final String USAGE = """
            Usage: ./jbang lessons/tools/DelayLine.java --delay MS [--help]   (as root, on a router)

            Delays every IPv4 packet this host forwards by MS milliseconds, through a TUN device
            (delay0). Every interface but lo is delayed, in both directions: a round trip through
            this host takes 2 x MS longer. Ctrl-C removes the device and its routing rules.
            """;

    public static void main(String[] args) throws Throwable {
        if (args.length != 2 || !args[0].equals("--delay") || !args[1].matches("\\d{1,5}")) {
            if (List.of(args).contains("--help")) {
                System.out.print(USAGE);
                return;
            }
            System.err.println("error: say --delay MS");
            System.err.print(USAGE);
            System.exit(2);
        }
        int delay = Integer.parseInt(args[1]);
        List<String> interfaces = new ArrayList<>();
        for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nif.isLoopback() && !nif.getName().equals(DEVICE)) interfaces.add(nif.getName());
        }
        Arena arena = Arena.global();
        int fd = openTun(arena);
        route(interfaces, true);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                route(interfaces, false);                // the device goes when the process does
            } catch (IOException e) {
                System.err.println("delay line: " + e.getMessage());
            }
        }));
        System.out.printf("delaying every IPv4 packet forwarded from %s by %d ms, through %s%n", interfaces, delay, DEVICE);
        run(fd, TimeUnit.MILLISECONDS.toNanos(delay));
    }
}
