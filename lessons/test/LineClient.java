import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/// A test's client for line servers: a real socket on loopback, with a read timeout so that a
/// test never hangs on a server that does not answer.
final class LineClient implements AutoCloseable {
    static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

    private final Socket socket;
    private final BufferedReader in;
    private final OutputStream out;

    LineClient(int port) throws IOException {
        this(port, READ_TIMEOUT);
    }

    LineClient(int port, Duration readTimeout) throws IOException {
        socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout((int) readTimeout.toMillis());
        in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        out = socket.getOutputStream();
    }

    void send(String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    void sendLine(String line) throws IOException {
        send(line + "\n");
    }

    /// The next line, or null at end of stream; fails the test if none comes within the timeout.
    String readLine() throws IOException {
        return in.readLine();
    }

    /// Sends a line and returns the reply line.
    String ask(String line) throws IOException {
        sendLine(line);
        return readLine();
    }

    /// True when nothing arrives for `quiet`: used to show that a server has not answered yet.
    boolean staysSilentFor(Duration quiet) throws IOException {
        int before = socket.getSoTimeout();
        socket.setSoTimeout((int) quiet.toMillis());
        try {
            in.readLine();
            return false;
        } catch (SocketTimeoutException e) {
            return true;
        } finally {
            socket.setSoTimeout(before);
        }
    }

    /// Half-close: tell the server we are done sending, but keep reading.
    void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    /// Vanish abruptly: close with linger 0, so the kernel sends a reset (RST) instead of FIN.
    void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    Socket socket() {
        return socket;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
