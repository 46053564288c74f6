import grading.Answers;
import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/// The checked exercises of chapter 14: what a relay's reader and writer see of a member that
/// leaves, vanishes or stops reading, and private messages in a small chat server.
public final class Ex14TcpChatChecks implements Lab {

    static final String FILE = "predictions.txt";

    @Override
    public String title() {
        return "TCP chat";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts what read() does when a member closes, and when it resets", 10,
                        "a FIN is the end of the stream, a normal event; a RST says the connection is gone: read the chapter's reader, and what ends its loop",
                        Ex14TcpChatChecks::closeAndReset),
                Check.core("predicts what write() does to a member that never reads", 10,
                        "the peer's kernel only takes what fits in its receive buffer, and yours keeps the rest in the send buffer: then what can write() do?",
                        Ex14TcpChatChecks::nonReader).within(Duration.ofSeconds(30)),
                Check.core("PrivateChat: /msg NAME text reaches NAME alone", 10,
                        "look at the line before broadcasting it: split \"/msg NAME text\" into three parts and find NAME in the members' map",
                        Ex14TcpChatChecks::privateMessage));
    }

    /// What a server's read() does: "-1" or the simple class name of what it threw.
    static String serverRead(ServerSocket listener, boolean reset) throws IOException {
        var client = new Socket();
        try {
            client.connect(listener.getLocalSocketAddress(), 3_000);
            try (Socket accepted = listener.accept()) {
                accepted.setSoTimeout(3_000);
                if (reset) {
                    client.setSoLinger(true, 0);     // close() now sends a RST instead of a FIN
                }
                client.close();
                try {
                    return String.valueOf(accepted.getInputStream().read());
                } catch (IOException e) {
                    return e.getClass().getSimpleName() + " (\"" + e.getMessage() + "\")";
                }
            }
        } finally {
            client.close();
        }
    }

    static void closeAndReset() throws IOException {
        String close = Answers.prediction(FILE, "read-after-close");
        String reset = Answers.prediction(FILE, "read-after-reset");
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            listener.setSoTimeout(3_000);
            String closed = serverRead(listener, false);
            String wasReset = serverRead(listener, true);
            Expect.that(closed.equals(close) || closed.startsWith(close + " "),
                    "you predicted read-after-close: " + close + "; after the client's close(), the server's read() gave " + closed);
            Expect.that(wasReset.equals(reset) || wasReset.startsWith(reset + " "),
                    "you predicted read-after-reset: " + reset + "; after the client's reset, the server's read() gave " + wasReset);
        }
    }

    static void nonReader() throws Exception {
        String predicted = Answers.prediction(FILE, "write-to-non-reader").toLowerCase();
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                var member = new Socket()) {
            member.connect(listener.getLocalSocketAddress(), 3_000);
            listener.setSoTimeout(3_000);
            Socket accepted = listener.accept();
            var written = new AtomicLong();
            var failure = new AtomicReference<IOException>();
            // Write lines to a member that never reads, as a relay without queues would.
            Thread writer = Thread.ofPlatform().daemon().name("writer").start(() -> {
                byte[] line = ("x".repeat(999) + "\n").getBytes();
                try {
                    OutputStream out = accepted.getOutputStream();
                    while (written.get() < 1L << 30) {
                        out.write(line);
                        written.addAndGet(line.length);
                    }
                } catch (IOException e) {
                    failure.set(e);
                }
            });
            // Wait until the writer makes no progress for a whole second (or ends).
            long[] last = {-1, System.nanoTime()};
            Expect.eventually(Duration.ofSeconds(20), () -> {
                long now = written.get();
                if (now != last[0]) {
                    last[0] = now;
                    last[1] = System.nanoTime();
                }
                return !writer.isAlive() || System.nanoTime() - last[1] > 1_000_000_000L;
            }, "the writer kept writing to a member that reads nothing: " + written.get() + " bytes");
            String observed = failure.get() != null ? "fails"
                    : writer.isAlive() ? "blocks" : "drops";
            String detail = switch (observed) {
                case "fails" -> "write() threw " + failure.get();
                case "blocks" -> "write() stopped returning after " + String.format("%,d", written.get())
                        + " bytes, which wait in the two kernels' buffers";
                default -> "write() returned for 1 GiB of lines that nobody read";
            };
            accepted.close();                        // the blocked write() wakes with an exception
            writer.join(3_000);
            Expect.that(predicted.equals(observed), "you predicted " + predicted + "; on this machine " + detail);
        }
    }

    static void privateMessage() throws Exception {
        try (var server = PrivateChat.start(0);
                var alice = join(server.port(), "alice");
                var bob = join(server.port(), "bob");
                var carol = join(server.port(), "carol")) {
            alice.send("/msg bob are you there?\n");
            Expect.equal("alice (private): are you there?", bob.readLine(), "bob's next line after alice sent \"/msg bob are you there?\"");
            alice.send("/msg dave hello\n");
            Expect.equal("*** no dave here", alice.readLine(), "alice's next line after she sent \"/msg dave hello\" (nobody is called dave)");
            alice.send("hello all\n");
            Expect.equal("alice: hello all", carol.readLine(),
                    "carol's first line after alice's private messages to bob and dave, then \"hello all\" (a private message must not reach her)");
            Expect.equal("alice: hello all", bob.readLine(), "bob's next line after alice sent \"hello all\"");
        }
    }

    /// Connects a member with its name and waits for the welcome, so that the member is in the room.
    static Client join(int port, String name) throws IOException {
        var client = Client.connect(port);
        client.send(name + "\n");
        Expect.equal("*** welcome, " + name, client.readLine(), "the welcome after the name " + name);
        return client;
    }
}
