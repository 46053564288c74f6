import grading.Answers;
import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import grading.TcpQueues;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/// The checked exercises of chapter 09: what the kernel does for the clients a busy server has
/// not accepted, and lesson 09 with an idle timeout.
public final class Ex09NaiveServerChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final Duration WAIT = Duration.ofSeconds(10);
    static final int CONNECT_LIMIT_MS = 1_000;

    @Override
    public String title() {
        return "The naive server";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts what a waiting client has sent", 10,
                        "the handshake and the receiving are the kernel's work: accept() only hands over a connection that exists already",
                        Ex09NaiveServerChecks::waitingClientSent),
                Check.core("predicts which client's connect hangs with backlog 1", 10,
                        "accept() took client 1 out of the accept queue; how many finished handshakes fit in it follows from the backlog (chapter 03 watched it fill)",
                        Ex09NaiveServerChecks::backlogOne),
                Check.core("drops an idle client and serves the next", 10,
                        "a read timeout on the client's socket (setSoTimeout): the read throws, the socket stays open for a last line",
                        Ex09NaiveServerChecks::idleTimeout).within(Duration.ofSeconds(30)));
    }

    static void waitingClientSent() throws Exception {
        String connects = Answers.prediction(FILE, "connect-returns-before-accept").strip().toLowerCase(Locale.ROOT);
        long bytes = Answers.number(FILE, "bytes-waiting-at-accept");
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                var first = Client.connect(listener.getLocalPort());
                Socket served = listener.accept()) {
            // The first client is being served; the server will not call accept() until it leaves.
            first.send("first\n");
            Expect.equal('f', (char) served.getInputStream().read(), "the first byte the server read from its first client");
            Client second;
            try {
                second = Client.connect(listener.getLocalPort());
            } catch (AssertionError e) {
                throw new AssertionError("you predicted " + connects + "; the second client's connect, with the server busy with the"
                        + " first and not in accept(), did not return: no (" + e.getMessage() + ")");
            }
            try (second) {
                Expect.that(connects.equals("yes"), "you predicted " + connects + "; the second client's connect, with the server"
                        + " busy with the first and not in accept(), returned at once: yes");
                for (int i = 0; i < 3; i++) second.send("hello\n");
                int port = second.socket().getLocalPort();
                Expect.eventually(WAIT, () -> recvQ(listener.getLocalPort(), port) == 18,
                        () -> "the kernel holds " + recvQ(listener.getLocalPort(), port) + " bytes of the 18 the second client sent");
                try (Socket next = listener.accept()) {
                    int available = next.getInputStream().available();
                    Expect.that(bytes == available, String.format("you predicted %d bytes; the second client sent \"hello\\n\" three times"
                            + " while it waited, and when the server accepted it, available() said %d", bytes, available));
                }
            }
        }
    }

    static long recvQ(int localPort, int remotePort) {
        try {
            return TcpQueues.of(localPort, remotePort).map(TcpQueues.Queues::receive).orElse(-1L);
        } catch (IOException e) {
            return -1;
        }
    }

    static void backlogOne() throws Exception {
        long predicted = Answers.number(FILE, "first-client-whose-connect-hangs");
        var clients = new ArrayList<Socket>();
        try (var listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            var first = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
            clients.add(first);
            listener.accept();                      // client 1 is served; nobody calls accept() again
            int hanging = 0;
            for (int n = 2; n <= 6 && hanging == 0; n++) {
                var client = new Socket();
                clients.add(client);
                try {
                    client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()), CONNECT_LIMIT_MS);
                } catch (SocketTimeoutException e) {
                    hanging = n;
                }
            }
            Expect.that(predicted == hanging, "you predicted client " + predicted + "; with backlog 1 and client 1 being served, "
                    + (hanging == 0 ? "clients 2 to 6 all connected" : "clients 2 to " + (hanging - 1) + " connected at once, and client "
                    + hanging + "'s connect had no answer within " + CONNECT_LIMIT_MS + " ms"));
        } finally {
            for (Socket s : clients) s.close();
        }
    }

    static void idleTimeout() throws Exception {
        var idle = Duration.ofSeconds(1);
        try (var server = IdleNaiveServer.start(0, idle); var talker = Client.connect(server.port())) {
            // A client that pauses shorter than the idle time, again and again, is not dropped.
            for (int i = 0; i < 8; i++) {
                Expect.equal("ECHO line " + i, echo(talker, "line " + i), "the reply to line " + i + " of a client that pauses 200 ms between lines");
                Thread.sleep(200);                  // the client's pause: part of the scenario, not a wait for the server
            }
            try (var next = Client.connect(server.port())) {
                next.send("my turn\n");
                long start = System.nanoTime();
                String last;
                try {
                    last = talker.readLine();
                } catch (AssertionError silent) {
                    throw new AssertionError("a client silent for 1 s got no line within 3 s more (an idle limit of 1 s, and the next"
                            + " client waiting): " + silent.getMessage());
                }
                long waited = (System.nanoTime() - start) / 1_000_000;
                Expect.that(last.startsWith("TIMEOUT"), "a client silent for 1 s got " + Expect.show(last) + "; expected a line starting with TIMEOUT");
                talker.expectClosed("after the TIMEOUT line");
                Expect.equal("ECHO my turn", next.readLine(), "the reply to the next client, waiting meanwhile (dropped after " + waited + " ms)");
            }
        }
    }

    static String echo(Client client, String line) throws IOException {
        client.send(line + "\n");
        return client.readLine();
    }
}
