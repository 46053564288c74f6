///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/// Tool · Net — a small network of hosts on one machine, made of Linux network namespaces.
///
/// Each host is a namespace with its own interfaces, addresses, routes, ports and firewall; hosts
/// are joined by veth pairs (a virtual cable: what goes in one end comes out of the other). Nothing
/// leaves the machine: every address is inside the namespaces.
///
/// Run it (as root): `sudo ./jbang lessons/tools/Net.java up`, then in another terminal
/// `sudo ./jbang lessons/tools/Net.java on a ./jbang lessons/21_BindAddresses.java` and
/// `sudo ./jbang lessons/tools/Net.java on b nc -N a 1234`.
/// Read: docs/chapters/21-bind-addresses.adoc (and 22, which cuts its cable)
class Net implements AutoCloseable {
    static final String DEFAULT_PREFIX = "socketlab";

    /// `pair`: hosts a and b on one link. `routed`: a and b on two links, with router r between.
    /// `lan`: hosts a, b and c on one switch (a bridge in a namespace of its own, sw), for
    /// broadcast and multicast, which need more than two hosts on one link to show who receives.
    enum Topology { PAIR, ROUTED, LAN }

    /// A host: its name in the course (a, b, r) and its namespace.
    record Host(String name, String namespace) {
    }

    /// One end of a cable: the host, the interface's name there (eth0, eth1), its addresses.
    record End(Host host, String device, List<String> addresses) {
    }

    /// A cable between two hosts: `a-b`, or `a-r` and `r-b`.
    record Link(String name, Host left, String leftInterface, List<String> leftAddresses,
                Host right, String rightInterface, List<String> rightAddresses) {
        List<End> ends() {
            return List.of(new End(left, leftInterface, leftAddresses), new End(right, rightInterface, rightAddresses));
        }
    }

    final String prefix;
    final Topology topology;
    final List<Host> hosts = new ArrayList<>();
    final List<Link> links = new ArrayList<>();

    private Net(String prefix, Topology topology) {
        this.prefix = prefix;
        this.topology = topology;
    }


    // tag::build[]
    /// The hosts and cables of a topology, with their addresses; nothing is made yet.
    static Net plan(Topology topology, String prefix) {
        var net = new Net(prefix, topology);
        var a = net.plannedHost("a");
        var b = net.plannedHost("b");
        if (topology == Topology.LAN) {
            var c = net.plannedHost("c");
            var sw = net.plannedHost("sw");
            for (Host host : List.of(a, b, c)) {
                int n = host.name().charAt(0) - 'a' + 1;
                net.links.add(new Link(host.name() + "-sw", host, "eth0", List.of("10.10.3." + n + "/24", "fd10:10:3::" + n + "/64"),
                        sw, "to-" + host.name(), List.of()));
            }
        } else if (topology == Topology.PAIR) {
            net.links.add(new Link("a-b", a, "eth0", List.of("10.10.1.1/24", "fd10:10:1::1/64"),
                    b, "eth0", List.of("10.10.1.2/24", "fd10:10:1::2/64")));
        } else {
            var r = net.plannedHost("r");
            net.links.add(new Link("a-r", a, "eth0", List.of("10.10.1.1/24", "fd10:10:1::1/64"),
                    r, "eth0", List.of("10.10.1.254/24", "fd10:10:1::fe/64")));
            net.links.add(new Link("r-b", r, "eth1", List.of("10.10.2.254/24", "fd10:10:2::fe/64"),
                    b, "eth0", List.of("10.10.2.1/24", "fd10:10:2::1/64")));
        }
        return net;
    }

