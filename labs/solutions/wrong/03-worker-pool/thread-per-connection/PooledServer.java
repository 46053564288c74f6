// Mistake: dispatch() starts a thread for each connection instead of handing it to the pool. Caught by: "never runs more than N at once", "no thread per connection"
//JAVA 25+

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.net.BindException;
import java.util.ArrayList;
import java.util.List;

/// Lab 03 · Bounded worker pool — N workers, a queue of Q, and "busy" beyond that.
///
/// Run it: `./jbang labs/03-worker-pool/PooledServer.java [--port 1234]`; talk to it: `nc localhost 1234`.
/// Read: labs/03-worker-pool/README.adoc
class PooledServer implements AutoCloseable {
    /// What a worker does with one connection. The grader brings its own handlers.
    interface Handler {
        void handle(Socket client) throws IOException;
    }

    /// The line a client gets when every worker is busy and the queue is full.
    static final String BUSY = "busy";

    private final ServerSocket listener;
    private final ThreadPoolExecutor pool;
    private final Handler handler;

    private PooledServer(ServerSocket listener, ThreadPoolExecutor pool, Handler handler) {
        this.listener = listener;
        this.pool = pool;
        this.handler = handler;
    }

    /// Binds to loopback on `port` (0: any free port) and serves each connection with `handler`
    /// on one of `workers` threads, `queue` connections at most waiting for a worker.
    static PooledServer start(int port, int workers, int queue, Handler handler) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        ThreadPoolExecutor pool;
        try {
            pool = newPool(workers, queue, Thread.ofPlatform().name("worker-", 1).factory());
        } catch (RuntimeException e) {
            listener.close();
            throw e;
        }
        var server = new PooledServer(listener, pool, handler);
        Thread.ofPlatform().name("acceptor").start(server::acceptLoop);
        return server;
    }

    int port() {
        return listener.getLocalPort();
    }

    /// Stops accepting, interrupts the workers, and waits for them to end.
    @Override
    public void close() throws IOException {
        listener.close();
        pool.shutdownNow();
        try {
            pool.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /// A pool of exactly `workers` threads made by `threads`, with room for `queue` waiting
    /// tasks; when both are full, `execute` throws RejectedExecutionException.
    static ThreadPoolExecutor newPool(int workers, int queue, ThreadFactory threads) {
        return new ThreadPoolExecutor(workers, workers, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(queue), threads, new ThreadPoolExecutor.AbortPolicy());
    }

    private void acceptLoop() {
        try {
            while (true) {
                Socket client = listener.accept();
                try {
                    dispatch(client);
                } catch (IOException | RuntimeException e) {
                    log("could not dispatch " + client.getRemoteSocketAddress() + ": " + e);
                    client.close();
                }
            }
        } catch (IOException e) {
            log("stopped accepting: " + e.getMessage());
        }
    }

    /// Hands the client to the pool; when the pool refuses it, answers BUSY and closes.
    void dispatch(Socket client) throws IOException {
        try {
            Thread.ofVirtual().start(() -> serve(client));
        } catch (RejectedExecutionException e) {
            log("busy: refused " + client.getRemoteSocketAddress());
            try (client) {
                client.getOutputStream().write((BUSY + "\n").getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    /// Runs on a worker: the handler, then close; a failing handler costs its connection only.
    void serve(Socket client) {
        try (client) {
            handler.handle(client);
        } catch (IOException | RuntimeException e) {
            log("the handler failed: " + e);
        }
    }

    static void log(String message) {
        System.out.printf("%s [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(), message);
    }

    // ---- The command line: the same block as in the lessons; read it once. ----

    static final int DEFAULT_PORT = 1234;

    static final String USAGE = """
            Usage: ./jbang labs/03-worker-pool/PooledServer.java [--port N] [--help]

            Lab 03's pooled server: two workers, a queue of two, "busy" beyond that.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal:  nc localhost 1234
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try {
            // Two workers, a queue of two: a fifth client at once gets "busy".
            var server = start(port, 2, 2, client -> {
                client.getOutputStream().write(("served by " + Thread.currentThread().getName() + "\n").getBytes(StandardCharsets.UTF_8));
                client.getInputStream().read();        // hold the worker until the client sends a byte
            });
            log("listening on " + InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.port());
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
