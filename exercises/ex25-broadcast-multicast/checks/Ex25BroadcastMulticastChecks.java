import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/// The checked exercises of chapter 25, all on loopback and without root: who may send to a
/// broadcast address, what a member and a non-member receive on `lo`, and discovery that asks again.
public final class Ex25BroadcastMulticastChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final String QUESTION = "WHO IS THERE?";

    @Override
    public String title() {
        return "Broadcast and multicast";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts which sockets the kernel refuses to broadcast from", 10,
                        "the kernel refuses a broadcast without SO_BROADCAST; ask which of the two Java turns it on for",
                        Ex25BroadcastMulticastChecks::broadcastOption),
                Check.core("predicts what a member and a non-member receive on lo", 10,
                        "a datagram sent on lo never leaves the host: what can TTL and the loop option change there? And what is a join for?",
                        Ex25BroadcastMulticastChecks::onLoopback),
                Check.core("Discovery.discover asks three times and reports each answerer once", 10,
                        "send the question three times, 200 ms apart, keep listening in between, and keep each answer once (a Set)",
                        Ex25BroadcastMulticastChecks::discovery));
    }

    static InetAddress broadcast() throws IOException {
        return InetAddress.getByName("127.255.255.255");
    }

    static void broadcastOption() throws IOException {
        String predicted = Answers.prediction(FILE, "refused-by-default");
        Expect.that(List.of("socket", "channel", "both", "neither").contains(predicted),
                "write socket, channel, both or neither after refused-by-default:, not " + predicted);
        byte[] data = "hello, everyone".getBytes(StandardCharsets.UTF_8);
        boolean socketRefused;
        try (var socket = new DatagramSocket()) {
            socket.send(new DatagramPacket(data, data.length, broadcast(), 9));
            socketRefused = false;
        } catch (BindException e) {
            socketRefused = true;
        }
        boolean channelRefused;
        try (var channel = DatagramChannel.open(StandardProtocolFamily.INET)) {
            channel.send(ByteBuffer.wrap(data), new InetSocketAddress(broadcast(), 9));
            channelRefused = false;
        } catch (BindException e) {
            channelRefused = true;
        }
        String refused = socketRefused ? (channelRefused ? "both" : "socket") : (channelRefused ? "channel" : "neither");
        Expect.that(predicted.equals(refused), "you predicted " + predicted + "; sending to 127.255.255.255, the DatagramSocket "
                + (socketRefused ? "was refused (Permission denied)" : "sent") + " and the DatagramChannel "
                + (channelRefused ? "was refused (Permission denied)" : "sent") + ": " + refused);
    }

    static void onLoopback() throws IOException {
        long member = Answers.number(FILE, "member-receives");
        long nonMember = Answers.number(FILE, "non-member-receives");
        NetworkInterface lo = NetworkInterface.getByName("lo");
        Expect.that(lo != null, "this machine has no interface named lo");
        InetAddress group = InetAddress.getByName("239.1.2.3");
        try (var joined = DatagramChannel.open(StandardProtocolFamily.INET)
                    .setOption(StandardSocketOptions.SO_REUSEADDR, true).bind(new InetSocketAddress(0));
             var other = DatagramChannel.open(StandardProtocolFamily.INET)
                    .setOption(StandardSocketOptions.SO_REUSEADDR, true)) {
            int port = ((InetSocketAddress) joined.getLocalAddress()).getPort();
            other.bind(new InetSocketAddress(port));
            joined.join(group, lo);
            for (int ttl = 0; ttl <= 1; ttl++) {
                for (boolean loop : new boolean[] {true, false}) {
                    try (var sender = DatagramChannel.open(StandardProtocolFamily.INET)) {
                        sender.setOption(StandardSocketOptions.IP_MULTICAST_IF, lo);
                        sender.setOption(StandardSocketOptions.IP_MULTICAST_TTL, ttl);
                        sender.setOption(StandardSocketOptions.IP_MULTICAST_LOOP, loop);
                        sender.send(ByteBuffer.wrap(("ttl " + ttl + "/loop " + (loop ? "on" : "off")).getBytes(StandardCharsets.UTF_8)),
                                new InetSocketAddress(group, port));
                    }
                }
            }
            List<String> toMember = receivedWithin(joined, 1_000);
            List<String> toOther = receivedWithin(other, 300);
            Expect.that(member == toMember.size() && nonMember == toOther.size(), "you predicted " + member + " and " + nonMember
                    + "; on lo the member received " + toMember.size() + " of the 4 " + toMember + ", the socket that did not join "
                    + toOther.size() + " " + toOther);
        }
    }

    /// Every datagram that arrives on the channel until none has come for `quietMillis`.
    private static List<String> receivedWithin(DatagramChannel channel, int quietMillis) throws IOException {
        var socket = channel.socket();
        socket.setSoTimeout(quietMillis);
        List<String> texts = new ArrayList<>();
        while (texts.size() < 10) {
            var packet = new DatagramPacket(new byte[512], 512);
            try {
                socket.receive(packet);
            } catch (SocketTimeoutException e) {
                break;
            }
            texts.add(new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8));
        }
        return texts;
    }

    static void discovery() throws IOException {
        var heardBySteady = new AtomicInteger();
        var heardByShy = new AtomicInteger();
        try (var steady = answerer(); var shy = answerer()) {
            steady.bind(new InetSocketAddress(0));              // the wildcard address: it hears broadcasts
            int port = ((InetSocketAddress) steady.getLocalAddress()).getPort();
            shy.bind(new InetSocketAddress(port));
            serve(steady, "steady", heardBySteady, 0);
            serve(shy, "shy", heardByShy, 1);                    // misses the first question
            List<String> answers = Discovery.discover(broadcast(), port);
            List<String> sorted = answers.stream().sorted().toList();
            Expect.that(sorted.equals(List.of("HERE shy", "HERE steady")), "discover returned " + answers
                    + "; expected each of [HERE shy, HERE steady] once (steady heard " + heardBySteady.get()
                    + " questions, shy " + heardByShy.get() + ", and shy did not answer the first)");
        }
    }

    private static DatagramChannel answerer() throws IOException {
        return DatagramChannel.open(StandardProtocolFamily.INET).setOption(StandardSocketOptions.SO_REUSEADDR, true);
    }

    /// Answers every question with "HERE name", except the first `missed` ones (lost on the way).
    private static void serve(DatagramChannel channel, String name, AtomicInteger heard, int missed) {
        Thread.ofVirtual().name("answer " + name).start(() -> {
            try {
                while (true) {
                    ByteBuffer buffer = ByteBuffer.allocate(512);
                    var from = channel.receive(buffer);
                    String text = new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
                    if (text.equals(QUESTION) && heard.incrementAndGet() > missed) {
                        channel.send(ByteBuffer.wrap(("HERE " + name).getBytes(StandardCharsets.UTF_8)), from);
                    }
                }
            } catch (ClosedChannelException e) {
                // The check is over.
            } catch (IOException e) {
                // Nothing to answer any more.
            }
        });
    }
}