    /// Builds the topology. Namespaces left by an earlier run with the same prefix are removed first.
    static Net build(Topology topology, String prefix) throws IOException {
        removeLeftovers(prefix);
        Net net = plan(topology, prefix);
        try {
            for (Host host : net.hosts) {
                // A namespace starts with nothing but a loopback interface, and that one down.
                command("ip", "netns", "add", host.namespace());
                command("ip", "-n", host.namespace(), "link", "set", "lo", "up");
            }
            for (Link link : net.links) net.connect(link);
            if (topology == Topology.LAN) {
                // The switch: a bridge joining the cables' far ends. Without multicast snooping it
                // floods multicast to every port, as a simple switch does; each host's kernel keeps
                // only what a socket on it has joined.
                net.run("sw", "ip", "link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
                for (Link link : net.links) net.run("sw", "ip", "link", "set", link.rightInterface(), "master", "br0");
                net.run("sw", "ip", "link", "set", "br0", "up");
            }
            if (topology == Topology.ROUTED) {
                // Make r a router: it forwards packets that are not for itself.
                net.run("r", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
                net.run("r", "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
                // Tell a and b to send everything they have no route for to r.
                net.run("a", "ip", "route", "add", "default", "via", "10.10.1.254");
                net.run("a", "ip", "-6", "route", "add", "default", "via", "fd10:10:1::fe");
                net.run("b", "ip", "route", "add", "default", "via", "10.10.2.254");
                net.run("b", "ip", "-6", "route", "add", "default", "via", "fd10:10:2::fe");
            }
            net.writeHostsFiles();
        } catch (IOException | RuntimeException e) {
            net.close();
            throw e;
        }
        return net;
    }

    /// Joins two hosts with a veth pair, gives each end its addresses and brings both ends up.
    /// IPv6 addresses skip duplicate-address detection (nodad): usable at once, not a second later.
    /// IPv4 addresses get their subnet's broadcast address (`broadcast +`: 10.10.1.255 for /24).
    void connect(Link link) throws IOException {
        command("ip", "link", "add", link.leftInterface(), "netns", link.left().namespace(), "type", "veth",
                "peer", "name", link.rightInterface(), "netns", link.right().namespace());
        for (End end : link.ends()) {
            for (String address : end.addresses()) {
                List<String> add = new ArrayList<>(List.of("ip", "-n", end.host().namespace(), "addr", "add",
                        address, "dev", end.device()));
                if (address.contains(":")) add.add("nodad"); else add.addAll(List.of("broadcast", "+"));
                command(add.toArray(String[]::new));
            }
            command("ip", "-n", end.host().namespace(), "link", "set", end.device(), "up");
        }
    }
    // end::build[]

    Host plannedHost(String name) {
        var host = new Host(name, prefix + "-" + name);
        hosts.add(host);
        return host;
    }

    /// Every address of a host, on all its links: IPv4 then IPv6 for each.
    List<String> addresses(Host host) {
        return links.stream().flatMap(l -> l.ends().stream()).filter(e -> e.host().equals(host))
                .flatMap(e -> e.addresses().stream()).toList();
    }

    /// `ip netns exec` makes /etc/netns/NAMESPACE/hosts the /etc/hosts of what it runs: there each
    /// host finds the others by name, IPv6 first, as a resolver usually orders them.
    void writeHostsFiles() throws IOException {
        var lines = new StringBuilder("127.0.0.1 localhost\n::1 localhost\n");
        for (Host host : hosts) {
            List<String> all = addresses(host);
            for (String v6 : all.stream().filter(a -> a.contains(":")).toList()) {
                lines.append(bare(v6)).append(' ').append(host.name()).append('\n');
            }
            for (String v4 : all.stream().filter(a -> !a.contains(":")).toList()) {
                lines.append(bare(v4)).append(' ').append(host.name()).append('\n');
            }
        }
        for (Host host : hosts) {
            Path dir = Path.of("/etc/netns", host.namespace());
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("hosts"), lines.toString());
        }
    }

    static String bare(String cidr) {
        return cidr.substring(0, cidr.indexOf('/'));
    }

    Host host(String name) {
        return hosts.stream().filter(h -> h.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no host " + name + " in this network: "
                        + hosts.stream().map(Host::name).toList()));
    }

    Link link(String name) {
        return links.stream().filter(l -> l.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no link " + name + " in this network: "
                        + links.stream().map(Link::name).toList()));
    }

    /// The first IPv4 (`v6` false) or IPv6 address of a host, without its prefix length.
    String address(String host, boolean v6) {
        return bare(addresses(host(host)).stream().filter(a -> a.contains(":") == v6).findFirst().orElseThrow());
    }

