import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/// The checked exercises of chapter 12: datagram boundaries, truncation, and an ICMP error on
/// real UDP sockets, and lesson 12's client with sequence numbers.
public final class Ex12UdpEchoChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final int WAIT_MS = 5_000;

    @Override
    public String title() {
        return "UDP echo";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts how many bytes survive a truncated datagram", 10,
                        "a datagram is received whole, into one packet, by one receive: where could the bytes that do not fit go?",
                        Ex12UdpEchoChecks::truncated),
                Check.core("predicts how many receives some sends take", 10,
                        "does UDP carry a stream of bytes or separate messages? Compare chapter 08's three writes",
                        Ex12UdpEchoChecks::boundaries),
                Check.core("predicts what a connected client hears from a closed port", 10,
                        "the kernel at the other end answers a datagram to a port where nothing listens with ICMP; who gets to hear about it?",
                        Ex12UdpEchoChecks::closedPort),
                Check.core("a late reply is not taken for the next one", 10,
                        "number each request, and drop any reply whose number is not the one you wait for",
                        Ex12UdpEchoChecks::sequenceNumbers).within(Duration.ofSeconds(30)));
    }

    /// Two sockets on loopback: a sender connected to a receiver.
    static DatagramSocket bound() throws IOException {
        var socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        socket.setSoTimeout(WAIT_MS);
        return socket;
    }

    static void send(DatagramSocket from, SocketAddress to, byte[] bytes) throws IOException {
        from.send(new DatagramPacket(bytes, bytes.length, to));
    }

    static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static void truncated() throws Exception {
        long first = Answers.number(FILE, "length-of-2000-bytes-into-1024");
        long next = Answers.number(FILE, "length-of-the-next-receive");
        try (var sender = bound(); var receiver = bound()) {
            send(sender, receiver.getLocalSocketAddress(), new byte[2_000]);
            send(sender, receiver.getLocalSocketAddress(), text("0123456789"));
            var packet = new DatagramPacket(new byte[1_024], 1_024);
            receiver.receive(packet);
            int firstLength = packet.getLength();
            packet = new DatagramPacket(new byte[1_024], 1_024);
            receiver.receive(packet);
            int nextLength = packet.getLength();
            Expect.that(first == firstLength && next == nextLength, String.format("you predicted %d and %d; a 2,000-byte datagram"
                    + " received into a 1,024-byte packet gave getLength() %,d, with no error, and the next receive %d bytes (%s)",
                    first, next, firstLength, nextLength, nextLength == 10 ? "the 10-byte datagram sent after it" : "?"));
        }
    }

    static void boundaries() throws Exception {
        long threeSends = Answers.number(FILE, "receives-for-three-sends");
        long oneSend = Answers.number(FILE, "receives-for-one-send-of-two-lines");
        try (var sender = bound(); var receiver = bound()) {
            for (String line : new String[] {"one\n", "two\n", "three\n"}) send(sender, receiver.getLocalSocketAddress(), text(line));
            send(sender, receiver.getLocalSocketAddress(), text("a\nb\n"));
            send(sender, receiver.getLocalSocketAddress(), text("end"));
            // Receive until the marker: every datagram sent before it is here by then (loopback keeps order).
            var got = new java.util.ArrayList<String>();
            var packet = new DatagramPacket(new byte[65_536], 65_536);
            for (String s = ""; !s.equals("end"); got.add(s)) {
                packet.setLength(65_536);
                receiver.receive(packet);
                s = new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8);
            }
            long forThree = got.stream().filter(s -> s.equals("one\n") || s.equals("two\n") || s.equals("three\n")).count();
            long forOne = got.stream().filter(s -> s.contains("a\n") || s.contains("b\n")).count();
            Expect.that(threeSends == forThree && oneSend == forOne, String.format("you predicted %d and %d; three sends of"
                    + " \"one\\n\", \"two\\n\", \"three\\n\" took %d receives, one send of \"a\\nb\\n\" %d (the receiver got %s)",
                    threeSends, oneSend, forThree, forOne, got.stream().map(Expect::show).toList()));
        }
    }

    static void closedPort() throws Exception {
        String predicted = Answers.prediction(FILE, "connected-client-receive-throws").strip();
        int port;
        try (var probe = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            port = probe.getLocalPort();              // free now: nothing receives there any more
        }
        String observed;
        try (var client = new DatagramSocket()) {
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            client.setSoTimeout(2_000);
            client.send(new DatagramPacket(text("anyone?"), 7));
            try {
                client.receive(new DatagramPacket(new byte[100], 100));
                observed = "a reply (something receives there)";
            } catch (IOException e) {
                observed = e.getClass().getSimpleName();
            }
        }
        Expect.that(predicted.equals(observed), "you predicted " + predicted + "; a client connected to 127.0.0.1:" + port
                + ", where nothing receives, sent a datagram, and its receive() threw " + observed);
    }

    /// An echo server that keeps its echo of the first request until the second arrives, then
    /// sends both: the first one late, as a slow network or a stalled server would.
    static final class LateEcho implements AutoCloseable {
        final DatagramSocket socket = bound();
        final Thread loop = Thread.ofPlatform().daemon().name("late echo").start(this::serve);

        LateEcho() throws IOException {
        }

        void serve() {
            try {
                var first = receive();
                var second = receive();
                socket.send(new DatagramPacket(first.getData(), first.getLength(), second.getSocketAddress()));
                socket.send(new DatagramPacket(second.getData(), second.getLength(), second.getSocketAddress()));
                while (true) {
                    var next = receive();
                    socket.send(new DatagramPacket(next.getData(), next.getLength(), next.getSocketAddress()));
                }
            } catch (IOException e) {
                // The check is over.
            }
        }

        DatagramPacket receive() throws IOException {
            var packet = new DatagramPacket(new byte[1_024], 1_024);
            while (true) {
                try {
                    socket.receive(packet);
                    return packet;
                } catch (SocketTimeoutException e) {
                    // Nobody asked yet: wait on.
                }
            }
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    static void sequenceNumbers() throws Exception {
        try (var server = new LateEcho(); var socket = new DatagramSocket()) {
            socket.connect(server.socket.getLocalSocketAddress());
            var client = new SequencedClient(socket, Duration.ofMillis(500));
            String first = client.ask("apple");
            Expect.that(first == null, "the server held its echo of \"apple\" back, yet ask(\"apple\") returned " + Expect.show(first));
            String second = client.ask("banana");
            Expect.equal("banana", second, "what ask(\"banana\") returned after the late echo of \"apple\" arrived first");
            String third = client.ask("cherry");
            Expect.equal("cherry", third, "what ask(\"cherry\") returned next");
        }
    }
}
