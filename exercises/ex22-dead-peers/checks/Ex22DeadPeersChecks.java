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
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import jdk.net.ExtendedSocketOptions;

/// The checked exercises of chapter 22, on loopback without root: writing to a peer that closed,
/// what keep-alive does to a peer that is alive but silent, and a heartbeat deadline.
public final class Ex22DeadPeersChecks implements Lab {

    static final String FILE = "predictions.txt";

    @Override
    public String title() {
        return "Dead peers";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts what writes to a peer that closed do", 10,
                        "a FIN says only that the peer will send no more: does our kernel know yet that it will not read either? And what does the peer's kernel answer to bytes for a socket that is gone?",
                        Ex22DeadPeersChecks::writeAfterClose),
                Check.core("predicts what keep-alive does to a peer that is alive but silent", 10,
                        "a keep-alive probe is answered by the peer's kernel, not by its program",
                        Ex22DeadPeersChecks::keepAlive).within(Duration.ofSeconds(30)),
                Check.core("QuietCutter closes a silent client after its deadline, and keeps one that talks", 10,
                        "setSoTimeout(deadline) on the socket: a read that waits longer throws SocketTimeoutException; catch it, send the notice, close",
                        Ex22DeadPeersChecks::heartbeat).within(Duration.ofSeconds(30)));
    }

    static String write(Socket socket) {
        try {
            socket.getOutputStream().write("are you there?\n".getBytes());
            return "succeeds";
        } catch (IOException e) {
            return e.getClass().getSimpleName() + " (\"" + e.getMessage() + "\")";
        }
    }

    static boolean matches(String observed, String predicted) {
        return observed.equals(predicted) || observed.startsWith(predicted + " ");
    }

    static void writeAfterClose() throws Exception {
        String first = Answers.prediction(FILE, "first-write-after-close");
        String later = Answers.prediction(FILE, "later-write-after-close");
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                var ours = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
            ours.setSoTimeout(3_000);
            listener.accept().close();                       // the peer closes: a FIN
            Expect.equal(-1, ours.getInputStream().read(), "our read() after the peer's close");
            String firstWrite = write(ours);
            // Write again until a write fails (the peer's RST has come back), for at most 3 s.
            var laterWrite = new AtomicReference<String>();
            Expect.eventually(Duration.ofSeconds(3), () -> {
                laterWrite.set(write(ours));
                return !laterWrite.get().equals("succeeds");
            }, "every write for 3 s after the peer closed succeeded");
            Expect.that(matches(firstWrite, first), "you predicted first-write-after-close: " + first
                    + "; after the peer's FIN, the first write() " + firstWrite);
            Expect.that(matches(laterWrite.get(), later), "you predicted later-write-after-close: " + later
                    + "; once the peer's RST came back, write() gave " + laterWrite.get());
        }
    }

    static void keepAlive() throws Exception {
        String predicted = Answers.prediction(FILE, "keepalive-silent-peer");
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                var ours = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
                Socket silentPeer = listener.accept()) {
            ours.setKeepAlive(true);
            ours.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, 1);
            ours.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, 1);
            ours.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, 2);
            ours.setSoTimeout(6_000);
            String observed;
            try {
                int b = ours.getInputStream().read();
                observed = b < 0 ? "closed (read returned -1)" : "open (and the peer sent a byte)";
            } catch (SocketTimeoutException e) {
                observed = "open";
            } catch (IOException e) {
                observed = "closed (read threw " + e.getClass().getSimpleName() + ": " + e.getMessage() + ")";
            }
            Expect.that(matches(observed, predicted.toLowerCase()), "you predicted " + predicted + "; after 6 s of silence with keep-alive idle 1 s,"
                    + " interval 1 s, 2 probes, the connection to a live but silent peer (port " + silentPeer.getLocalPort() + ") gave: " + observed
                    + (observed.equals("open") ? " (our read() timed out after 6 s, the connection still there)" : ""));
        }
    }

    static void heartbeat() throws Exception {
        Duration deadline = Duration.ofSeconds(1);
        var pacer = Executors.newSingleThreadScheduledExecutor();
        try (var server = QuietCutter.start(0, deadline);
                var silent = Client.connect(server.port());
                var talker = Client.connect(server.port())) {
            long quietSince = System.nanoTime();      // the server's wait starts after it read "hello"
            silent.echo("hello");
            talker.echo("hello");
            // The talker sends a line every 300 ms for 2.4 s, paced by a scheduler.
            var sent = new java.util.concurrent.atomic.AtomicInteger();
            var sending = pacer.scheduleAtFixedRate(() -> {
                try {
                    talker.send("tick " + sent.incrementAndGet() + "\n");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, 300, 300, TimeUnit.MILLISECONDS);
            String notice;
            try {
                notice = silent.readLine();
            } catch (AssertionError e) {
                throw new AssertionError("a client silent after \"hello\", with a deadline of 1 s: " + e.getMessage(), e);
            }
            Expect.equal("*** no word from you for 1000 ms; closing", notice,
                    "what a client that said nothing after \"hello\" reads (the deadline is 1 s)");
            long millis = (System.nanoTime() - quietSince) / 1_000_000;
            silent.expectClosed("after the notice");
            Expect.that(millis >= 1_000, "the silent client was cut off at most " + millis + " ms after it said \"hello\", before its 1 s deadline");
            for (int i = 1; i <= 8; i++) {
                Expect.equal("tick " + i, talker.readLine(), "a client sending a line every 300 ms, its line " + i + "'s echo");
            }
            sending.cancel(false);
        } finally {
            pacer.shutdownNow();
        }
    }
}
