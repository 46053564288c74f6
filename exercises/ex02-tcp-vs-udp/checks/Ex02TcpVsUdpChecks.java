import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

/// The checked exercises of chapter 02: two predictions about datagrams compared with what this
/// machine's kernel does, and a receive that notices truncation.
public final class Ex02TcpVsUdpChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final InetAddress IPV4_LOOPBACK = InetAddress.ofLiteral("127.0.0.1");

    @Override
    public String title() {
        return "TCP vs UDP";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts what a too-small buffer does to a datagram", 10,
                        "a datagram is received whole or cut: what does not fit is not kept for the next receive",
                        Ex02TcpVsUdpChecks::truncated),
                Check.core("predicts the largest IPv4 datagram", 10,
                        "the IPv4 header's length field has 16 bits, and the IP and UDP headers come out of that",
                        Ex02TcpVsUdpChecks::largest),
                Check.core("receiveChecked returns a datagram whole and refuses a longer one", 10,
                        "receive with a buffer one byte larger than the limit: a datagram that fills it was too long",
                        Ex02TcpVsUdpChecks::checkedReceive));
    }

    record Pair(DatagramSocket sender, DatagramSocket receiver) implements AutoCloseable {
        static Pair open() throws IOException {
            var receiver = new DatagramSocket(new InetSocketAddress(IPV4_LOOPBACK, 0));
            receiver.setSoTimeout(3_000);
            return new Pair(new DatagramSocket(new InetSocketAddress(IPV4_LOOPBACK, 0)), receiver);
        }

        void send(byte[] bytes) throws IOException {
            sender.send(new DatagramPacket(bytes, bytes.length, receiver.getLocalSocketAddress()));
        }

        @Override
        public void close() {
            sender.close();
            receiver.close();
        }
    }

    static void truncated() throws IOException {
        long predictedKept = Answers.number(FILE, "bytes-kept");
        String predictedSecond = Answers.prediction(FILE, "second-receive");
        try (var pair = Pair.open()) {
            pair.send("x".repeat(100).getBytes(StandardCharsets.UTF_8));
            pair.send("next".getBytes(StandardCharsets.UTF_8));
            var first = new DatagramPacket(new byte[10], 10);
            pair.receiver().receive(first);
            var second = new DatagramPacket(new byte[10], 10);
            pair.receiver().receive(second);
            String secondText = new String(second.getData(), 0, second.getLength(), StandardCharsets.UTF_8);
            Expect.that(predictedKept == first.getLength() && predictedSecond.equals(secondText),
                    "you predicted " + predictedKept + " bytes, then \"" + predictedSecond + "\"; after 100 bytes of x and \"next\","
                            + " the first receive (10-byte buffer) returned " + first.getLength() + " bytes and the second \"" + secondText + "\"");
        }
    }

    static void largest() throws IOException {
        long predicted = Answers.number(FILE, "largest-datagram");
        Expect.that(predicted > 0 && predicted < 1 << 20, "you predicted " + predicted + " bytes: a datagram's size is between 1 and 65,535");
        try (var pair = Pair.open()) {
            String fits = sendOf(pair, (int) predicted);
            String larger = sendOf(pair, (int) predicted + 1);
            Expect.that(fits.equals("sent") && !larger.equals("sent"), "you predicted " + predicted + "; sending " + predicted
                    + " bytes to 127.0.0.1: " + fits + ", and " + (predicted + 1) + " bytes: " + larger);
        }
    }

    private static String sendOf(Pair pair, int size) {
        try {
            pair.send(new byte[size]);
            return "sent";
        } catch (IOException e) {
            return "refused (" + e.getMessage() + ")";
        }
    }

    static void checkedReceive() throws IOException {
        try (var pair = Pair.open()) {
            byte[] whole = "12345678".getBytes(StandardCharsets.UTF_8);
            pair.send(whole);
            byte[] got = CheckedReceive.receiveChecked(pair.receiver(), 8);
            Expect.equal("12345678", new String(got, StandardCharsets.UTF_8), "a datagram of 8 bytes, limit 8: what receiveChecked returned");
            pair.send("123456789".getBytes(StandardCharsets.UTF_8));
            Expect.throwsA(IOException.class, () -> CheckedReceive.receiveChecked(pair.receiver(), 8),
                    "a datagram of 9 bytes, limit 8");
            pair.send("1234".getBytes(StandardCharsets.UTF_8));
            got = CheckedReceive.receiveChecked(pair.receiver(), 8);
            Expect.equal("1234", new String(got, StandardCharsets.UTF_8), "after the refused one, a datagram of 4 bytes, limit 8: what receiveChecked returned");
        }
    }
}
