import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// The checked exercises of chapter 24, on loopback: the largest UDP datagram IPv4 carries, the
/// loopback interface's MTU, and a receive buffer that must be set before connecting to decide
/// the window (seen in the window scale the kernel agreed, `ss -ti`).
public final class Ex24MtuAndBuffersChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final int SMALL_BUFFER = 16 << 10;

    @Override
    public String title() {
        return "MTU and buffers";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts the largest UDP payload over IPv4", 10,
                        "IPv4's total-length field has 16 bits, and it counts the IP and UDP headers too",
                        Ex24MtuAndBuffersChecks::largestPayload),
                Check.core("predicts the loopback interface's MTU", 10,
                        "loopback is no Ethernet: no wire and no frame to fit, so Linux gives it a size in the tens of kilobytes",
                        Ex24MtuAndBuffersChecks::loopbackMtu),
                Check.core("SmallWindow.open makes a 16 KiB receive buffer decide the window", 10,
                        "the window scale is agreed in the handshake, from the buffer the socket has at that moment",
                        Ex24MtuAndBuffersChecks::smallWindow));
    }

    static void largestPayload() throws IOException {
        long predicted = Answers.number(FILE, "largest-udp-payload-ipv4");
        InetAddress ipv4 = InetAddress.getByName("127.0.0.1");
        try (var receiver = new DatagramSocket(0, ipv4); var sender = new DatagramSocket()) {
            int low = 0, high = 70_000;                   // low sends; high does not
            while (high - low > 1) {
                int size = (low + high) / 2;
                if (sends(sender, receiver, size)) {
                    low = size;
                } else {
                    high = size;
                }
            }
            Expect.that(predicted == low, "you predicted " + predicted + "; the kernel sent a datagram of " + low
                    + " bytes to 127.0.0.1 and refused one of " + (low + 1) + " (\"Message too long\")");
        }
    }

    private static boolean sends(DatagramSocket sender, DatagramSocket receiver, int size) {
        try {
            sender.send(new DatagramPacket(new byte[size], size, receiver.getLocalSocketAddress()));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static void loopbackMtu() throws IOException {
        long predicted = Answers.number(FILE, "loopback-mtu");
        var lo = NetworkInterface.getByInetAddress(InetAddress.getByName("127.0.0.1"));
        Expect.that(lo != null, "no interface holds 127.0.0.1 on this machine");
        int mtu = lo.getMTU();
        Expect.that(predicted == mtu, "you predicted " + predicted + "; the kernel says the MTU of " + lo.getName()
                + " is " + mtu + " bytes");
    }

    static void smallWindow() throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (var listener = new ServerSocket(0, 10, loopback);
                Socket socket = SmallWindow.open(loopback, listener.getLocalPort(), SMALL_BUFFER)) {
            Expect.that(socket.isConnected(), "open(...) returned a socket that is not connected");
            int buffer = socket.getReceiveBufferSize();
            Expect.that(buffer >= SMALL_BUFFER && buffer <= 2 * SMALL_BUFFER, "open(..., " + SMALL_BUFFER
                    + ") returned a socket whose receive buffer is " + buffer + " bytes");
            String info = tcpInfo(socket.getLocalPort());
            Matcher m = Pattern.compile("wscale:(\\d+),(\\d+)").matcher(info);
            Expect.that(m.find(), "no window scale for local port " + socket.getLocalPort() + " in `ss -tin` (is ss, from iproute2, installed?): "
                    + info.strip());
            int receiveScale = Integer.parseInt(m.group(2));
            Expect.that(receiveScale == 0, "the connection's receive window scale is " + receiveScale
                    + " (ss: wscale:" + m.group(1) + "," + m.group(2) + "): this end may advertise windows up to 65,535 << "
                    + receiveScale + " bytes, agreed before the " + SMALL_BUFFER + "-byte buffer was set; with that buffer"
                    + " in the handshake the kernel would have chosen 0");
        }
    }

    /// What `ss -tin` says about the established connection from local port `port`.
    private static String tcpInfo(int port) throws IOException {
        Process p = new ProcessBuilder("ss", "-tinH", "state", "established", "( sport = :" + port + " )")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }
}
