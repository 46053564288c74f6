///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/// Lesson 18 · Daemon — a server run as a Linux service: one log line per event, a graceful stop on SIGTERM.
///
/// Run it: `./jbang lessons/18_Daemon.java [--port 1234]`; talk to it: `nc localhost 1234`; stop it: `kill PID`.
/// As a service: lessons/18_Daemon.service and lessons/18_Daemon.socket.
/// Read: docs/chapters/18-daemon.adoc
class Daemon {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_LINE = 8192;
    /// How long a handler waits in read() before it looks up: is the server going down?
    static final Duration POLL = Duration.ofMillis(200);
    /// The longest a graceful stop may take; the unit's TimeoutStopSec= is longer, so we finish first.
    static final Duration DRAIN_LIMIT = Duration.ofSeconds(3);
    static final String GOODBYE = "BYE the server is going down";

    static final String USAGE = """
            Usage: ./jbang lessons/18_Daemon.java [--port N] [--help]

            A line echo server written to run as a Linux service. It logs one line per event to
            stdout (colours only on a terminal). On SIGTERM (kill PID, systemctl stop, Ctrl-C) it
            stops accepting, answers what it already received, says goodbye to every client and
            exits with status 0 within %d s. Started by systemd with a socket (lessons/18_Daemon.socket),
            it serves that socket instead of opening its own.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit
            """.formatted(DRAIN_LIMIT.toSeconds(), DEFAULT_PORT);

    // tag::log[]
    /// One line per event. journald stamps time, unit and PID itself, and reads an optional `<N>`
    /// priority prefix (sd-daemon(3)); colour codes only make sense for a human at a terminal.
    static final boolean TERMINAL = System.console() != null && System.console().isTerminal()
            && System.getenv("NO_COLOR") == null;
    static final boolean JOURNAL = System.getenv("JOURNAL_STREAM") != null;   // set by systemd for stdout

    static void log(String format, Object... args) {
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

    /// A running server: the listening socket, each connection with the thread that serves it.
    record Server(ServerSocket listener, Map<Socket, Thread> connections, AtomicBoolean draining, Thread acceptor)
            implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        // tag::drain[]
        /// Stops accepting, lets every handler answer what it has and say goodbye, waits at most `limit`.
        /// Returns true when every connection finished by itself.
        boolean drain(Duration limit) throws InterruptedException {
            draining.set(true);                       // the acceptor stops taking clients
            // systemd's socket stays open: new clients wait in it for the service's next start.
            // (Closing it would also make the JDK point stdout and stderr at /dev/null: inetd-style,
            // they could be that same socket. The log would end here.)
            if (!listenerIsInherited()) {
                try {
                    listener.close();                 // no new clients; the kernel refuses them now
                } catch (IOException e) {
                    warn("closing the listening socket: %s", e.getMessage());
                }
            }
            long deadline = System.nanoTime() + limit.toNanos();
            for (Thread handler : connections.values()) {
                handler.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
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

        boolean listenerIsInherited() {
            try {
                return listener.getChannel() != null && listener.getChannel() == System.inheritedChannel();
            } catch (IOException e) {
                return false;
            }
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
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return start(listener);
    }

    /// Serves a listening socket someone else opened: systemd, with socket activation.
    static Server start(ServerSocket listener) {
        Map<Socket, Thread> connections = new ConcurrentHashMap<>();
        var draining = new AtomicBoolean();
        Thread acceptor = Thread.ofPlatform().name("acceptor").unstarted(() -> {
            while (!listener.isClosed() && !draining.get()) {
                try {
                    listener.setSoTimeout((int) POLL.toMillis());   // look up now and then: draining?
                    Socket client = listener.accept();
                    log("connection from %s", client.getRemoteSocketAddress());
                    Thread handler = Thread.ofVirtual().name("client " + client.getPort()).unstarted(
                            () -> serve(client, draining, connections));
                    connections.put(client, handler);
                    handler.start();
                } catch (SocketTimeoutException quiet) {
                    // No client for a moment: check the flag again.
                } catch (IOException e) {
                    if (!listener.isClosed()) warn("accept failed: %s", e.getMessage());
                }
            }
        });
        acceptor.start();
        return new Server(listener, connections, draining, acceptor);
    }
    // end::start[]

    // tag::serve[]
    static void serve(Socket client, AtomicBoolean draining, Map<Socket, Thread> connections) {
        int answered = 0;
        try (client) {
            // Wake up now and then from read(), so that a stop request is noticed even by an idle handler.
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
                    log("%s: said goodbye; lines answered: %d", client.getRemoteSocketAddress(), answered);
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
            log("%s closed the connection; lines answered: %d", client.getRemoteSocketAddress(), answered);
        } catch (IOException e) {
            log("%s: connection ended: %s", client.getRemoteSocketAddress(), e.getMessage());
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

    static void closeQuietly(Socket socket) {
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
            log("stop requested: no new connections; answering what %d clients sent, then goodbye",
                    server.connections().size());
            try {
                boolean clean = server.drain(DRAIN_LIMIT);
                log(clean ? "stopped cleanly; exit status 0" : "stopped, some clients cut off; exit status 0");
            } catch (InterruptedException e) {
                warn("interrupted while draining");
            }
            System.out.flush();
            Runtime.getRuntime().halt(0);            // 0: systemd counts this stop as a success
        }, "shutdown"));
    }
    // end::sigterm[]

    // tag::main[]
    public static void main(String[] args) throws Exception {
        int port = parsePort(args);
        Server server;
        try {
            // Started by systemd with StandardInput=socket? Then stdin is our listening socket.
            Channel inherited = System.inheritedChannel();
            if (inherited instanceof ServerSocketChannel channel) {
                server = start(channel.socket());
                log("listening on %s:%d (a socket passed by systemd)",
                        server.listener().getInetAddress().getHostAddress(), server.port());
            } else {
                server = start(port);
                log("listening on %s:%d; stop with: kill %d", server.listener().getInetAddress().getHostAddress(),
                        server.port(), ProcessHandle.current().pid());
            }
        } catch (BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
            return;
        } catch (SocketException e) {
            System.err.println("Cannot listen on port " + port + ": " + e.getMessage());
            System.exit(1);
            return;
        }
        stopGracefullyOnSigterm(server);
        server.acceptor().join();
    }
    // end::main[]

    /// Reads `--port N` and `--help`. Anything else is a mistake: say what, print usage, exit 2.
    static int parsePort(String[] args) {
        int port = DEFAULT_PORT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--port" -> {
                    if (i + 1 == args.length) usageError("--port needs a number");
                    port = parseNumber(args[++i]);
                    if (port < 0 || port > 65_535) usageError("a port is a number from 0 to 65535, not " + port);
                }
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        return port;
    }

    static int parseNumber(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            usageError("not a number: " + text);
            return -1;
        }
    }

    static void usageError(String problem) {
        System.err.println("error: " + problem);
        System.err.print(USAGE);
        System.exit(2);
    }
}
