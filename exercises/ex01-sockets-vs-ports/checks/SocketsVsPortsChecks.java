import grading.Answers;
import grading.Check;
import grading.Lab;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;

/// The checked exercises of chapter 01: each compares a learner's prediction with what this
/// machine's kernel does.
public final class SocketsVsPortsChecks implements Lab {

    static final String FILE = "predictions.txt";

    @Override
    public String title() {
        return "Exercises of chapter 01: sockets and ports";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts connect to a closed port", 10,
                        "with nothing listening, the kernel answers the SYN with a RST at once: read lesson 01's `refused` step",
                        SocketsVsPortsChecks::closedPort));
    }

    static void closedPort() throws IOException {
        String predicted = Answers.prediction(FILE, "closed-port-exception");
        // Find a port where nothing listens: bind one, note its number, close it.
        int port;
        try (var probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        String observed;
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 3_000);
            observed = "no exception (something listens there)";
        } catch (IOException e) {
            observed = e.getClass().getSimpleName() + " (" + e.getMessage() + ")";
        }
        if (!observed.startsWith(predicted + " ")) {
            throw new AssertionError("you predicted " + predicted + "; connect to 127.0.0.1:" + port + " threw " + observed);
        }
    }
}
