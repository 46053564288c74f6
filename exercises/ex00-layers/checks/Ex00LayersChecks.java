import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

/// The checked exercises of chapter 00: each compares a learner's prediction with what this
/// machine's kernel does.
public final class Ex00LayersChecks implements Lab {

    static final String FILE = "predictions.txt";

    @Override
    public String title() {
        return "Layers";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts the loopback device's MTU", 10,
                        "an MTU is a limit of a link; loopback has no wire to limit it (see chapter 00, the link layer)",
                        Ex00LayersChecks::loopbackMtu),
                Check.core("predicts the bytes a program reads", 10,
                        "headers are added and stripped below the socket API: a program reads only what the other program wrote",
                        Ex00LayersChecks::bytesRead));
    }

    static void loopbackMtu() throws IOException {
        long predicted = Answers.number(FILE, "lo-mtu");
        var loopback = NetworkInterface.getByInetAddress(InetAddress.getLoopbackAddress());
        Expect.that(loopback != null, "this machine has no loopback interface for " + InetAddress.getLoopbackAddress());
        int mtu = loopback.getMTU();
        Expect.that(predicted == mtu, "you predicted " + predicted + "; the kernel gives " + loopback.getName() + " an MTU of " + mtu + " bytes");
    }

    static void bytesRead() throws IOException {
        long predicted = Answers.number(FILE, "bytes-read");
        try (var listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listener.setSoTimeout(3_000);
            var client = new Socket();
            try {
                client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()), 3_000);
                client.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
            } finally {
                client.close();
            }
            try (Socket accepted = listener.accept()) {
                accepted.setSoTimeout(3_000);
                long total = 0;
                InputStream in = accepted.getInputStream();
                byte[] buffer = new byte[4096];
                for (int n; (n = in.read(buffer)) != -1; ) {
                    total += n;
                }
                Expect.that(predicted == total, "you predicted " + predicted + "; the client wrote \"hello\" and closed, and the server read "
                        + total + " bytes until end of stream");
            }
        }
    }
}
