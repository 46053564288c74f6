///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.BindException;
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
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/// Lesson 10 · The concurrent server — a thread per connection: the acceptor goes straight back to accept.
///
/// Run it: `./jbang lessons/10_ConcurrentServer.java [--threads platform|virtual] [--demo-clients 10000]`;
/// talk to it from several terminals: `nc -N localhost 1234`.
/// Chapter: docs/chapters/10-concurrent-server.adoc · Test: lessons/test/ConcurrentServerTest.java
/// Not here: a bound on threads and a busy answer when it is reached (lesson 11), many clients on
/// one thread (lesson 08), a read timeout for silent clients (lesson 04 shows timeouts).
class ConcurrentServer {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;
    /// The accept queue: how many finished handshakes the kernel keeps until we call accept().
    /// 4096, not the JDK's default of 50: a thread-per-connection server is the one that meets
    /// bursts, and a burst beyond the queue has its SYNs dropped (each such client sends its SYN
    /// again 1 s later, then 2 s, 4 s ...). Linux caps the value at net.core.somaxconn (4096 here).
    static final int DEFAULT_BACKLOG = 4096;

    enum Threads { PLATFORM, VIRTUAL }

    /// A running server: its port, the connections it holds (one handler thread each), `close()`.
    record Server(ServerSocket listener, Threads threads, Set<Socket> connections, Thread acceptor)
            implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket connection : connections) connection.close();
        }
    }

    static Server start(int port, Threads threads) throws IOException {
        return start(port, threads, DEFAULT_BACKLOG);
    }

    // tag::start[]
    static Server start(int port, Threads threads, int backlog) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), backlog);
        Set<Socket> connections = ConcurrentHashMap.newKeySet();
        // One builder makes every handler thread: the only line that differs between the two kinds.
        Thread.Builder handlers = threads == Threads.VIRTUAL ? Thread.ofVirtual() : Thread.ofPlatform();
        Thread acceptor = Thread.ofPlatform().name("acceptor")
                .start(() -> acceptLoop(listener, connections, handlers));
        return new Server(listener, threads, connections, acceptor);
    }

    static void acceptLoop(ServerSocket listener, Set<Socket> connections, Thread.Builder handlers) {
        while (!listener.isClosed()) {
            try {
                trace("waiting in accept() for the next client");
                Socket client = listener.accept();
                connections.add(client);
                trace("accepted %s; starting its thread", client.getRemoteSocketAddress());
                try {
                    handlers.name("client " + client.getPort()).start(() -> serve(client, connections));
                } catch (OutOfMemoryError e) {   // "unable to create native thread": the OS said no
                    log("no thread for %s (%s); closing it", client.getRemoteSocketAddress(), e.getMessage());
                    connections.remove(client);
                    client.close();
                }
            } catch (IOException e) {
                if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
            }
        }
        log("listening socket closed; no more clients");
    }
    // end::start[]

    // tag::serve[]
    static void serve(Socket client, Set<Socket> connections) {
        try (client) {
            client.setTcpNoDelay(true);         // send each short reply now, do not wait to batch it
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = new BufferedOutputStream(client.getOutputStream());
            try {
                for (String line; (line = readLine(in, MAX_LINE)) != null; ) {
                    trace("read \"%s\"; answering", line);
                    out.write(("ECHO " + line + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
                trace("end of stream: the client left");
            } catch (LineTooLongException e) {
                log("refused %s: %s", client.getRemoteSocketAddress(), e.getMessage());
                refuse(client, "ERROR " + e.getMessage() + "; closing");
            }
        } catch (IOException e) {
            trace("connection ended: %s", e.getMessage());
        } finally {
            connections.remove(client);
        }
    }
    // end::serve[]

    /// Reads bytes up to the next `\n` and returns them as text without the line ending, or null at
    /// end of stream. A line longer than `max` bytes is refused before it can fill memory.
    static String readLine(InputStream in, int max) throws IOException {
        var line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b == -1) return line.size() == 0 ? null : text(line);
            if (b == '\n') return text(line);
            if (line.size() == max) throw new LineTooLongException("line longer than " + max + " bytes");
            line.write(b);
        }
    }

    static String text(ByteArrayOutputStream bytes) {
        String s = bytes.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /// Sends a last line, then FIN, and drains what the client still sends (see lesson 05).
    static void refuse(Socket client, String message) throws IOException {
        client.getOutputStream().write((message + "\n").getBytes(StandardCharsets.UTF_8));
        client.shutdownOutput();
        client.setSoTimeout(2_000);
        try {
            client.getInputStream().skip(1 << 20);
        } catch (SocketTimeoutException e) {
            // The client went quiet without closing: we waited long enough.
        }
    }

    static final class LineTooLongException extends IOException {
        LineTooLongException(String message) {
            super(message);
        }
    }

    // tag::demo[]
    /// What this process costs right now, from the JVM and from the kernel's /proc/self/status.
    record Usage(int platformThreads, long osThreads, long heapBytes, long residentKb, long addressSpaceKb) {
        static Usage now() {
            System.gc();                        // count live objects, not garbage
            return new Usage(ManagementFactory.getThreadMXBean().getThreadCount(), status("Threads:"),
                    ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(),
                    status("VmRSS:"), status("VmSize:"));
        }

        static long status(String field) {
            try {
                return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith(field))
                        .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElse(-1);
            } catch (IOException e) {
                return -1;                      // not Linux: no /proc
            }
        }
    }

    static void demo(Server server, int clients) throws Exception {
        Usage before = Usage.now();
        // The clients live in another JVM: one process holding both ends would need 2 fds a connection.
        log("demo: starting a separate client process to open %,d connections", clients);
        Process holder = new ProcessBuilder(holderCommand(server.port(), clients)).redirectErrorStream(true).start();
        var fromHolder = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
        for (int i = 0; i < 2; i++) log("holder: %s", fromHolder.readLine());   // "connecting", then the summary
        Usage after = Usage.now();
        int held = server.connections().size();
        log("demo: the server holds %,d connections, one %s thread each", held,
                server.threads().name().toLowerCase(Locale.ROOT));
        report("platform threads (JVM)", before.platformThreads(), after.platformThreads(), held, "");
        report("threads (kernel)", before.osThreads(), after.osThreads(), held, "");
        report("heap used, KiB", before.heapBytes() / 1024, after.heapBytes() / 1024, held, " KiB");
        report("resident memory, KiB", before.residentKb(), after.residentKb(), held, " KiB");
        report("address space, KiB", before.addressSpaceKb(), after.addressSpaceKb(), held, " KiB");
        log("demo: look at them now, e.g. ss -tan state established '( sport = :%d )' | wc -l", server.port());
        log("demo: press Enter (or end stdin) to close them and exit");
        System.in.read();
        holder.getOutputStream().close();       // the holder closes its connections and exits
        holder.waitFor();
    }

    static void report(String what, long before, long after, int held, String unit) {
        String each = held == 0 ? "" : "%.1f%s each".formatted((after - before) / (double) held, unit);
        log("demo: %-24s before %,12d  after %,12d  %s", what, before, after, each);
    }

    /// The same program, started again in client mode: `java -cp ... ConcurrentServer --hold N`, or
    /// `java lessons/10_ConcurrentServer.java --hold N` when run by the JDK's source launcher.
    static List<String> holderCommand(int port, int clients) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String sourceFile = System.getProperty("jdk.launcher.sourcefile");
        if (sourceFile != null) {
            command.add(sourceFile);
        } else {
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), ConcurrentServer.class.getName()));
        }
        command.addAll(List.of("--hold", String.valueOf(clients), "--port", String.valueOf(port)));
        return command;
    }

    // end::demo[]
    // tag::hold[]
    /// Client mode: N connections at once, one line on each, then hold them until stdin ends.
    static void hold(int port, int count) throws Exception {
        Socket[] sockets = new Socket[count];
        var answered = new AtomicInteger();
        var otherReply = new AtomicInteger();
        var lastConnected = new AtomicLong();
        var done = new CountDownLatch(count);
        System.out.printf("connecting %,d clients to port %d at once%n", count, port);
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            int n = i;
            Thread.ofVirtual().start(() -> {
                try {
                    sockets[n] = new Socket(InetAddress.getLoopbackAddress(), port);   // the kernel's handshake
                    lastConnected.accumulateAndGet(System.nanoTime(), Math::max);
                    sockets[n].setSoTimeout(10_000);
                    sockets[n].getOutputStream().write(("hello " + n + "\n").getBytes(StandardCharsets.UTF_8));
                    var in = new BufferedReader(new InputStreamReader(sockets[n].getInputStream(), StandardCharsets.UTF_8));
                    String reply = in.readLine();
                    if (("ECHO hello " + n).equals(reply)) answered.incrementAndGet();   // a server thread read it
                    else if (reply != null) otherReply.incrementAndGet();               // e.g. "BUSY try later"
                } catch (IOException e) {
                    // Reset, or no reply within 10 s: not answered.
                } finally {
                    done.countDown();
                }
            });
        }
        done.await();
        System.out.printf("%,d of %,d answered, %,d got another reply; all connects returned after %,d ms, "
                + "all replies (or 10 s timeouts) after %,d ms%n", answered.get(), count, otherReply.get(),
                (lastConnected.get() - start) / 1_000_000, (System.nanoTime() - start) / 1_000_000);
        System.in.transferTo(OutputStream.nullOutputStream());  // hold until stdin ends
        for (Socket s : sockets) if (s != null) s.close();
    }
    // end::hold[]

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/10_ConcurrentServer.java [options]

            A line echo server ("ECHO <line>") with one thread per connection.

              --port N           the TCP port (default %d; 0 picks any free port)
              --threads KIND     platform or virtual (default virtual)
              --backlog N        the listen backlog (default %d; the JDK's own default is 50)
              --demo-clients N   load the server with N idle connections held by a separate
                                 client process, and report what the threads cost
              --hold N           be that client process: open N connections to --port, send one
                                 line on each, hold them until stdin ends
              --help             print this help and exit

            Then, in other terminals:  nc -N localhost 1234
            (-N: when you press Ctrl-D, nc shuts down its sending side, and the server sees end of stream)
            java -Dsocketlab.quiet=true lessons/10_ConcurrentServer.java (a JDK 25 java) narrates no
            connection or line: the demo then prints only its figures.
            """.formatted(DEFAULT_PORT, DEFAULT_BACKLOG);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        Threads threads = switch (commandLine.text("--threads", "virtual")) {
            case "platform" -> Threads.PLATFORM;
            case "virtual" -> Threads.VIRTUAL;
            case String other -> throw commandLine.fail("--threads is platform or virtual, not " + other);
        };
        int backlog = commandLine.number("--backlog", DEFAULT_BACKLOG, 1, 65_535);
        int demoClients = commandLine.number("--demo-clients", 0, 0, 1_000_000);
        int hold = commandLine.number("--hold", 0, 0, 1_000_000);
        commandLine.done();
        if (hold > 0) {
            hold(port, hold);
            return;
        }
        try (Server server = start(port, threads, backlog)) {
            log("listening on %s:%d (a %s thread per connection, backlog %d); try: nc -N localhost %d",
                    server.listener().getInetAddress().getHostAddress(), server.port(),
                    threads.name().toLowerCase(Locale.ROOT), backlog, server.port());
            if (demoClients > 0) demo(server, demoClients);
            else server.acceptor().join();
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
