import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadTestTest {
    static LoadTest.Settings quick(int connections) {
        return new LoadTest.Settings(connections, 64, Duration.ofMillis(200), Duration.ofSeconds(1), 2,
                Duration.ofSeconds(3));
    }

    static LoadTest.Target target(int port) {
        return new LoadTest.Target("test", "127.0.0.1", port);
    }

    @Test
    void measuresLessonFiveAndItsCountsAddUp() throws Exception {
        try (var server = PassiveEcho.start(0)) {
            LoadTest.Report r = LoadTest.run(target(server.port()), quick(4), line -> {});
            assertThat(r.connected()).isEqualTo(4);
            assertThat(r.refused()).isZero();
            assertThat(r.errors()).isZero();
            assertThat(r.starved()).isZero();
            assertThat(r.sent()).isEqualTo(r.replies() + r.errors());
            assertThat(r.measured()).isPositive().isLessThanOrEqualTo(r.replies());
            assertThat(r.seconds()).isBetween(0.9, 2.0);
            assertThat(r.messagesPerSecond()).isEqualTo(r.measured() / r.seconds());
            assertThat(r.bytesPerSecond()).isEqualTo(r.messagesPerSecond() * 64);
            assertThat(List.of(r.p50(), r.p90(), r.p99(), r.p999(), r.max())).isSorted().allMatch(v -> v > 0);
        }
    }

    @Test
    void aServerThatServesOneClientAtATimeLeavesTheOthersStarved() throws Exception {
        // Like a plain Python echo server that accepts once: it talks to the first client only.
        try (var server = new TestServer((socket, index) -> {
            if (index == 0) {
                echo(socket, Integer.MAX_VALUE);
            } else {
                socket.getInputStream().transferTo(OutputStream.nullOutputStream());   // never answers
            }
        })) {
            LoadTest.Report r = LoadTest.run(target(server.port()), quick(4), line -> {});
            assertThat(r.connected()).isEqualTo(4);
            assertThat(r.starved()).isEqualTo(3);
            assertThat(r.measured()).isPositive();
            assertThat(r.errors()).as("the starved connections' first messages never got a reply").isEqualTo(3);
            assertThat(r.sent()).isEqualTo(r.replies() + r.errors());
        }
    }

    @Test
    void aServerThatHangsUpCausesErrorsThatStillAddUp() throws Exception {
        try (var server = new TestServer((socket, index) -> echo(socket, 50))) {
            LoadTest.Report r = LoadTest.run(target(server.port()), quick(4), line -> {});
            assertThat(r.replies()).isEqualTo(4 * 50);
            assertThat(r.errors()).as("each connection's 51st message is lost").isEqualTo(4);
            assertThat(r.sent()).isEqualTo(r.replies() + r.errors());
            assertThat(r.seconds()).as("with every connection gone, the clock stops early").isLessThan(0.9);
        }
    }

    @Test
    void aReplyThatIsNotTheEchoIsAnError() throws Exception {
        try (var server = new TestServer((socket, index) -> {
            socket.getOutputStream().write("busy, try later\n".getBytes(StandardCharsets.UTF_8));
        })) {
            LoadTest.Report r = LoadTest.run(target(server.port()), quick(2), line -> {});
            assertThat(r.replies()).isZero();
            assertThat(r.errors()).isEqualTo(2);
            assertThat(r.starved()).isEqualTo(2);
            assertThat(r.sent()).isEqualTo(r.replies() + r.errors());
        }
    }

    @Test
    void refusedConnectionsAreCountedNotThrown() throws Exception {
        int closedPort;
        try (var probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort();
        }
        LoadTest.Report r = LoadTest.run(target(closedPort), quick(3), line -> {});
        assertThat(r.refused()).isEqualTo(3);
        assertThat(r.connected()).isZero();
        assertThat(r.sent()).isZero();
    }

    @Test
    void mainPrintsOneRowPerTargetAndProgressWhileItRuns() throws Exception {
        try (var server = PassiveEcho.start(0)) {
            String address = "127.0.0.1:" + server.port();
            try (var run = LessonRun.start("LoadTest", "--target", "first=" + address, "--target", "second=" + address,
                    "--connections", "2", "--warmup", "0", "--duration", "1")) {
                assertThat(run.exitCode(Duration.ofSeconds(30))).as(run.output()).isZero();
                assertThat(run.stdout().lines().filter(l -> l.startsWith("first ") || l.startsWith("second ")))
                        .hasSize(2);
                assertThat(run.stderr()).contains("measuring").contains("msgs/s");
            }
        }
    }

    @Test
    void jsonOutputCarriesTheSameCounts() throws Exception {
        try (var server = PassiveEcho.start(0);
             var run = LessonRun.start("LoadTest", "--target", "j=127.0.0.1:" + server.port(),
                     "--connections", "2", "--warmup", "0", "--duration", "1", "--json")) {
            assertThat(run.exitCode(Duration.ofSeconds(30))).as(run.output()).isZero();
            String json = run.stdout().strip();
            assertThat(json).startsWith("{\"target\":\"j\"").contains("\"errors\":0").contains("\"starved\":0");
            long sent = field(json, "sent"), replies = field(json, "replies"), errors = field(json, "errors");
            assertThat(sent).isEqualTo(replies + errors);
        }
    }

    static long field(String json, String name) {
        var m = java.util.regex.Pattern.compile("\"" + name + "\":(\\d+)").matcher(json);
        assertThat(m.find()).as(name + " in " + json).isTrue();
        return Long.parseLong(m.group(1));
    }

    /// Echoes up to `lines` lines, then hangs up.
    static void echo(Socket socket, int lines) throws IOException {
        var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = socket.getOutputStream();
        for (int i = 0; i < lines; i++) {
            String line = in.readLine();
            if (line == null) return;
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    interface Behaviour {
        void serve(Socket socket, int index) throws IOException;
    }

    /// A server whose behaviour per connection the test chooses; the index counts connections from 0.
    static final class TestServer implements AutoCloseable {
        final ServerSocket listener = new ServerSocket();
        final List<Socket> sockets = new ArrayList<>();

        TestServer(Behaviour behaviour) throws IOException {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread.ofVirtual().start(() -> {
                for (int index = 0; ; index++) {
                    try {
                        Socket socket = listener.accept();
                        synchronized (sockets) { sockets.add(socket); }
                        int i = index;
                        Thread.ofVirtual().start(() -> {
                            try (socket) {
                                behaviour.serve(socket, i);
                            } catch (IOException e) {
                                // The load test closed its side: this connection is over.
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            synchronized (sockets) {
                for (Socket s : sockets) s.close();
            }
        }
    }
}
