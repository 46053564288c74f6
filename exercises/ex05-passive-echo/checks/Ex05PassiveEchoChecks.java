import grading.Answers;
import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/// The checked exercises of chapter 05: two predictions about a line echo server, run here on
/// real sockets, and a line limit added to lesson 05's server.
public final class Ex05PassiveEchoChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Override
    public String title() {
        return "Passive echo";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts the lines echoed for one write", 10,
                        "the server echoes lines, and a line ends at a newline, however the bytes arrived",
                        Ex05PassiveEchoChecks::linesForOneWrite),
                Check.core("predicts what a second client sees of an acceptor that serves", 10,
                        "the kernel completes handshakes by itself; only reading the line needs the busy thread",
                        Ex05PassiveEchoChecks::acceptorThatServes),
                Check.core("refuses a line over MAX_LINE and goes on serving", 10,
                        "count bytes as they come: once a line holds max bytes and no newline came, refuse it at once",
                        Ex05PassiveEchoChecks::lineLimit));
    }

    static void linesForOneWrite() throws IOException {
        long predicted = Answers.number(FILE, "lines-echoed");
        try (var listener = new ServerSocket(0, 10, LOOPBACK)) {
            Thread.ofVirtual().start(() -> echoLines(listener));
            try (var client = Client.connect(listener.getLocalPort())) {
                client.send("one\ntwo\nthree\n");
                client.socket().shutdownOutput();
                var lines = new ArrayList<String>();
                var in = new BufferedReader(new InputStreamReader(client.input(), StandardCharsets.UTF_8));
                for (String line; (line = in.readLine()) != null; ) {
                    lines.add(line);
                }
                Expect.that(predicted == lines.size(), "you predicted " + predicted + "; \"one\\ntwo\\nthree\\n\" in one write came back as "
                        + lines.size() + " lines: " + lines);
            }
        }
    }

    /// A passive line echo for one client: read a line, echo it, until end of stream.
    private static void echoLines(ServerSocket listener) {
        try (Socket client = listener.accept()) {
            client.setSoTimeout(5_000);
            var in = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                client.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // The check's client went away: the check reports what it saw.
        }
    }

    static void acceptorThatServes() throws IOException {
        String predictedConnects = yesOrNo("second-connects");
        String predictedEcho = yesOrNo("second-echo-while-first-stays");
        try (var listener = new ServerSocket(0, 10, LOOPBACK)) {
            // The acceptor serves each client itself, one after the other.
            Thread.ofVirtual().start(() -> {
                while (!listener.isClosed()) {
                    echoLines(listener);
                }
            });
            try (var a = Client.connect(listener.getLocalPort()); var b = new Socket()) {
                a.echo("from A");
                String connects;
                try {
                    b.connect(new InetSocketAddress(LOOPBACK, listener.getLocalPort()), 2_000);
                    connects = "yes";
                } catch (IOException e) {
                    connects = "no";
                }
                String echo = "no";
                if (connects.equals("yes")) {
                    b.setSoTimeout(2_000);
                    b.getOutputStream().write("from B\n".getBytes(StandardCharsets.UTF_8));
                    try {
                        echo = b.getInputStream().read() >= 0 ? "yes" : "no";
                    } catch (SocketTimeoutException e) {
                        echo = "no";
                    }
                }
                Expect.that(predictedConnects.equals(connects) && predictedEcho.equals(echo),
                        "you predicted connects: " + predictedConnects + ", echo: " + predictedEcho + "; with A connected and served,"
                                + " B's connect " + (connects.equals("yes") ? "succeeded" : "failed") + " and B's line "
                                + (echo.equals("yes") ? "was echoed" : "got no echo within 2 s"));
            }
        }
    }

    private static String yesOrNo(String key) {
        String value = Answers.prediction(FILE, key).toLowerCase(java.util.Locale.ROOT);
        Expect.that(value.equals("yes") || value.equals("no"), "write yes or no after " + key + ":, not " + value);
        return value;
    }

    static void lineLimit() throws IOException {
        try (var server = LineLimitEcho.start(0); var steady = Client.connect(server.port())) {
            steady.echo("a line of 16 b..");
            // One byte over the limit, then its newline; then 100 bytes and no newline at all.
            for (String tooLong : List.of("seventeen bytes!!\n", "x".repeat(100))) {
                try (var greedy = Client.connect(server.port())) {
                    greedy.echo("exactly sixteen!");
                    greedy.send(tooLong);
                    String reply = greedy.readLine();
                    Expect.that(reply.startsWith("ERROR"), "after " + Expect.show(tooLong) + " (MAX_LINE is 16), the server answered "
                            + Expect.show(reply) + " instead of a line starting with ERROR");
                    greedy.expectClosed("after its ERROR line");
                }
            }
            steady.echo("still served");
        }
    }
}
