///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/// Lesson 18 · Daemon — a server run as a Linux service: one log line per event, a graceful stop on SIGTERM.
///
/// Run it: `./jbang lessons/18_Daemon.java [--port 1234]`; talk to it: `nc -N localhost 1234`;
/// stop it: `kill PID`. As a service: lessons/18_Daemon.service and lessons/18_Daemon.socket.
/// Chapter: docs/chapters/18-daemon.adoc · Test: lessons/test/DaemonTest.java ·
/// Lab: labs/09-service
/// Not here: many clients on one thread (lesson 08), a bounded number of threads (lesson 11),
/// readiness reported to systemd (`Type=notify` needs a library); TLS (lesson 16).
class Daemon {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;
    /// How many finished connections the kernel may hold for us before accept() takes them: as in
    /// lesson 05, so that a crowd does not wait in SYN retries. Under socket activation the .socket
    /// unit's Backlog= (the same number) applies, and the queue also holds whoever connects while
    /// the service starts or restarts.
    static final int BACKLOG = 1024;
    /// How long a handler, or the acceptor, waits before it looks up: is the server going down?
    static final Duration POLL = Duration.ofMillis(200);
    /// The longest a graceful stop may take; the unit's TimeoutStopSec= is longer, so we finish first.
    static final Duration DRAIN_LIMIT = Duration.ofSeconds(3);
    static final String GOODBYE = "BYE the server is going down";

    // tag::log[]
    /// One line per event. journald stamps time, unit and PID itself, and reads an optional `<N>`
    /// priority prefix (sd-daemon(3)); colour codes only make sense for a human at a terminal.
    /// (The daemon logs with these, not with the plain `log` every lesson shares below.)
    static final boolean TERMINAL = System.console() != null && System.console().isTerminal()
            && System.getenv("NO_COLOR") == null;
    static final boolean JOURNAL = System.getenv("JOURNAL_STREAM") != null;   // set by systemd for stdout

    static void info(String format, Object... args) {
        write(6, "INFO", "\u001b[32m", format.formatted(args));
    }

    static void warn(String format, Object... args) {
        write(4, "WARN", "\u001b[33m", format.formatted(args));
    }

    static void write(int priority, String level, String colour, String message) {
        String line = JOURNAL ? "<%d>%s".formatted(priority, message)
                : TERMINAL ? "%tT %s%s\u001b[0m [%s] %s".formatted(LocalTime.now(), colour, level,
                        Thread.currentThread().getName(), message)
                : "%tT %s [%s] %s".formatted(LocalTime.now(), level, Thread.currentThread().getName(), message);
        System.out.println(line);        // one println, one line: lines from threads never interleave
    }
    // end::log[]

    /// A running server: the listening socket (and whether it is ours to close), each connection
    /// with the thread that serves it.
    record Server(ServerSocket listener, boolean ownsListener, Map<Socket, Thread> connections,
                  AtomicBoolean draining, Thread acceptor) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        // tag::drain[]
        /// Stops accepting, lets every handler answer what it has and say goodbye, waits at most `limit`.
        /// Returns true when every connection finished by itself.
        boolean drain(Duration limit) throws InterruptedException {
            long deadline = System.nanoTime() + limit.toNanos();
            draining.set(true);
            // Our own listening socket we close: from now on the kernel refuses new clients. One from
            // systemd we leave open: systemd holds it too, so it stays open anyway and new clients
            // queue there for the next start (and closing the JDK's inherited channel would also
            // point stdout, our log, at /dev/null).
            if (ownsListener) closeQuietly(listener);
            acceptor.join(remaining(deadline));    // it looks up within POLL
            for (Thread handler : connections.values()) {
                handler.join(remaining(deadline));
            }
            boolean clean = connections.isEmpty();
            for (Socket late : connections.keySet()) {
                warn("%s still busy after %s: closing it", late.getRemoteSocketAddress(), limit);
                say(late, GOODBYE);
                closeQuietly(late);
            }
            return clean;
        }
        // end::drain[]

        static Duration remaining(long deadline) {
            return Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
        }

