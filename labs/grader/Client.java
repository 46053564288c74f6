package grading;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/// A line-oriented TCP client on loopback for checks: every read has a time limit, and each
/// way it can go wrong becomes a message a learner understands.
public final class Client implements AutoCloseable {

    public static final Duration READ_LIMIT = Duration.ofSeconds(3);
    private static final int MAX_LINE = 1 << 20;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    /// What this client sent last, as a failure message describes it.
    private volatile String lastSent;

    private Client(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /// Connects within the read limit: a server that stopped accepting fills its accept queue,
    /// and a connection beyond it would otherwise wait for minutes.
    public static Client connect(int port) throws IOException {
        var socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), (int) READ_LIMIT.toMillis());
        } catch (SocketTimeoutException e) {
            socket.close();
            throw new AssertionError("could not connect within " + READ_LIMIT.toSeconds() + " s: the server accepts no more"
                    + " connections (is its acceptor busy serving one client?)" + ServerLog.hint());
        }
        socket.setSoTimeout((int) READ_LIMIT.toMillis());
        return new Client(socket);
    }

    /// A client over a socket connected already (a TLS socket, say).
    public static Client over(Socket socket) throws IOException {
        socket.setSoTimeout((int) READ_LIMIT.toMillis());
        return new Client(socket);
    }

    public Socket socket() {
        return socket;
    }

    /// The client's input, buffered: read replies through this, not through the socket.
    public InputStream input() {
        return in;
    }

    public Client send(String text) throws IOException {
        return send(text.getBytes(StandardCharsets.UTF_8));
    }

    public Client send(byte[] bytes) throws IOException {
        lastSent = describe(bytes);
        out.write(bytes);
        out.flush();
        return this;
    }

    /// "5 bytes "hello\n"", "1,025 bytes "yyy…" with no newline": what a failure says was sent.
    static String describe(byte[] bytes) {
        String text = new String(bytes, 0, Math.min(bytes.length, 160), StandardCharsets.UTF_8);
        boolean cut = bytes.length > 160 || text.length() > 40;
        String shown = Expect.show(text.substring(0, Math.min(text.length(), 40)) + (cut ? "…" : ""));
        boolean endsLine = bytes.length > 0 && bytes[bytes.length - 1] == '\n';
        return String.format("%,d bytes %s%s", bytes.length, shown, endsLine ? "" : " with no newline");
    }

    /// "after sending 6 bytes "hello\n", " (or "" before the client sent anything), for a failure message.
    String afterSending() {
        return lastSent == null ? "" : "after sending " + lastSent + ", ";
    }

    /// Sends from a thread of its own, so that the caller can read (or not) meanwhile.
    public CompletableFuture<Void> sendInBackground(byte[] bytes) {
        return CompletableFuture.runAsync(() -> {
            try {
                send(bytes);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, runnable -> Thread.ofPlatform().daemon().name("sending client").start(runnable));
    }

    /// The next line, without its newline (and without a `\r` before it).
    public String readLine() throws IOException {
        var line = new ByteArrayOutputStream();
        try {
            for (int b = in.read(); b != '\n'; b = in.read()) {
                if (b < 0) {
                    throw new AssertionError(afterSending()
                            + (line.size() == 0 ? "the server closed the connection instead of answering"
                                    : "the server closed the connection in the middle of a line: " + Expect.show(text(line)))
                            + ServerLog.hint());
                }
                if (line.size() > MAX_LINE) {
                    throw new AssertionError("a reply line longer than " + MAX_LINE + " bytes");
                }
                line.write(b);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError(afterSending()
                    + (line.size() == 0 ? "nothing came back within " + READ_LIMIT.toSeconds() + " s"
                            : "a reply line without its newline within " + READ_LIMIT.toSeconds() + " s: " + Expect.show(text(line)))
                    + ServerLog.hint());
        } catch (SocketException e) {
            throw new AssertionError(afterSending() + "the connection failed while waiting for a reply: "
                    + e.getMessage() + ServerLog.hint());
        }
        String text = text(line);
        return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
    }

    /// Exactly `count` bytes of reply, or a failure that says how many came.
    public byte[] readBytes(int count) throws IOException {
        var bytes = new byte[count];
        int got = 0;
        try {
            while (got < count) {
                int n = in.read(bytes, got, count - got);
                if (n < 0) {
                    throw new AssertionError(afterSending() + "the server closed the connection after "
                            + got + " of " + count + " bytes" + ServerLog.hint());
                }
                got += n;
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError(afterSending() + got + " of " + count + " bytes came back within "
                    + READ_LIMIT.toSeconds() + " s" + ServerLog.hint());
        }
        return bytes;
    }

    /// Sends a line and requires it back.
    public void echo(String line) throws IOException {
        send(line + "\n");
        Expect.equal(line, readLine(), "the reply to " + Expect.show(line));
    }

    /// Requires end of stream (or a reset) within the read limit, with nothing before it.
    public void expectClosed(String why) throws IOException {
        try {
            int b = in.read();
            Expect.that(b < 0, why + ": the server sent more bytes instead of closing");
        } catch (SocketTimeoutException e) {
            throw new AssertionError(why + ": the connection is still open " + READ_LIMIT.toSeconds()
                    + " s" + (lastSent == null ? "" : " after the client sent " + lastSent));
        } catch (SocketException e) {
            // A reset is also a close.
        }
    }

    /// Requires that nothing arrives for `quiet`.
    public void expectNothingFor(Duration quiet, String why) throws IOException {
        socket.setSoTimeout((int) quiet.toMillis());
        try {
            int b = in.read();
            throw new AssertionError(why + (b < 0 ? ": the server closed the connection" : ": the server already sent something"));
        } catch (SocketTimeoutException expected) {
            // Silence, as required.
        } finally {
            socket.setSoTimeout((int) READ_LIMIT.toMillis());
        }
    }

    /// Closes with a reset (RST) instead of an orderly close: the peer "vanishes".
    public void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    private static String text(ByteArrayOutputStream bytes) {
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
