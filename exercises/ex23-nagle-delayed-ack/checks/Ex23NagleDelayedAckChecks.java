import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/// The checked exercises of chapter 23: Nagle's algorithm and the delayed ACK meeting on this
/// machine's loopback, timed as the median of many requests (a timer is a floor: a busy machine
/// can only add to it), and a server whose two-part answer must stop paying the timer.
public final class Ex23NagleDelayedAckChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final int ROUNDS = 15;
    /// Below this median no request waited for a delayed-ACK timer (Linux waits at least 40 ms).
    static final Duration NO_WAIT = Duration.ofMillis(20);

    @Override
    public String title() {
        return "Nagle and delayed ACK";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts how many timer waits a request in three small writes pays", 10,
                        "Nagle holds back small data while anything sent is unacknowledged; what happens to a write that finds data already held?",
                        Ex23NagleDelayedAckChecks::threeWrites),
                Check.core("predicts whether TCP_NODELAY on the server ends the client's stall", 10,
                        "ask whose data is held back, and whose ACK is delayed",
                        Ex23NagleDelayedAckChecks::serverNodelay),
                Check.core("TwoPartAnswer.serve answers without a delayed-ACK wait", 10,
                        "now the server is the sender of two small writes, and the client has nothing to send until the answer is whole",
                        Ex23NagleDelayedAckChecks::twoPartAnswer));
    }

    static void threeWrites() throws Exception {
        long predicted = Answers.number(FILE, "three-writes-timer-waits");
        Expect.that(predicted >= 0 && predicted <= 2, "write 0, 1 or 2 after three-writes-timer-waits:, not " + predicted);
        List<String> two = List.of("GET /item/42\n", "accept: text/plain\n");
        List<String> three = List.of("GET /item/42\n", "accept: text/plain\n", "\n");
        Duration twoWrites = median(requests(two, client -> answerAfterLines(client, 2)));
        Duration threeWrites = median(requests(three, client -> answerAfterLines(client, 3)));
        // One wait: about as long as two writes take; two waits: about twice as long.
        long waits = threeWrites.compareTo(NO_WAIT) < 0 ? 0
                : threeWrites.toNanos() < twoWrites.toNanos() * 3 / 2 ? 1 : 2;
        Expect.that(predicted == waits, "you predicted " + predicted + "; the median of " + ROUNDS + " requests in three writes was "
                + ms(threeWrites) + ", in two writes " + ms(twoWrites) + ": " + waits + " wait(s) for the delayed-ACK timer");
    }

    static void serverNodelay() throws Exception {
        String predicted = Answers.prediction(FILE, "server-nodelay-ends-stall");
        Expect.that(predicted.equals("yes") || predicted.equals("no"), "write yes or no after server-nodelay-ends-stall:, not " + predicted);
        List<String> two = List.of("GET /item/42\n", "accept: text/plain\n");
        Duration median = median(requests(two, client -> {
            client.setOption(StandardSocketOptions.TCP_NODELAY, true);
            answerAfterLines(client, 2);
        }));
        String ended = median.compareTo(NO_WAIT) < 0 ? "yes" : "no";
        Expect.that(predicted.equals(ended), "you predicted " + predicted + "; with TCP_NODELAY on the server's socket and Nagle on at the client, the median of "
                + ROUNDS + " requests in two writes was " + ms(median) + (ended.equals("yes") ? ": no stall" : ": the stall is still there"));
    }

    static void twoPartAnswer() throws Exception {
        var answers = new ArrayList<String>();
        List<Duration> times = requests(List.of("GET /item/42\n"), TwoPartAnswer::serve, 2, answers);
        String expected = TwoPartAnswer.STATUS + TwoPartAnswer.BODY;
        for (String answer : answers) {
            Expect.equal(expected, answer, "the answer to GET /item/42 (status line and body line)");
        }
        Duration median = median(times);
        Expect.that(median.compareTo(NO_WAIT) < 0, "sent " + ROUNDS + " requests, one write each, and read two lines back: the median answer took "
                + ms(median) + " (fastest " + ms(times.stream().min(Duration::compareTo).orElseThrow()) + "); expected under " + ms(NO_WAIT));
    }

    /// What the server does with one accepted connection.
    interface Serve {
        void serve(Socket client) throws IOException;
    }

    /// A server that reads `lines` lines a request and answers each in one write.
    static void answerAfterLines(Socket client, int lines) throws IOException {
        var in = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = client.getOutputStream();
        while (true) {
            for (int i = 0; i < lines; i++) {
                if (in.readLine() == null) {
                    return;
                }
            }
            out.write("200 ok\n".getBytes(StandardCharsets.UTF_8));
        }
    }

    static List<Duration> requests(List<String> writes, Serve server) throws Exception {
        return requests(writes, server, 1, new ArrayList<>());
    }

    /// Times ROUNDS requests on one connection (Nagle on at the client), each sent as the given writes, each answered by
    /// `answerLines` lines (collected in `answers`).
    static List<Duration> requests(List<String> writes, Serve server, int answerLines, List<String> answers)
            throws Exception {
        try (var listener = new ServerSocket(0, 10, LOOPBACK)) {
            listener.setSoTimeout(5_000);
            Thread serving = Thread.ofVirtual().start(() -> {
                try (Socket client = listener.accept()) {
                    client.setSoTimeout(10_000);
                    server.serve(client);
                } catch (SocketException e) {
                    // The check closed its end: the connection is over.
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            var times = new ArrayList<Duration>();
            try (var socket = new Socket()) {
                socket.connect(new InetSocketAddress(LOOPBACK, listener.getLocalPort()), 5_000);
                socket.setSoTimeout(5_000);
                OutputStream out = socket.getOutputStream();
                var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                for (int round = 0; round < ROUNDS; round++) {
                    long start = System.nanoTime();
                    for (String write : writes) {
                        out.write(write.getBytes(StandardCharsets.UTF_8));
                    }
                    var answer = new StringBuilder();
                    for (int i = 0; i < answerLines; i++) {
                        String line = in.readLine();
                        Expect.that(line != null, "sent request " + (round + 1) + " and the server closed the connection after \"" + answer + "\"");
                        answer.append(line).append('\n');
                    }
                    times.add(Duration.ofNanos(System.nanoTime() - start));
                    answers.add(answer.toString());
                }
            }
            serving.join(5_000);
            return times;
        }
    }

    static Duration median(List<Duration> times) {
        return times.stream().sorted().toList().get(times.size() / 2);
    }

    static String ms(Duration d) {
        return "%.1f ms".formatted(d.toNanos() / 1e6);
    }
}