    // tag::controls[]
    /// Cuts the cable in the middle (`cut` true) or mends it: every packet that reaches either end
    /// is dropped, and both ends stay up, so neither host's kernel learns anything. Packets leave
    /// and vanish, as when a cable is pulled somewhere between two routers.
    void cut(String link, boolean cut) throws IOException {
        for (End end : link(link).ends()) {
            String table = "cable-" + end.device();
            run(end.host().name(), "nft", "add", "table", "netdev", table);
            run(end.host().name(), "nft", "delete", "table", "netdev", table);
            if (cut) {
                run(end.host().name(), "nft", "add", "table", "netdev", table);
                run(end.host().name(), "nft", "add", "chain", "netdev", table, "ingress",
                        "{ type filter hook ingress device " + end.device() + " priority 0 ; policy drop ; }");
            }
        }
    }

    /// Takes both ends of a link down (`up` false) or up again. Unlike a cut, each host's kernel
    /// sees its own interface go down and stops sending at once.
    void link(String link, boolean up) throws IOException {
        for (End end : link(link).ends()) {
            command("ip", "-n", end.host().namespace(), "link", "set", end.device(), up ? "up" : "down");
        }
    }

    /// Limits how fast both ends of a link send, with a token bucket filter (tc tbf).
    void rate(String link, String rate) throws IOException {
        for (End end : link(link).ends()) {
            command("ip", "netns", "exec", end.host().namespace(), "tc", "qdisc", "replace", "dev", end.device(),
                    "root", "tbf", "rate", rate, "burst", "32kbit", "latency", "400ms");
        }
    }

    /// Sets the largest packet both ends of a link send (the MTU).
    void mtu(String link, int bytes) throws IOException {
        for (End end : link(link).ends()) {
            command("ip", "-n", end.host().namespace(), "link", "set", end.device(), "mtu", String.valueOf(bytes));
        }
    }

    enum Firewall { OPEN, DROP, REJECT }

    /// A firewall on `host` for TCP `port`: DROP says nothing (a connect waits and retries),
    /// REJECT answers with a reset (a connect is refused at once), OPEN removes the rule.
    void firewall(String host, int port, Firewall rule) throws IOException {
        run(host, "nft", "add", "table", "inet", "course");
        run(host, "nft", "add", "chain", "inet", "course", "input", "{ type filter hook input priority 0 ; policy accept ; }");
        run(host, "nft", "flush", "chain", "inet", "course", "input");
        switch (rule) {
            case OPEN -> { }
            case DROP -> run(host, "nft", "add", "rule", "inet", "course", "input", "tcp", "dport", String.valueOf(port), "drop");
            case REJECT -> run(host, "nft", "add", "rule", "inet", "course", "input", "tcp", "dport", String.valueOf(port),
                    "reject", "with", "tcp", "reset");
        }
    }
    // end::controls[]

    /// A command to run on `host`: `ip netns exec NAMESPACE command...`.
    ProcessBuilder on(String host, List<String> command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", host(host).namespace()));
        full.addAll(command);
        return new ProcessBuilder(full);
    }

