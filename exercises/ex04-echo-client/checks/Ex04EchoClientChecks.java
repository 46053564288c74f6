import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.List;

/// The checked exercises of chapter 04: a client that half-closes, and two predictions about
/// what a client sees, compared with what this machine's kernel does.
public final class Ex04EchoClientChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Override
    public String title() {
        return "An echo client";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("sendAll gets the answer of a server that reads to end of stream", 10,
                        "the server answers when its read returns -1: shut down your sending side, keep the socket open to read",
                        Ex04EchoClientChecks::halfClose),
                Check.core("predicts connect to a full accept queue", 10,
                        "with the queue full the kernel drops the SYN and sends nothing back: compare with a closed port's RST",
                        Ex04EchoClientChecks::fullQueue),
                Check.core("predicts read after a reset", 10,
                        "a FIN is an orderly end of stream; a RST destroys the connection",
                        Ex04EchoClientChecks::reset));
    }

    static void halfClose() throws Exception {
        try (var server = new ServerSocket(0, 10, LOOPBACK)) {
            server.setSoTimeout(5_000);
            // The server reads everything, then answers with the lines sorted.
            var served = CompletableFuture.supplyAsync(() -> {
                try (Socket client = server.accept()) {
                    client.setSoTimeout(10_000);
                    String all = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    client.getOutputStream().write((String.join("\n", all.lines().sorted().toList()) + "\n").getBytes(StandardCharsets.UTF_8));
                    return "read " + all.length() + " bytes to end of stream and answered";
                } catch (SocketTimeoutException e) {
                    return "read for 10 s and never saw end of stream";
                } catch (IOException e) {
                    return "failed: " + e;
                }
            });
            String reply;
            try {
                reply = HalfCloseClient.sendAll(server.getLocalPort(), "pear\napple\nfig\n");
            } catch (SocketTimeoutException e) {
                throw new AssertionError("sendAll sent \"pear\\napple\\nfig\\n\" and got no reply within its timeout: the server is still"
                        + " waiting for the end of the client's input (" + e.getMessage() + ")");
            }
            String serverSaw = served.get(15, TimeUnit.SECONDS);
            Expect.equal("apple\nfig\npear\n", reply, "sendAll's reply to \"pear\\napple\\nfig\\n\" (the server " + serverSaw + ")");
        }
    }

    static void fullQueue() throws IOException {
        String predicted = Answers.prediction(FILE, "full-queue-connect");
        var clients = new ArrayList<Socket>();
        try (var listener = new ServerSocket(0, 1, LOOPBACK)) {
            var address = new InetSocketAddress(LOOPBACK, listener.getLocalPort());
            for (int i = 0; i < 2; i++) {
                var client = new Socket();
                clients.add(client);
                client.connect(address, 3_000);
            }
            var third = new Socket();
            clients.add(third);
            String observed;
            try {
                third.connect(address, 1_000);
                observed = "nothing: it connected";
            } catch (IOException e) {
                observed = e.getClass().getSimpleName() + " (" + e.getMessage() + ")";
            }
            Expect.that(observed.startsWith(predicted + " "), "you predicted " + predicted
                    + "; with backlog 1, two clients queued and nobody accepting, a third connect (1 s timeout) threw " + observed);
        } finally {
            for (Socket client : clients) {
                client.close();
            }
        }
    }

    static void reset() throws IOException {
        String predicted = Answers.prediction(FILE, "read-after-reset");
        try (var listener = new ServerSocket(0, 10, LOOPBACK); var client = new Socket()) {
            listener.setSoTimeout(3_000);
            client.connect(new InetSocketAddress(LOOPBACK, listener.getLocalPort()), 3_000);
            client.setSoTimeout(3_000);
            try (Socket accepted = listener.accept()) {
                accepted.setSoLinger(true, 0);            // close() now sends a RST
            }
            String observed;
            try {
                observed = String.valueOf(client.getInputStream().read());
            } catch (SocketTimeoutException e) {
                observed = "nothing within 3 s";
            } catch (IOException e) {
                observed = e.getClass().getSimpleName() + " (" + e.getMessage() + ")";
            }
            Expect.that(observed.equals(predicted) || observed.startsWith(predicted + " "),
                    "you predicted " + predicted + "; after the server closed with SO_LINGER 0, the client's read gave " + observed);
        }
    }
}
