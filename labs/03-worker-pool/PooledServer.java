///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

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
        var pool = newPool(workers, queue, Thread.ofPlatform().name("worker-", 1).factory());
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
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
        // TODO(lab): a ThreadPoolExecutor with exactly `workers` threads from `threads`, a bounded
        //  queue of `queue` tasks, and a policy that refuses (throws) when both are full.
        throw new UnsupportedOperationException("TODO(lab): make the bounded pool");
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
        // TODO(lab): hand the client to the pool: a worker runs serve(client). When the pool
        //  refuses (RejectedExecutionException), answer BUSY and a newline, and close the client.
        throw new UnsupportedOperationException("TODO(lab): hand the client to the pool");
    }

    /// Runs on a worker: the handler, then close; a failing handler costs its connection only.
    void serve(Socket client) {
        // TODO(lab): run the handler, then close the client however the handler ended. A handler
        //  that throws costs its own connection only: the worker thread lives on.
        throw new UnsupportedOperationException("TODO(lab): run the handler");
    }

    static void log(String message) {
        System.out.printf("%s [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(), message);
    }

    public static void main(String[] args) throws Exception {
        int port = args.length == 2 && args[0].equals("--port") ? Integer.parseInt(args[1]) : 1234;
        // Two workers, a queue of two: a fifth client at once gets "busy".
        var server = start(port, 2, 2, client -> {
            client.getOutputStream().write(("served by " + Thread.currentThread().getName() + "\n").getBytes(StandardCharsets.UTF_8));
            client.getInputStream().read();        // hold the worker until the client sends a byte
        });
        log("listening on " + InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.port());
    }
}
