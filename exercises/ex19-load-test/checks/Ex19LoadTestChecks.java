import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongUnaryOperator;

/// The checked exercises of chapter 19: messages in flight on one connection, Little's law in a
/// closed loop, and how a closed loop hides a stall.
public final class Ex19LoadTestChecks implements Lab {

    static final String FILE = "predictions.txt";

    @Override
    public String title() {
        return "Load test";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("Pipelined keeps inFlight messages unanswered on one connection, never more", 10,
                        "write inFlight lines first, then after each reply write the next one, until all are sent; keep reading until all are answered",
                        Ex19LoadTestChecks::pipelined).within(Duration.ofSeconds(40)),
                Check.core("predicts a closed loop's rate from the server's delay (Little's law)", 10,
                        "in a closed loop each connection has one message in flight: messages in flight = rate × time each one takes",
                        Ex19LoadTestChecks::littlesLaw).within(Duration.ofSeconds(30)),
                Check.core("predicts how many slow samples a closed loop records during a stall", 10,
                        "while the server says nothing, how many messages has the generator sent? It waits for each reply before the next",
                        Ex19LoadTestChecks::stall).within(Duration.ofSeconds(30)));
    }

    /// An echo server on loopback that answers each line `delay(nanoTime at arrival)` nanoseconds
    /// after it came, from a scheduler, and counts the most lines it ever held unanswered.
    static final class SlowEcho implements AutoCloseable {
        final ServerSocket listener;
        final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        final AtomicInteger unanswered = new AtomicInteger();
        final AtomicInteger mostUnanswered = new AtomicInteger();
        final AtomicLong answered = new AtomicLong();

        SlowEcho(LongUnaryOperator delay) throws IOException {
            listener = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
            Thread.ofPlatform().daemon().name("slow echo").start(() -> {
                while (!listener.isClosed()) {
                    try {
                        Socket socket = listener.accept();
                        Thread.ofVirtual().start(() -> serve(socket, delay));
                    } catch (IOException e) {
                        // Closed.
                    }
                }
            });
        }

        int port() {
            return listener.getLocalPort();
        }

        void serve(Socket socket, LongUnaryOperator delay) {
            try (socket) {
                var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                OutputStream out = socket.getOutputStream();
                for (String line; (line = in.readLine()) != null; ) {
                    mostUnanswered.accumulateAndGet(unanswered.incrementAndGet(), Math::max);
                    byte[] reply = (line + "\n").getBytes(StandardCharsets.UTF_8);
                    scheduler.schedule(() -> {
                        try {
                            synchronized (out) {
                                unanswered.decrementAndGet();
                                out.write(reply);
                                answered.incrementAndGet();
                            }
                        } catch (IOException e) {
                            // The client left.
                        }
                    }, delay.applyAsLong(System.nanoTime()), TimeUnit.NANOSECONDS);
                }
            } catch (IOException e) {
                // The client left.
            }
        }

        @Override
        public void close() throws IOException {
            scheduler.shutdownNow();
            listener.close();
        }
    }

    static void pipelined() throws Exception {
        int messages = 24, inFlight = 6;
        try (var server = new SlowEcho(arrival -> TimeUnit.MILLISECONDS.toNanos(500))) {
            long start = System.nanoTime();
            List<String> replies = Pipelined.run(server.port(), messages, inFlight);
            long millis = (System.nanoTime() - start) / 1_000_000;
            var expected = new ArrayList<String>();
            for (int i = 0; i < messages; i++) expected.add("msg " + i);
            Expect.equal(expected, replies, "the replies to " + messages + " messages");
            Expect.equal(inFlight, server.mostUnanswered.get(), "the most messages the server held unanswered at once (run("
                    + messages + " messages, inFlight " + inFlight + ") against a server answering each after 500 ms; it took " + millis + " ms)");
        }
    }

    /// Runs a closed loop: `connections` connections, each sending a line and waiting for its
    /// reply, for `duration`; returns every latency in nanoseconds.
    static List<Long> closedLoop(int port, int connections, Duration duration) throws Exception {
        long end = System.nanoTime() + duration.toNanos();
        var latencies = java.util.Collections.synchronizedList(new ArrayList<Long>());
        var threads = new ArrayList<Thread>();
        for (int c = 0; c < connections; c++) {
            threads.add(Thread.ofPlatform().daemon().start(() -> {
                try (var socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                    socket.setSoTimeout(5_000);
                    socket.setTcpNoDelay(true);
                    var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                    OutputStream out = socket.getOutputStream();
                    while (System.nanoTime() < end) {
                        long sent = System.nanoTime();
                        out.write("ping\n".getBytes(StandardCharsets.UTF_8));
                        if (in.readLine() == null) return;
                        latencies.add(System.nanoTime() - sent);
                    }
                } catch (IOException e) {
                    // Counted as missing replies.
                }
            }));
        }
        for (Thread t : threads) t.join(duration.toMillis() + 10_000);
        return latencies;
    }

    static void littlesLaw() throws Exception {
        long predicted = Answers.number(FILE, "messages-per-second");
        try (var server = new SlowEcho(arrival -> TimeUnit.MILLISECONDS.toNanos(100))) {
            Duration run = Duration.ofSeconds(3);
            List<Long> latencies = closedLoop(server.port(), 20, run);
            double rate = latencies.size() / (double) run.toSeconds();
            double meanMillis = latencies.stream().mapToLong(Long::longValue).average().orElse(0) / 1e6;
            // Accept anything from the rate measured to the rate the delay alone allows (20 ÷ 0.1 s),
            // 20 % either way: a busy machine adds to each round trip, and so lowers the rate.
            double ideal = 20 / 0.1;
            Expect.that(predicted >= 0.8 * Math.min(rate, ideal) && predicted <= 1.2 * Math.max(rate, ideal), String.format(
                    "you predicted %d; 20 connections for %d s got %d replies, %.0f a second, with a mean round trip of %.1f ms",
                    predicted, run.toSeconds(), latencies.size(), rate, meanMillis));
        }
    }

    static void stall() throws Exception {
        long predicted = Answers.number(FILE, "slow-samples");
        long start = System.nanoTime();
        long stallFrom = start + TimeUnit.MILLISECONDS.toNanos(500), stallTo = start + TimeUnit.MILLISECONDS.toNanos(1500);
        // Answer at once, except that a message arriving during the stall waits for its end.
        try (var server = new SlowEcho(arrival -> arrival >= stallFrom && arrival < stallTo ? stallTo - arrival : 0)) {
            List<Long> latencies = closedLoop(server.port(), 1, Duration.ofMillis(2000 - (System.nanoTime() - start) / 1_000_000));
            long slow = latencies.stream().filter(n -> n >= TimeUnit.MILLISECONDS.toNanos(500)).count();
            long max = latencies.stream().mapToLong(Long::longValue).max().orElse(0) / 1_000_000;
            Expect.that(slow == predicted, "you predicted " + predicted + "; the generator recorded " + latencies.size()
                    + " latencies, " + slow + " of them 500 ms or more (the longest " + max + " ms)");
        }
    }
}