        @Override
        public void close() throws IOException {
            draining.set(true);
            listener.close();
            for (Socket connection : connections.keySet()) connection.close();
        }
    }

    // tag::start[]
    /// Opens its own listening socket on loopback.
    static Server start(int port) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        return start(listener, true);
    }

    /// Serves a listening socket: its own, or one someone else opened and keeps (systemd, with
    /// socket activation).
    static Server start(ServerSocket listener, boolean ownsListener) throws IOException {
        Map<Socket, Thread> connections = new ConcurrentHashMap<>();
        var draining = new AtomicBoolean();
        listener.setSoTimeout((int) POLL.toMillis());   // accept() too looks up now and then
        Thread acceptor = Thread.ofPlatform().name("acceptor").unstarted(() -> {
            while (!draining.get()) {
                try {
                    Socket client = listener.accept();
                    info("connection from %s", client.getRemoteSocketAddress());
                    Thread handler = Thread.ofVirtual().name("client " + client.getPort()).unstarted(
                            () -> serve(client, draining, connections));
                    connections.put(client, handler);
                    handler.start();
                } catch (SocketTimeoutException nobodyCame) {
                    // Nobody connected for a moment: look up, and wait again unless we are going down.
                } catch (IOException e) {
                    if (listener.isClosed()) return;    // closed by drain() or close()
                    warn("accept failed: %s", e.getMessage());
                }
            }
        });
        acceptor.start();
        return new Server(listener, ownsListener, connections, draining, acceptor);
    }
    // end::start[]

    // tag::serve[]
    static void serve(Socket client, AtomicBoolean draining, Map<Socket, Thread> connections) {
        int answered = 0;
        try (client) {
            // Wake up now and then from read(), to notice a stop request even while the client is quiet.
            client.setSoTimeout((int) POLL.toMillis());
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = client.getOutputStream();
            var line = new ByteArrayOutputStream();
            while (true) {
                int b;
                try {
                    b = in.read();
                } catch (SocketTimeoutException quiet) {
                    // Nothing arrived for a moment. Whatever the client sent before the stop has
                    // been read and answered by now: if we are going down, this one is done.
                    if (!draining.get()) continue;
                    say(client, GOODBYE);
                    info("%s: said goodbye; lines answered: %d", client.getRemoteSocketAddress(), answered);
                    return;
                }
                if (b == -1) break;
                if (b != '\n') {
                    if (line.size() == MAX_LINE) {
                        say(client, "ERROR line longer than " + MAX_LINE + " bytes; closing");
                        warn("%s: line longer than %d bytes; closed", client.getRemoteSocketAddress(), MAX_LINE);
                        client.shutdownOutput();    // FIN first, as in lesson 05: no reset eats the error line
                        skipQuietly(in);
                        return;
                    }
                    line.write(b);
                    continue;
                }
                line.write('\n');
                out.write(line.toByteArray());
                out.flush();
                line.reset();
                answered++;
            }
            info("%s closed the connection; lines answered: %d", client.getRemoteSocketAddress(), answered);
        } catch (IOException e) {
            info("%s: connection ended: %s", client.getRemoteSocketAddress(), e.getMessage());
        } finally {
            connections.remove(client);
        }
    }
    // end::serve[]

    static void say(Socket client, String line) {
        try {
            client.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            client.getOutputStream().flush();
        } catch (IOException e) {
            // The client is gone already: nobody to tell.
        }
    }

    static void skipQuietly(InputStream in) {
        try {
            in.skip(1 << 20);
        } catch (IOException e) {
            // Quiet for a moment, or gone: either way we stop listening.
        }
    }

    static void closeQuietly(Closeable socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // Closing is all we wanted.
        }
    }

    // tag::sigterm[]
    /// SIGTERM (and Ctrl-C's SIGINT) makes the JVM run its shutdown hooks, then exit with 128 + 15 = 143.
    /// Other threads keep running while a hook runs, so the hook drains, then ends the JVM itself with 0.
    static void stopGracefullyOnSigterm(Server server) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            info("stop requested: no new connections; answering what %d clients sent, then goodbye",
                    server.connections().size());
            try {
                boolean clean = server.drain(DRAIN_LIMIT);
                info(clean ? "stopped cleanly; exit status 0" : "stopped, some clients cut off; exit status 0");
            } catch (InterruptedException e) {
                warn("interrupted while draining");
            }
            System.out.flush();
            Runtime.getRuntime().halt(0);            // 0: systemd counts this stop as a success
        }, "shutdown"));
    }
    // end::sigterm[]

    // tag::activation[]
    /// Started by systemd with StandardInput=socket? Then stdin is our listening socket, and systemd
    /// keeps it; otherwise the daemon opens its own.
    static Server startFromSystemdOr(int port) throws IOException {
        Channel inherited = System.inheritedChannel();
        if (inherited instanceof ServerSocketChannel channel) {
            Server server = start(channel.socket(), false);
            info("listening on %s:%d (a socket passed by systemd)",
                    server.listener().getInetAddress().getHostAddress(), server.port());
            return server;
        }
        Server server = start(port);
        info("listening on %s:%d; stop with: kill %d", server.listener().getInetAddress().getHostAddress(),
                server.port(), ProcessHandle.current().pid());
        return server;
    }
    // end::activation[]

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/18_Daemon.java [--port N] [--help]

            A line echo server written to run as a Linux service. It logs one line per event to
            stdout (colours only on a terminal). On SIGTERM (kill PID, systemctl stop, Ctrl-C) it
            stops accepting, answers what it already received, says goodbye to every client and
            exits with status 0 within %d s. Started by systemd with a socket (lessons/18_Daemon.socket),
            it serves that socket instead of opening its own.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal:  nc -N localhost 1234
            (-N: when you press Ctrl-D, nc shuts down its sending side, and the daemon sees end of stream)
            """.formatted(DRAIN_LIMIT.toSeconds(), DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try {
            Server server = startFromSystemdOr(port);
            stopGracefullyOnSigterm(server);
            server.acceptor().join();
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
