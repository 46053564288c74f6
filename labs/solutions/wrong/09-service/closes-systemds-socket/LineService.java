// Mistake: the drain closes the listening socket even when it is systemd's. Caught by: "drain leaves systemd's socket open"
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/// Lab 09 · A service — a line echo server that stops the way a service manager asks it to: SIGTERM
/// drains, a second signal ends it at once, and its listening socket may come from systemd.
///
/// Run it: `./jbang labs/09-service/LineService.java [--port 1234]`; talk to it: `nc -N localhost 1234`;
/// stop it: `kill PID`. Socket-activated: `systemd-socket-activate --listen=127.0.0.1:1234 ./jbang labs/09-service/LineService.java`.
/// Read: labs/09-service/README.adoc
class LineService {
    static final int DEFAULT_PORT = 1234;
    /// The longest line the service accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 8192;
    /// As in lesson 18: room in the accept queue for a crowd, and for whoever connects while we start.
    static final int BACKLOG = 1024;
    /// How long a handler, or the acceptor, waits before it looks up: is the service stopping?
    static final Duration POLL = Duration.ofMillis(200);
    /// The longest a graceful stop may take; then the connections still busy are closed.
    static final Duration DRAIN_LIMIT = Duration.ofSeconds(5);
    static final String GOODBYE = "BYE the service is stopping";
    /// Where systemd's file descriptors begin (SD_LISTEN_FDS_START in sd-daemon(3)).
    static final int FIRST_SYSTEMD_FD = 3;

    /// A running service: its listening socket (and whether it is ours to close), each connection
    /// with the thread that serves it, and whether it is stopping.
    record Server(ServerSocket listener, boolean ownsListener, Map<Socket, Thread> connections,
                  AtomicBoolean draining, Thread acceptor) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        /// Stops accepting, lets every handler answer what its client already sent and say goodbye,
        /// waits at most `limit`, then closes the connections still busy. Returns true when every
        /// connection finished by itself. A listening socket from systemd stays open: systemd keeps it,
        /// and clients that connect meanwhile wait in its queue for the next start.
        boolean drain(Duration limit) throws InterruptedException {
            long deadline = System.nanoTime() + limit.toNanos();
            draining.set(true);
            closeQuietly(listener);
            acceptor.join(remaining(deadline));
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

    /// Opens its own listening socket on loopback.
    static Server start(int port) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        return start(listener, true);
    }

