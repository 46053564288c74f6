import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;

/// The checked exercises of chapter 13: how a UDP server knows its peers, and what it cannot know;
/// and a chat client for lesson 13 with a keep-alive.
public final class Ex13UdpChatChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final int WAIT_MS = 5_000;

    @Override
    public String title() {
        return "UDP chat";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts which ports a server sees its peers send from", 10,
                        "a socket that sends without bind() gets an ephemeral port from the kernel at its first send; what happens at its second?",
                        Ex13UdpChatChecks::sourcePorts),
                Check.core("predicts what the chat server hears when a peer is gone", 10,
                        "compare chapter 12's connected client: an ICMP error reaches a UDP socket only in one case",
                        Ex13UdpChatChecks::peerGone),
                Check.core("a keep-alive keeps a quiet member known", 10,
                        "a timer that says /join every keepAlive while the client is open, and stops when it closes",
                        Ex13UdpChatChecks::keepAlive).within(Duration.ofSeconds(30)));
    }

    static DatagramSocket server() throws IOException {
        var socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        socket.setSoTimeout(WAIT_MS);
        return socket;
    }

    static void send(DatagramSocket from, InetSocketAddress to, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        from.send(new DatagramPacket(bytes, bytes.length, to));
    }

    static InetSocketAddress address(DatagramSocket socket) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), socket.getLocalPort());
    }

    /// The source port of the next datagram.
    static int senderPort(DatagramSocket server) throws IOException {
        var packet = new DatagramPacket(new byte[1_024], 1_024);
        server.receive(packet);
        return packet.getPort();
    }

    static void sourcePorts() throws Exception {
        long oneSocket = Answers.number(FILE, "ports-for-two-sends-from-one-socket");
        long twoSockets = Answers.number(FILE, "ports-for-one-send-from-each-of-two-sockets");
        try (var server = server(); var alice = new DatagramSocket((java.net.SocketAddress) null); var bob = new DatagramSocket((java.net.SocketAddress) null)) {
            // Unbound sockets, like the course's Python chat client before its first sendto.
            send(alice, address(server), "/join");
            int first = senderPort(server);
            send(alice, address(server), "hello");
            int second = senderPort(server);
            send(bob, address(server), "/join");
            int third = senderPort(server);
            Set<Integer> fromAlice = new TreeSet<>(List.of(first, second));
            Set<Integer> fromBoth = new TreeSet<>(List.of(first, third));
            Expect.that(oneSocket == fromAlice.size() && twoSockets == fromBoth.size(), String.format("you predicted %d and %d;"
                    + " two sends from one socket came from port(s) %s (%d), one send from each of two sockets from %s (%d)",
                    oneSocket, twoSockets, fromAlice, fromAlice.size(), fromBoth, fromBoth.size()));
        }
    }

    static void peerGone() throws Exception {
        String predicted = Answers.prediction(FILE, "server-receive-after-sending-to-a-gone-peer").strip();
        InetSocketAddress gone;
        try (var peer = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            gone = address(peer);                   // the peer closes its socket: nothing receives there now
        }
        String observed;
        try (var server = server()) {
            server.setSoTimeout(1_000);
            String sendResult = "";
            try {
                for (int i = 0; i < 3; i++) send(server, gone, "* someone says hello");
            } catch (IOException e) {
                sendResult = " (send threw " + e.getClass().getSimpleName() + ")";
            }
            try {
                server.receive(new DatagramPacket(new byte[100], 100));
                observed = "a datagram";
            } catch (SocketTimeoutException e) {
                observed = "SocketTimeoutException";
            } catch (IOException e) {
                observed = e.getClass().getSimpleName();
            }
            observed += sendResult;
        }
        Expect.that(predicted.equals(observed), "you predicted " + predicted + "; a server socket (not connected) sent three"
                + " datagrams to " + gone + ", where nothing receives any more, and its next receive(), allowed 1 s, ended in " + observed);
    }

    static void keepAlive() throws Exception {
        var every = Duration.ofMillis(200);
        try (var server = server()) {
            var shown = new CopyOnWriteArrayList<String>();
            var heard = new ArrayList<String>();
            int port;
            Set<Thread> before = Thread.getAllStackTraces().keySet();
            try (var client = KeepAliveClient.join(address(server), every, shown::add)) {
                var packet = new DatagramPacket(new byte[1_024], 1_024);
                server.receive(packet);
                port = packet.getPort();
                Expect.equal(client.socket.getLocalPort(), port, "the port the client's first datagram came from (its socket's own)");
                Expect.equal("/join", new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8), "the client's first datagram");
                send(server, (InetSocketAddress) packet.getSocketAddress(), "* welcome");
                // The member only listens now: the server must still hear from it.
                long start = System.nanoTime();
                server.setSoTimeout(2_000);
                try {
                    while (heard.size() < 4) {
                        packet.setLength(1_024);
                        server.receive(packet);
                        heard.add(new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8));
                        Expect.equal(port, packet.getPort(), "the port a keep-alive came from (the member's own)");
                    }
                } catch (SocketTimeoutException e) {
                    throw new AssertionError("a member that only listens, with a keep-alive of 200 ms: after its first /join, the"
                            + " server heard " + heard + " and then nothing for 2 s");
                }
                long millis = (System.nanoTime() - start) / 1_000_000;
                Expect.that(heard.stream().allMatch("/join"::equals), "a quiet member sent " + heard + "; expected only /join");
                Expect.that(millis >= 3 * every.toMillis() / 2, "four keep-alives came within " + millis + " ms; one every 200 ms takes"
                        + " about 800 ms (is it sent more often than every keepAlive?)");
                Expect.that(shown.contains("* welcome"), "the client showed " + shown + "; expected the server's \"* welcome\"");
            }
            // Closed: the member has left, so no keep-alive may come any more.
            int shownAtClose = shown.size();
            server.setSoTimeout((int) (3 * every.toMillis()));
            var packet = new DatagramPacket(new byte[1_024], 1_024);
            try {
                for (int i = 0; i < 2; i++) {               // one already on its way at close() is forgiven
                    packet.setLength(1_024);
                    server.receive(packet);
                }
                throw new AssertionError("after close(), the server still heard " + Expect.show(new String(packet.getData(), 0,
                        packet.getLength(), StandardCharsets.UTF_8)) + ": the keep-alive does not stop when the client closes");
            } catch (SocketTimeoutException expected) {
                // Silence after close, as required.
            }
            // A timer left running on a closed socket sends nothing, but it is still there, failing at every turn.
            Expect.that(shown.size() == shownAtClose, "after close(), the client still showed "
                    + shown.subList(shownAtClose, shown.size()) + ": something of it goes on running once it is closed");
            Expect.eventually(Duration.ofSeconds(2), () -> startedAndAlive(before).isEmpty(), () -> "2 s after close(), the threads "
                    + startedAndAlive(before) + " that join() started still run: close() must stop the keep-alive's timer");
        }
    }

    /// The threads started since `before` that still run, but for the JDK's own (virtual threads' carriers and pollers).
    static List<String> startedAndAlive(Set<Thread> before) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> !before.contains(t) && t.isAlive())
                .map(Thread::getName).filter(name -> !name.matches("ForkJoinPool-\\d+-worker-\\d+|.*Poller.*|.*[Uu]nblocker.*|.*[Uu]nparker.*"))
                .sorted().toList();
    }
}
