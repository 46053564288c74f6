///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/// Exercise 25.3 · Discovery that survives a lost datagram: the question is one datagram to the
/// broadcast address, and a datagram can be lost on the way.
///
/// Run it: `./jbang exercises/ex25-broadcast-multicast/Discovery.java`; check it:
/// `./jbang labs/Grade.java ex25`.
class Discovery {
    static final String QUESTION = "WHO IS THERE?";
    /// How long to listen for answers after the question.
    static final Duration ANSWERS_WINDOW = Duration.ofSeconds(1);

    /// Asks everyone at `broadcast`:`port` who is there; returns the answers ("HERE name").
    static List<String> discover(InetAddress broadcast, int port) throws IOException {
        try (var socket = new DatagramSocket()) {                // SO_BROADCAST is on by default here
            byte[] question = QUESTION.getBytes(StandardCharsets.UTF_8);
            // TODO(exercise): ask three times, 200 ms apart, and return each answer once.
            socket.send(new DatagramPacket(question, question.length, broadcast, port));
            List<String> answers = new ArrayList<>();
            long deadline = System.nanoTime() + ANSWERS_WINDOW.toNanos();
            for (long left; (left = (deadline - System.nanoTime()) / 1_000_000) > 0; ) {
                var packet = new DatagramPacket(new byte[512], 512);
                socket.setSoTimeout((int) left);
                try {
                    socket.receive(packet);
                } catch (SocketTimeoutException e) {
                    break;                                       // the window is over
                }
                answers.add(new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8));
            }
            return answers;
        }
    }

    /// One answerer on loopback, then a discovery: it prints what came back.
    public static void main(String[] args) throws IOException {
        try (var answerer = DatagramChannel.open(StandardProtocolFamily.INET)
                .setOption(StandardSocketOptions.SO_REUSEADDR, true).bind(new InetSocketAddress(0))) {
            Thread.ofVirtual().start(() -> {
                try {
                    while (true) {
                        ByteBuffer buffer = ByteBuffer.allocate(512);
                        var from = answerer.receive(buffer);
                        answerer.send(ByteBuffer.wrap("HERE one".getBytes(StandardCharsets.UTF_8)), from);
                    }
                } catch (IOException e) {
                    // closed: done
                }
            });
            int port = ((InetSocketAddress) answerer.getLocalAddress()).getPort();
            System.out.println("answers: " + discover(InetAddress.getByName("127.255.255.255"), port));
        }
    }
}