    /// Runs a short command on `host` to its end: a sysctl, a route, a firewall rule.
    String run(String host, String... command) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", host(host).namespace()));
        full.addAll(List.of(command));
        return command(full.toArray(String[]::new));
    }

    /// What was built, as a learner reads it: hosts, their addresses, and the cables.
    String describe() {
        var out = new StringBuilder("network '%s' (%s):%n".formatted(prefix, topology.name().toLowerCase()));
        for (Host host : hosts) {
            out.append("  host %-2s namespace %-14s %s%n".formatted(host.name(), host.namespace(),
                    String.join("  ", addresses(host))));
        }
        for (Link link : links) {
            out.append("  link %-4s %s:%s <-> %s:%s%n".formatted(link.name(), link.left().name(),
                    link.leftInterface(), link.right().name(), link.rightInterface()));
        }
        return out.toString();
    }

    /// Removes every namespace this network made (their veth ends go with them) and their hosts files.
    @Override
    public void close() throws IOException {
        removeLeftovers(prefix);
        hosts.clear();
        links.clear();
    }

    /// Removes the namespaces and hosts files named `prefix-*`: what an earlier run left if it crashed.
    static void removeLeftovers(String prefix) throws IOException {
        for (String namespace : namespaces()) {
            if (namespace.startsWith(prefix + "-")) command("ip", "netns", "delete", namespace);
        }
        Path etc = Path.of("/etc/netns");
        if (!Files.isDirectory(etc)) return;
        try (Stream<Path> dirs = Files.list(etc)) {
            for (Path dir : dirs.filter(d -> d.getFileName().toString().startsWith(prefix + "-")).toList()) {
                try (Stream<Path> files = Files.walk(dir)) {
                    for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
                }
            }
        }
    }

    /// The namespaces that exist now, as `ip netns list` names them.
    static List<String> namespaces() throws IOException {
        String out = command("ip", "netns", "list");
        return out.lines().map(line -> line.split(" ")[0]).filter(s -> !s.isBlank()).toList();
    }

    /// Whether this machine can build the network, or the one line that says why not.
    static String unavailable() {
        if (!System.getProperty("os.name").equals("Linux")) return "needs Linux: network namespaces are a Linux feature";
        try {
            if (!command("id", "-u").strip().equals("0")) return "needs root: run it with sudo (namespaces and veth pairs are root's)";
            command("ip", "-V");
        } catch (IOException e) {
            return "needs the ip command (Debian and Ubuntu: apt install iproute2): " + e.getMessage();
        }
        return null;
    }

    /// Runs a command to the end and returns its output; a non-zero exit is an IOException saying what failed.
    static String command(String... command) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run " + command[0] + ": " + e.getMessage(), e);
        }
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": no answer within 30 s");
            }
            if (p.exitValue() != 0) throw new IOException(String.join(" ", command) + ": " + out.strip());
            return out;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
    }

    // ---- The command line. ----

    static final String USAGE = """
            Usage: sudo ./jbang lessons/tools/Net.java [--topology pair|routed|lan] [--prefix NAME] COMMAND

            Builds a small network of hosts from Linux network namespaces, on this machine only.
              pair    hosts a (10.10.1.1, fd10:10:1::1) and b (10.10.1.2, fd10:10:1::2) on link a-b
              routed  a (10.10.1.1) - router r - b (10.10.2.1), links a-r and r-b
              lan     a, b, c (10.10.3.1, .2, .3) on one switch sw, links a-sw, b-sw, c-sw
            Hosts know each other by name (a, b, r).

            Commands:
              up                       build it, show it, keep it until Ctrl-C, then remove it
              on HOST COMMAND...       run COMMAND on HOST (in a network that is up, or in one
                                       built for the command and removed after it)
              cut LINK / mend LINK     cut a cable in the middle (packets vanish), or mend it
              link LINK up|down        take both ends of a link down, or up
              rate LINK RATE           limit a link's rate, e.g. 1mbit
              mtu LINK BYTES           set a link's MTU
              firewall HOST PORT drop|reject|open
              show                     what exists now
              down                     remove everything this tool made (after a crash, say)

              --topology T  pair (default), routed or lan
              --prefix NAME the namespaces' names start with NAME- (default %s)
              --help        print this help and exit
            """.formatted(DEFAULT_PREFIX);

    public static void main(String[] args) throws Exception {
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        if (rest.isEmpty() || rest.contains("--help") || rest.contains("-h")) {
            if (rest.isEmpty()) fail("say what to do: up, on, cable, rate, mtu, firewall, show or down");
            System.out.print(USAGE);
            return;
        }
        Topology topology = Topology.PAIR;
        String prefix = DEFAULT_PREFIX;
        while (rest.getFirst().startsWith("--")) {
            String option = rest.removeFirst();
            if (rest.isEmpty()) fail(option + " needs a value");
            String value = rest.removeFirst();
            switch (option) {
                case "--topology" -> topology = switch (value) {
                    case "pair" -> Topology.PAIR;
                    case "routed" -> Topology.ROUTED;
                    case "lan" -> Topology.LAN;
                    default -> throw fail("--topology is pair, routed or lan, not '" + value + "'");
                };
                case "--prefix" -> prefix = value;
                default -> fail("unknown option: " + option);
            }
            if (rest.isEmpty()) fail("say what to do: up, on, cable, rate, mtu, firewall, show or down");
        }
        String why = unavailable();
        if (why != null) {
            System.err.println("Net: " + why);
            System.exit(1);
        }
        String verb = rest.removeFirst();
        try {
            System.exit(run(verb, rest, topology, prefix));
        } catch (IllegalArgumentException | IOException e) {
            System.err.println("Net: " + e.getMessage());
            System.exit(1);
        }
    }

    static int run(String verb, List<String> rest, Topology topology, String prefix) throws Exception {
        switch (verb) {
            case "up" -> {
                Net net = build(topology, prefix);
                Runtime.getRuntime().addShutdownHook(new Thread(() -> closeQuietly(net)));
                System.out.print(net.describe());
                System.out.println("up; in another terminal: sudo ./jbang lessons/tools/Net.java on a COMMAND. Ctrl-C removes it.");
                Thread.currentThread().join();
                return 0;
            }
            case "on" -> {
                if (rest.size() < 2) throw fail("on needs a host and a command: on a nc -N b 1234");
                String host = rest.removeFirst();
                boolean ours = namespaces().stream().noneMatch(ns -> ns.equals(prefix + "-" + host));
                Net net = ours ? build(topology, prefix) : existing(topology, prefix);
                if (ours) System.err.print(net.describe());
                Process p = net.on(host, rest).inheritIO().start();
                // Stopping this tool stops the command too (nothing keeps running on the host
                // unseen), then removes the network if it was built for this command.
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    p.descendants().forEach(ProcessHandle::destroy);
                    p.destroy();
                    try {
                        p.waitFor(5, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    if (ours) closeQuietly(net);
                }));
                return p.waitFor();
            }
            case "cut", "mend" -> {
                if (rest.size() != 1) throw fail(verb + " LINK, e.g. " + verb + " a-b");
                existing(topology, prefix).cut(rest.get(0), verb.equals("cut"));
            }
            case "link" -> {
                if (rest.size() != 2 || !List.of("up", "down").contains(rest.get(1))) throw fail("link LINK up|down");
                existing(topology, prefix).link(rest.get(0), rest.get(1).equals("up"));
            }
            case "rate" -> {
                if (rest.size() != 2) throw fail("rate LINK RATE, e.g. rate a-b 1mbit");
                existing(topology, prefix).rate(rest.get(0), rest.get(1));
            }
            case "mtu" -> {
                if (rest.size() != 2 || !rest.get(1).matches("\\d{3,5}")) throw fail("mtu LINK BYTES, e.g. mtu a-b 1280");
                existing(topology, prefix).mtu(rest.get(0), Integer.parseInt(rest.get(1)));
            }
            case "firewall" -> {
                if (rest.size() != 3 || !rest.get(1).matches("\\d{1,5}")) throw fail("firewall HOST PORT drop|reject|open");
                Firewall rule = switch (rest.get(2)) {
                    case "drop" -> Firewall.DROP;
                    case "reject" -> Firewall.REJECT;
                    case "open" -> Firewall.OPEN;
                    default -> throw fail("firewall HOST PORT drop|reject|open, not '" + rest.get(2) + "'");
                };
                existing(topology, prefix).firewall(rest.get(0), Integer.parseInt(rest.get(1)), rule);
            }
            case "show" -> {
                List<String> ours = namespaces().stream().filter(ns -> ns.startsWith(prefix + "-")).toList();
                System.out.println(ours.isEmpty() ? "no network is up" : existing(topology, prefix).describe());
            }
            case "down" -> removeLeftovers(prefix);
            default -> throw fail("unknown command: " + verb);
        }
        return 0;
    }

    /// The network another run of this tool built, as its topology lays it out.
    static Net existing(Topology topology, String prefix) throws IOException {
        List<String> present = namespaces().stream().filter(ns -> ns.startsWith(prefix + "-")).toList();
        if (present.isEmpty()) throw new IOException("no network is up: start one with: sudo ./jbang lessons/tools/Net.java up");
        return plan(present.contains(prefix + "-r") ? Topology.ROUTED
                : present.contains(prefix + "-sw") ? Topology.LAN : Topology.PAIR, prefix);
    }

    static void closeQuietly(Net net) {
        try {
            net.close();
            System.err.println("network '" + net.prefix + "' removed");
        } catch (IOException e) {
            System.err.println("could not remove network '" + net.prefix + "': " + e.getMessage()
                    + "; run: sudo ./jbang lessons/tools/Net.java down");
        }
    }

    static IllegalArgumentException fail(String problem) {
        System.err.println("error: " + problem);
        System.err.print(USAGE);
        System.exit(2);
        return new IllegalArgumentException(problem);
    }
}
