import grading.Answers;
import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// The checked exercises of chapter 20, on lesson 20 itself (run with jbang, which brings Netty):
/// how connections are spread over event loops, what the line decoder does with a line too long,
/// and what an idle timeout counts.
public final class Ex20NettyEchoChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final Duration START_LIMIT = Duration.ofSeconds(90);

    @Override
    public String title() {
        return "Netty echo";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts how lesson 20 spreads six connections over two event loops", 10,
                        "the boss loop hands each new channel to the next event loop of the group, in turn, and it stays there",
                        Ex20NettyEchoChecks::perLoop).within(Duration.ofSeconds(150)),
                Check.core("predicts what lesson 20 does with a line longer than MAX_LINE", 10,
                        "read lesson 20's pipeline: LineBasedFrameDecoder(MAX_LINE, ...) raises TooLongFrameException, and exceptionCaught decides",
                        Ex20NettyEchoChecks::longLine).within(Duration.ofSeconds(150)),
                Check.core("predicts whether an idle timeout closes a client that trickles bytes", 10,
                        "IdleStateHandler is first in the pipeline: what does it count as a read, a line or any bytes?",
                        Ex20NettyEchoChecks::trickle).within(Duration.ofSeconds(150)));
    }

    /// Lesson 20 running in a process of its own, with every line it prints.
    record Lesson(Process process, int port, List<String> output) implements AutoCloseable {
        @Override
        public void close() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    static Lesson lesson() throws Exception {
        Path jbang = Path.of("jbang").toAbsolutePath();
        Expect.that(Files.isExecutable(jbang), "no ./jbang in " + Path.of("").toAbsolutePath() + ": grade from the course's top folder");
        Process process = new ProcessBuilder(jbang.toString(), "lessons/20_NettyEcho.java",
                "--port", "0", "--threads", "2", "--idle", "2")
                .redirectErrorStream(true).start();
        var output = new CopyOnWriteArrayList<String>();
        var listening = new java.util.concurrent.CompletableFuture<Integer>();
        Pattern port = Pattern.compile("listening on [^ ]*:(\\d+)");
        Thread.ofPlatform().daemon().name("lesson 20's output").start(() -> {
            try (var in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    output.add(line);
                    Matcher m = port.matcher(line);
                    if (m.find()) listening.complete(Integer.parseInt(m.group(1)));
                }
            } catch (IOException e) {
                // The process ended.
            }
            listening.complete(-1);
        });
        int bound;
        try {
            bound = listening.get(START_LIMIT.toSeconds(), TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            bound = -1;
        }
        var lesson = new Lesson(process, bound, output);
        if (bound < 0) {
            lesson.close();
            throw new AssertionError("lesson 20 did not say \"listening on\" within " + START_LIMIT.toSeconds()
                    + " s; it printed: " + String.join(" | ", output));
        }
        // Warm it up with one echo, given all the time a fresh JVM may need: the checks' own reads then get 3 s.
        try (var warmUp = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), bound)) {
            warmUp.setSoTimeout((int) START_LIMIT.toMillis());
            warmUp.getOutputStream().write("warm up\n".getBytes(StandardCharsets.UTF_8));
            Expect.equal("warm up\n", new String(warmUp.getInputStream().readNBytes(8), StandardCharsets.UTF_8),
                    "lesson 20's echo of a first line");
        } catch (IOException | AssertionError e) {
            lesson.close();
            throw e;
        }
        return lesson;
    }

    static void perLoop() throws Exception {
        long predicted = Answers.number(FILE, "connections-per-loop");
        try (var lesson = lesson()) {
            int before = lesson.output().size();        // the warm-up's connection is not counted
            var clients = new ArrayList<Client>();
            try {
                for (int i = 0; i < 6; i++) {
                    Client client = Client.connect(lesson.port());
                    client.echo("client " + i);
                    clients.add(client);
                }
                // Count the "[thread] accepted ..." lines of each event loop thread.
                Pattern accepted = Pattern.compile("\\[([^\\]]+)\\] accepted ");
                Map<String, Integer> perThread = new TreeMap<>();
                Expect.eventually(Duration.ofSeconds(5), () -> {
                    perThread.clear();
                    for (String line : lesson.output().subList(before, lesson.output().size())) {
                        Matcher m = accepted.matcher(line);
                        if (m.find()) perThread.merge(m.group(1), 1, Integer::sum);
                    }
                    return perThread.values().stream().mapToInt(Integer::intValue).sum() == 6;
                }, () -> "lesson 20 logged " + perThread + " accepted connections, not 6");
                boolean even = perThread.values().stream().allMatch(n -> n == predicted);
                Expect.that(even, "you predicted " + predicted + " per loop; lesson 20 with --threads 2 accepted the six on " + perThread);
            } finally {
                for (Client c : clients) c.close();
            }
        }
    }

    static void longLine() throws Exception {
        String predicted = Answers.prediction(FILE, "long-line");
        try (var lesson = lesson(); var client = Client.connect(lesson.port())) {
            String line = "x".repeat(9000);
            client.send(line + "\n");
            String first;
            try {
                first = client.readLine();
            } catch (AssertionError silentOrClosed) {
                first = null;
            }
            String observed = first == null ? "nothing" : first.equals(line) ? "echoed"
                    : first.equals(line.substring(0, 8192)) ? "cut" : "other";
            String said = first == null ? "nothing within " + Client.READ_LIMIT.toSeconds() + " s" : Expect.show(first);
            if (first != null && first.startsWith("ERROR")) {
                try {
                    client.expectClosed("after the ERROR line");
                    observed = "error-then-closed";
                } catch (AssertionError e) {
                    observed = "error-then-open";
                }
            }
            Expect.that(predicted.equals(observed), "you predicted " + predicted + "; after a 9,000-byte line lesson 20 answered "
                    + said + " (" + observed + ")");
        }
    }

    static void trickle() throws Exception {
        String predicted = Answers.prediction(FILE, "trickle-closed").toLowerCase();
        var pacer = Executors.newSingleThreadScheduledExecutor();
        try (var lesson = lesson(); var client = Client.connect(lesson.port())) {
            // One byte every 500 ms for 5 s, paced by a scheduler.
            var sending = pacer.scheduleAtFixedRate(() -> {
                try {
                    client.send("x");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, 0, 500, TimeUnit.MILLISECONDS);
            String observed;
            String detail;
            try {
                sending.get(5, TimeUnit.SECONDS);
                observed = "yes";
                detail = "sending failed";
            } catch (java.util.concurrent.TimeoutException stillSending) {
                sending.cancel(false);
                client.socket().setSoTimeout(300);
                try {
                    int b = client.input().read();
                    observed = "yes";
                    detail = b < 0 ? "the connection was closed" : "the server sent: " + Expect.show(readRest(client, b));
                } catch (SocketTimeoutException open) {
                    observed = "no";
                    detail = "the connection was still open and silent";
                } catch (IOException e) {
                    observed = "yes";
                    detail = "the connection failed: " + e.getMessage();
                }
            } catch (java.util.concurrent.ExecutionException e) {
                observed = "yes";
                detail = "a write failed: " + e.getCause().getMessage();
            }
            Expect.that(predicted.equals(observed), "you predicted " + predicted + "; after 5 s of one byte every 500 ms with --idle 2, " + detail);
        } finally {
            pacer.shutdownNow();
        }
    }

    static String readRest(Client client, int first) throws IOException {
        var text = new StringBuilder().append((char) first);
        try {
            for (int b; (b = client.input().read()) >= 0 && b != '\n'; ) text.append((char) b);
        } catch (IOException e) {
            // What came is enough to show.
        }
        return text.toString();
    }
}