    /// Serves a listening socket: its own, or one that systemd opened and keeps.
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
                    // Nobody connected for a moment: look up, and wait again unless we are stopping.
                } catch (IOException e) {
                    if (listener.isClosed()) return;    // closed by drain() or close()
                    warn("accept failed: %s", e.getMessage());
                }
            }
        });
        acceptor.start();
        return new Server(listener, ownsListener, connections, draining, acceptor);
    }

    /// Echoes each line; refuses a line over MAX_LINE bytes. When the service is stopping, it ends the
    /// conversation as soon as the client has been quiet for POLL: by then everything the client sent
    /// before the stop has been read and answered.
    static void serve(Socket client, AtomicBoolean draining, Map<Socket, Thread> connections) {
        int answered = 0;
        try (client) {
            // Wake up now and then from read(), to notice a stop even while the client is quiet.
            client.setSoTimeout((int) POLL.toMillis());
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = client.getOutputStream();
            var line = new ByteArrayOutputStream();
            while (true) {
                int b;
                try {
                    b = in.read();
                } catch (SocketTimeoutException quiet) {
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

    static void say(Socket client, String line) {
        try {
            client.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            client.getOutputStream().flush();
        } catch (IOException e) {
            // The client is gone already: nobody to tell.
        }
    }

    static void closeQuietly(java.io.Closeable socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // Closing is all we wanted.
        }
    }

    /// SIGTERM (and Ctrl-C's SIGINT) makes the JVM run its shutdown hooks, then exit with 128 + 15 = 143.
    /// The hook first gives both signals back their default action, so that a second one ends the
    /// process at once (while a hook runs, the JVM ignores more signals); then it drains, and ends the
    /// JVM itself with status 0, which systemd counts as a clean stop.
    static void stopOnSignals(Server server) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Libc.restoreDefaultAction(Libc.SIGTERM);
            Libc.restoreDefaultAction(Libc.SIGINT);
            info("stop requested: no new connections; answering what %d clients sent; a second signal ends it now",
                    server.connections().size());
            try {
                boolean clean = server.drain(DRAIN_LIMIT);
                info(clean ? "stopped cleanly; exit status 0" : "stopped, some clients cut off; exit status 0");
            } catch (InterruptedException e) {
                warn("interrupted while draining");
            }
            System.out.flush();
            Runtime.getRuntime().halt(0);            // not System.exit: that waits for this very hook
        }, "shutdown"));
    }

    /// True when systemd passed us listening sockets: LISTEN_PID is this process (the variables are
    /// inherited by children, who must not take them for theirs) and LISTEN_FDS counts at least one.
    static boolean passedBySystemd() {
        String pid = System.getenv("LISTEN_PID");
        String fds = System.getenv("LISTEN_FDS");
        return pid != null && fds != null && pid.equals(String.valueOf(ProcessHandle.current().pid()))
                && fds.matches("\\d{1,4}") && Integer.parseInt(fds) >= 1;
    }

    /// The listening socket systemd passed as file descriptor 3. The JDK opens a channel only on a
    /// descriptor it inherited as standard input (System.inheritedChannel), so make fd 3 that first.
    static ServerSocket systemdListener() throws IOException {
        Libc.dup2(FIRST_SYSTEMD_FD, 0);
        if (System.inheritedChannel() instanceof ServerSocketChannel channel) {
            return channel.socket();
        }
        throw new IOException("file descriptor " + FIRST_SYSTEMD_FD + " is not a listening TCP socket");
    }

    /// Two calls into the C library, through Java's foreign function API: the JDK has no API for a
    /// descriptor it did not open, nor for a signal's action. (The JVM warns about these calls unless
    /// started with --enable-native-access=ALL-UNNAMED, as JBang starts it here.)
    @SuppressWarnings("restricted")
    static final class Libc {
        static final int SIGINT = 2;
        static final int SIGTERM = 15;
        private static final Linker C = Linker.nativeLinker();
        private static final MethodHandle DUP2 = C.downcallHandle(C.defaultLookup().find("dup2").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        private static final MethodHandle SIGNAL = C.downcallHandle(C.defaultLookup().find("signal").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

        /// dup2(2): makes descriptor `to` a copy of `from`.
        static void dup2(int from, int to) throws IOException {
            try {
                if ((int) DUP2.invokeExact(from, to) < 0) throw new IOException("dup2(" + from + ", " + to + ") failed");
            } catch (IOException e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException("dup2 failed", t);
            }
        }

        /// signal(2) with SIG_DFL: for SIGTERM and SIGINT, the kernel then ends the process itself.
        static void restoreDefaultAction(int signal) {
            try {
                var previous = (MemorySegment) SIGNAL.invokeExact(signal, MemorySegment.NULL);
            } catch (Throwable t) {
                throw new IllegalStateException("signal(" + signal + ", SIG_DFL) failed", t);
            }
        }
    }

    /// One line per event, as lesson 18 logs: the time, the level, the thread, what happened.
    static void info(String format, Object... args) {
        write("INFO", format.formatted(args));
    }

    static void warn(String format, Object... args) {
        write("WARN", format.formatted(args));
    }

    static void write(String level, String message) {
        System.out.println("%tT %s [%s] %s".formatted(LocalTime.now(), level, Thread.currentThread().getName(), message));
    }

    // ---- The command line: the same block as in the lessons; read it once. ----

    static final String USAGE = """
            Usage: ./jbang labs/09-service/LineService.java [--port N] [--help]

            Lab 09's line echo service. On SIGTERM (kill PID, systemctl stop, Ctrl-C) it stops
            accepting, answers what its clients already sent, says goodbye and exits with status 0
            within %d s; a second signal ends it at once. Started by systemd with a socket
            (LISTEN_FDS, LISTEN_PID), it serves that socket instead of opening its own.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal:  nc -N localhost 1234
            """.formatted(DRAIN_LIMIT.toSeconds(), DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try {
            Server server = passedBySystemd() ? start(systemdListener(), false) : start(port);
            info("listening on %s:%d%s; stop with: kill %d", server.listener().getInetAddress().getHostAddress(),
                    server.port(), server.ownsListener() ? "" : " (a socket passed by systemd)", ProcessHandle.current().pid());
            stopOnSignals(server);
            server.acceptor().join();
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
        }
    }

    /// Reads `--help` and the options a lab asks for. Anything else is a learner's mistake:
    /// say what, print the usage, exit with status 2; never a stack trace.
    static final class CommandLine {
        private final String usage;
        private final List<String> args;

        CommandLine(String usage, String[] args) {
            this.usage = usage;
            this.args = new ArrayList<>(List.of(args));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        /// `--port N`: 0 to 65535; 0 asks the kernel for any free port.
        int port(int otherwise) {
            return number("--port", otherwise, 0, 65_535);
        }

        /// `--name N` or `--name=N`, a whole number from `min` to `max`.
        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        /// `--name TEXT` or `--name=TEXT`.
        String text(String name, String otherwise) {
            for (int i = 0; i < args.size(); i++) {
                if (args.get(i).startsWith(name + "=")) return args.remove(i).substring(name.length() + 1);
                if (!args.get(i).equals(name)) continue;
                if (i + 1 == args.size()) throw fail(name + " needs a value");
                args.remove(i);
                return args.remove(i);
            }
            return otherwise;
        }

        /// `--name`, present or not.
        boolean flag(String name) {
            return args.remove(name);
        }

        /// After the last option: whatever is left is a mistake.
        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.println("error: " + problem);
            System.err.print(usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        /// A port in use is an ordinary mistake too: one line with a hint, exit status 1.
        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lab or lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
