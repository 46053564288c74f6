import grading.Answers;
import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/// The checked exercises of chapter 11: what accept() does with several acceptors, what a read
/// timeout leaves of a connection, and a deadline for a whole line against a trickling client.
public final class Ex11PooledServerChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final Duration WAIT = Duration.ofSeconds(10);
    static final Duration QUIET = Duration.ofMillis(500);

    @Override
    public String title() {
        return "The pooled server";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts how many acceptors one client wakes", 10,
                        "a finished connection waits in the accept queue until an accept() call takes it out of the queue",
                        Ex11PooledServerChecks::acceptorsWoken),
                Check.core("predicts what a read timeout leaves of a connection", 10,
                        "SO_TIMEOUT limits how long this process waits in read(); ask what, if anything, goes on the wire when the wait ends",
                        Ex11PooledServerChecks::afterTimeout),
                Check.core("a deadline for a whole line frees a worker from a trickler", 10,
                        "a read timeout restarts with every byte; a deadline does not: before each read, allow only what is left of the line's time",
                        Ex11PooledServerChecks::lineDeadline).within(Duration.ofSeconds(40)));
    }

    static void acceptorsWoken() throws Exception {
        long predictedOne = Answers.number(FILE, "accepts-returning-for-one-client");
        long predictedThree = Answers.number(FILE, "accepts-returning-for-three-clients");
        var returned = new AtomicInteger();
        var clients = new ArrayList<Socket>();
        var accepted = new ArrayList<Socket>();
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            for (int i = 0; i < 3; i++) {
                Thread.ofPlatform().daemon().name("acceptor-" + (i + 1)).start(() -> {
                    try {
                        Socket s = listener.accept();
                        synchronized (accepted) {
                            accepted.add(s);
                        }
                        returned.incrementAndGet();
                    } catch (IOException e) {
                        // The check is over.
                    }
                });
            }
            clients.add(new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort()));
            Expect.eventually(WAIT, () -> returned.get() > 0, "no accept() returned for a client");
            // Give the others time to return too, if they would: absence can only be watched for a while.
            java.util.concurrent.locks.LockSupport.parkNanos(QUIET.toNanos());
            int forOne = returned.get();
            for (int i = 0; i < 2; i++) clients.add(new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort()));
            Expect.eventually(WAIT, () -> returned.get() == 3, () -> returned.get() + " of 3 accept() calls returned for 3 clients");
            int forThree = returned.get();
            Expect.that(predictedOne == forOne && predictedThree == forThree, String.format("you predicted %d and %d; three threads"
                    + " waited in accept() on one listening socket: one client made %d of them return (watched for %d ms more),"
                    + " three clients %d", predictedOne, predictedThree, forOne, QUIET.toMillis(), forThree));
        } finally {
            for (Socket s : clients) s.close();
            synchronized (accepted) {
                for (Socket s : accepted) s.close();
            }
        }
    }

    static void afterTimeout() throws Exception {
        String clientNotices = Answers.prediction(FILE, "client-notices-the-timeout").strip().toLowerCase(Locale.ROOT);
        String usable = Answers.prediction(FILE, "usable-after-timeout").strip().toLowerCase(Locale.ROOT);
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                var client = Client.connect(listener.getLocalPort());
                Socket server = listener.accept()) {
            server.setSoTimeout(300);
            try {
                int b = server.getInputStream().read();
                throw new AssertionError("the server's read returned " + b + " with nothing sent");
            } catch (SocketTimeoutException expected) {
                // The worker's wait is over; the check now asks what is left.
            }
            String observedNotice;
            try {
                client.expectNothingFor(QUIET, "after the server's read timed out");
                observedNotice = "no";
            } catch (AssertionError e) {
                observedNotice = "yes";
            }
            String observedUsable;
            try {
                client.send("hi\n");
                server.setSoTimeout((int) WAIT.toMillis());
                observedUsable = server.getInputStream().read() == 'h' ? "yes" : "no";
            } catch (IOException e) {
                observedUsable = "no";
            }
            Expect.that(clientNotices.equals(observedNotice) && usable.equals(observedUsable), String.format(
                    "you predicted client-notices-the-timeout: %s, usable-after-timeout: %s; after the server's read timed out,"
                            + " the client %s within %d ms, and the server %s: %s, %s", clientNotices, usable,
                    observedNotice.equals("no") ? "received nothing, no end of stream, no reset" : "saw its connection end",
                    QUIET.toMillis(), observedUsable.equals("yes") ? "then read the client's \"hi\\n\" on the same socket" : "could not read on",
                    observedNotice, observedUsable));
        }
    }

    static void lineDeadline() throws Exception {
        var deadline = Duration.ofSeconds(1);
        var pacer = Executors.newSingleThreadScheduledExecutor(runnable -> Thread.ofPlatform().daemon().name("trickler").unstarted(runnable));
        try (var server = DeadlineEcho.start(0, 2, deadline);
                var first = Client.connect(server.port());
                var second = Client.connect(server.port())) {
            // Two clients trickle a byte every 100 ms and never end a line: they hold both workers.
            for (Client trickler : List.of(first, second)) {
                pacer.scheduleAtFixedRate(() -> {
                    try {
                        trickler.send("x");
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);   // closed: this trickle ends
                    }
                }, 0, 100, TimeUnit.MILLISECONDS);
            }
            try (var third = Client.connect(server.port())) {
                third.send("hello\n");
                for (Client trickler : List.of(first, second)) {
                    String last;
                    try {
                        last = trickler.readLine();
                    } catch (AssertionError e) {
                        throw new AssertionError("a client trickling one byte every 100 ms, never a newline, with a line deadline of"
                                + " 1 s: " + e.getMessage() + "; it keeps its worker, and a third client waits");
                    }
                    Expect.that(last.startsWith("ERROR"), "a trickling client got " + Expect.show(last) + "; expected a line starting with ERROR");
                    trickler.expectClosed("after the ERROR line");
                }
                pacer.shutdownNow();
                Expect.equal("ECHO hello", third.readLine(), "the reply to a third client, waiting for a worker meanwhile");
                // A client that sends whole lines, pausing between them, is not dropped: the deadline is per line.
                for (int i = 0; i < 6; i++) {
                    third.send("line " + i + "\n");
                    Expect.equal("ECHO line " + i, third.readLine(), "the reply to line " + i + " of a client that pauses 300 ms between lines"
                            + " (a deadline for each line, not for the whole connection)");
                    Thread.sleep(300);              // the client's pause: part of the scenario, not a wait for the server
                }
            }
        } finally {
            pacer.shutdownNow();
        }
    }
}
