import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/// A client that writes numbered lines as fast as the kernel lets it, on its own thread, and
/// counts the bytes each finished write handed over. Used to show what a receive mode does to a
/// fast sender: active mode never stops it, "active once" makes it stall.
final class FloodingSender implements AutoCloseable {
    static final int LINE_BYTES = 100;

    private final Socket socket;
    private final int lines;
    private final AtomicLong written = new AtomicLong();
    private final CompletableFuture<Void> finished = new CompletableFuture<>();

    /// Connects with a small send buffer (so a stall comes after kilobytes) and starts writing.
    FloodingSender(int port, int lines, int sendBuffer) throws IOException {
        this(port, lines, sendBuffer, 0);
    }

    /// The same, with a small receive buffer too (0: the system's default), for a client that
    /// does not read its replies yet.
    FloodingSender(int port, int lines, int sendBuffer, int receiveBuffer) throws IOException {
        this.lines = lines;
        socket = new Socket();
        socket.setSendBufferSize(sendBuffer);
        if (receiveBuffer > 0) socket.setReceiveBufferSize(receiveBuffer);
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
        socket.setSoTimeout(10_000);
        Thread.ofPlatform().name("flooding sender").daemon().start(this::writeAll);
    }

    /// Line `i`: its number, padding, and a newline: 100 bytes.
    static String line(int i) {
        String head = "line %06d ".formatted(i);
        return head + "x".repeat(LINE_BYTES - 1 - head.length());
    }

    private void writeAll() {
        try {
            OutputStream out = socket.getOutputStream();
            for (int i = 1; i <= lines; i++) {
                out.write((line(i) + "\n").getBytes(StandardCharsets.UTF_8));
                written.addAndGet(LINE_BYTES);
            }
            finished.complete(null);
        } catch (IOException e) {
            finished.completeExceptionally(e);
        }
    }

    long written() {
        return written.get();
    }

    long total() {
        return (long) lines * LINE_BYTES;
    }

    CompletableFuture<Void> finished() {
        return finished;
    }

    Socket socket() {
        return socket;
    }

    /// Waits until the byte count has not moved for `quiet`: the sender's write is stuck.
    void awaitStalled(Duration quiet, Duration limit) {
        long[] last = {-1};
        long[] since = {System.nanoTime()};
        await().atMost(limit).pollInterval(Duration.ofMillis(20)).until(() -> {
            long now = System.nanoTime();
            long count = written.get();
            if (count != last[0]) {
                last[0] = count;
                since[0] = now;
            }
            return now - since[0] >= quiet.toNanos();
        });
    }

    /// Reads every echoed line and checks each is the next one sent: nothing lost, nothing reordered.
    void expectAllEchoedInOrder() throws IOException {
        var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        for (int i = 1; i <= lines; i++) {
            String echoed = in.readLine();
            if (!line(i).equals(echoed)) {
                assertThat(echoed).as("echo number " + i).isEqualTo(line(i));
            }
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
