import grading.Answers;
import grading.Check;
import grading.Client;
import grading.Clients;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/// The checked exercises of chapter 10: what a connection costs in kernel threads and file
/// descriptors, and lesson 09's server made concurrent.
public final class Ex10ConcurrentServerChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final Duration WAIT = Duration.ofSeconds(15);
    static final int CONNECTIONS = 100;

    @Override
    public String title() {
        return "The concurrent server";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts the kernel threads of 100 idle connections", 10,
                        "a platform thread is a kernel thread; a virtual thread blocked in read() is parked in the heap and gives its carrier back",
                        Ex10ConcurrentServerChecks::kernelThreads).within(Duration.ofSeconds(60)),
                Check.core("predicts the file descriptors of a connection", 10,
                        "every socket is a file descriptor; count the sockets one connection makes when both of its ends live in one process",
                        Ex10ConcurrentServerChecks::fileDescriptors).within(Duration.ofSeconds(40)),
                Check.core("serves every client at once", 10,
                        "hand each accepted socket to a thread of its own and go straight back to accept()",
                        Ex10ConcurrentServerChecks::servesAtOnce).within(Duration.ofSeconds(60)));
    }

    /// A thread-per-connection server whose handlers block in read(), counted once they do.
    static final class Holder implements AutoCloseable {
        final ServerSocket listener = new ServerSocket(0, 4096, InetAddress.getLoopbackAddress());
        final Set<Socket> accepted = ConcurrentHashMap.newKeySet();
        final CountDownLatch handlersStarted;

        Holder(Thread.Builder handlers, int expected) throws IOException {
            handlersStarted = new CountDownLatch(expected);
            Thread.ofPlatform().daemon().name("holder acceptor").start(() -> {
                try {
                    while (true) {
                        Socket s = listener.accept();
                        accepted.add(s);
                        handlers.start(() -> block(s));
                    }
                } catch (IOException e) {
                    // The check is over.
                }
            });
        }

        void block(Socket s) {
            handlersStarted.countDown();
            try (InputStream in = s.getInputStream()) {
                in.read();                          // an idle connection: the handler waits here
            } catch (IOException e) {
                // Closed at the end of the check.
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket s : accepted) s.close();
        }
    }

    /// How many threads the kernel counts for this process (/proc/self/status).
    static long kernelThreadCount() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Threads:"))
                .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElseThrow();
    }

    static long openFileDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    /// How many more kernel threads this process has with 100 idle connections, each with a handler.
    static long threadsFor(Thread.Builder handlers) throws Exception {
        try (var holder = new Holder(handlers, CONNECTIONS); var clients = new Clients()) {
            long before = kernelThreadCount();
            clients.connect(holder.listener.getLocalPort(), CONNECTIONS);
            Expect.that(holder.handlersStarted.await(WAIT.toSeconds(), TimeUnit.SECONDS),
                    "the handlers of " + CONNECTIONS + " connections did not all start within " + WAIT.toSeconds() + " s");
            return kernelThreadCount() - before;
        }
    }

    /// A prediction is right within 5, or within a tenth of the count: the JVM starts a thread of
    /// its own now and then (a compiler thread, a carrier), and the check cannot stop it.
    static boolean close(long predicted, long observed) {
        return Math.abs(predicted - observed) <= Math.max(5, observed / 10);
    }

    static void kernelThreads() throws Exception {
        long platform = Answers.number(FILE, "kernel-threads-platform");
        long virtual = Answers.number(FILE, "kernel-threads-virtual");
        long observedVirtual = threadsFor(Thread.ofVirtual());
        long observedPlatform = threadsFor(Thread.ofPlatform().daemon());
        Expect.that(close(platform, observedPlatform) && close(virtual, observedVirtual), String.format(
                "you predicted %d more kernel threads with platform handlers and %d with virtual ones; with %d idle connections,"
                        + " /proc/self/status counted %d more with platform handlers and %d more with virtual ones"
                        + " (an answer within 5 or 10%% counts)", platform, virtual, CONNECTIONS, observedPlatform, observedVirtual));
    }

    static void fileDescriptors() throws Exception {
        long predicted = Answers.number(FILE, "fds-per-connection-in-one-process");
        try (var holder = new Holder(Thread.ofVirtual(), CONNECTIONS); var clients = new Clients()) {
            clients.connect(holder.listener.getLocalPort(), 1);      // the first makes the JDK's pollers, once
            Expect.eventually(WAIT, () -> holder.accepted.size() == 1, "the first connection was not accepted");
            long before = openFileDescriptors();
            clients.connect(holder.listener.getLocalPort(), CONNECTIONS);
            Expect.that(holder.handlersStarted.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the handlers did not all start");
            Expect.eventually(WAIT, () -> holder.accepted.size() == CONNECTIONS + 1, "not every connection was accepted");
            long added = openFileDescriptors() - before;
            long each = Math.round(added / (double) CONNECTIONS);
            Expect.that(predicted == each, String.format("you predicted %d; %d more connections, clients and server in this one"
                    + " process, opened %d more file descriptors (/proc/self/fd): %d each", predicted, CONNECTIONS, added, each));
        }
    }

    static void echo(Client client, String line) throws IOException {
        client.send(line + "\n");
        Expect.equal("ECHO " + line, client.readLine(), "the reply to " + Expect.show(line));
    }

    static void servesAtOnce() throws Exception {
        try (var server = ThreadPerClient.start(0); var first = Client.connect(server.port())) {
            echo(first, "first");
            try (var second = Client.connect(server.port())) {
                try {
                    second.send("second\n");
                    Expect.equal("ECHO second", second.readLine(), "the reply to a second client while the first is connected");
                } catch (AssertionError e) {
                    throw new AssertionError("a second client, connected while the first is still open: " + e.getMessage()
                            + " (is the first one served by the acceptor itself?)");
                }
            }
            try (var crowd = new Clients()) {
                crowd.connect(server.port(), 200);
                for (int i = 0; i < 200; i++) {
                    crowd.get(i).send("client " + i + "\n");
                }
                for (int i = 199; i >= 0; i--) {
                    String reply;
                    try {
                        reply = crowd.get(i).readLine();
                    } catch (AssertionError e) {
                        throw new AssertionError("200 clients connected at once, each sent a line: client " + (i + 1) + " got no reply ("
                                + e.getMessage() + "). Is the number of threads limited?");
                    }
                    Expect.equal("ECHO client " + i, reply, "the reply to client " + (i + 1) + " of 200 connected at once");
                }
            }
            echo(first, "still here");
        }
    }
}
