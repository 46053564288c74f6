import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class UdpChatTest {
    static final Duration QUIET = Duration.ofMillis(300);
    static final Duration WAIT = Duration.ofSeconds(10);

    UdpChat.Server server;
    final List<ChatPeer> peers = new ArrayList<>();

    @AfterEach
    void stop() {
        if (server != null) server.close();
        peers.forEach(ChatPeer::close);
    }

    /// A chat peer made of a bare datagram socket, as `nc -u` is: it records every datagram it gets.
    static final class ChatPeer implements AutoCloseable {
        final DatagramSocket socket;
        final InetSocketAddress server;
        final List<String> received = Collections.synchronizedList(new ArrayList<>());

        ChatPeer(int serverPort) throws IOException {
            socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            socket.setSoTimeout((int) WAIT.toMillis());
            server = new InetSocketAddress(InetAddress.getLoopbackAddress(), serverPort);
        }

        SocketAddress address() {
            return socket.getLocalSocketAddress();
        }

        String name() {
            return "127.0.0.1:" + socket.getLocalPort();
        }

        void say(String text) throws IOException {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            socket.send(new DatagramPacket(bytes, bytes.length, server));
        }

        String next() throws IOException {
            var packet = new DatagramPacket(new byte[2048], 2048);
            socket.receive(packet);
            String text = new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8);
            received.add(text);
            return text;
        }

        /// Reads datagrams until one contains `fragment`, and returns it.
        String await(String fragment) throws IOException {
            while (true) {
                String text = next();
                if (text.contains(fragment)) return text;
            }
        }

        /// True when nothing arrives for `quiet`.
        boolean staysSilentFor(Duration quiet) throws IOException {
            socket.setSoTimeout((int) quiet.toMillis());
            try {
                next();
                return false;
            } catch (SocketTimeoutException e) {
                return true;
            } finally {
                socket.setSoTimeout((int) WAIT.toMillis());
            }
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    ChatPeer join() throws IOException {
        var peer = new ChatPeer(server.port());
        peers.add(peer);
        peer.say("/join");
        peer.await("* welcome, " + peer.name());
        return peer;
    }

    @Test
    void threePeersEachHearTheOthersAndNeverThemselves() throws IOException {
        server = UdpChat.start(0);
        List<ChatPeer> three = List.of(join(), join(), join());
        assertThat(server.peers().keySet())
                .containsExactlyInAnyOrderElementsOf(three.stream().map(ChatPeer::address).toList());

        for (ChatPeer peer : three) peer.say("hello from " + peer.name());
        for (ChatPeer peer : three) {
            for (ChatPeer other : three) {
                if (other != peer) peer.await(other.name() + ": hello from " + other.name());
            }
        }
        for (ChatPeer peer : three) {
            assertThat(peer.staysSilentFor(QUIET)).isTrue();
            assertThat(peer.received).as("no echo of its own message")
                    .noneMatch(text -> text.contains("hello from " + peer.name()));
        }
    }

    @Test
    void joiningIsAnnouncedToTheOthers() throws IOException {
        server = UdpChat.start(0);
        ChatPeer first = join();
        ChatPeer second = join();
        assertThat(first.await("joined")).isEqualTo("* " + second.name() + " joined");
        assertThat(second.received).containsExactly("* welcome, " + second.name() + "; others here: 1; /quit leaves");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/quit", "exit"})   // "exit" is how many simple chat clients leave
    void aPeerThatQuitsStopsReceiving(String quit) throws IOException {
        server = UdpChat.start(0);
        ChatPeer alice = join();
        ChatPeer bob = join();
        ChatPeer carol = join();

        carol.say(quit);
        assertThat(carol.await("*")).isEqualTo("* bye");
        assertThat(alice.await("left")).isEqualTo("* " + carol.name() + " left");
        assertThat(server.peers().keySet()).containsExactlyInAnyOrder(alice.address(), bob.address());

        bob.say("after carol left");
        alice.await("after carol left");
        assertThat(carol.staysSilentFor(QUIET)).as("carol's socket is still open, but the server forgot it").isTrue();
    }

    @Test
    void aPeerSilentPastTheTimeoutIsForgotten() throws IOException {
        var now = new AtomicReference<>(Instant.parse("2026-01-01T12:00:00Z"));
        server = UdpChat.start(InetAddress.getLoopbackAddress(), 0, Duration.ofSeconds(30), now::get);
        ChatPeer quiet = join();
        ChatPeer talker = join();

        now.set(now.get().plusSeconds(20));
        talker.say("still here");
        quiet.await("still here");
        now.set(now.get().plusSeconds(15));     // quiet: 35 s without a word; talker: 15 s

        await().atMost(WAIT).until(() -> server.peers().keySet().equals(Set.of(talker.address())));
        assertThat(quiet.await("you were silent")).startsWith("* you were silent for more than 30 s");
        assertThat(talker.await("forgotten")).isEqualTo("* " + quiet.name() + " was forgotten (silent too long)");

        talker.say("anyone?");
        assertThat(quiet.staysSilentFor(QUIET)).isTrue();

        quiet.say("back again");                // any datagram makes it a peer again
        talker.await(quiet.name() + ": back again");
        assertThat(server.peers().keySet()).containsExactlyInAnyOrder(quiet.address(), talker.address());
    }

    @Test
    void anOversizeMessageIsRefusedAndNotRelayed() throws IOException {
        server = UdpChat.start(0);
        ChatPeer sender = join();
        ChatPeer listener = join();

        sender.say("x".repeat(UdpChat.MAX_MESSAGE + 1));
        assertThat(sender.await("refused")).isEqualTo("* refused: a message is at most " + UdpChat.MAX_MESSAGE + " bytes");
        String longest = "y".repeat(UdpChat.MAX_MESSAGE);
        sender.say(longest);
        String relayed = listener.await(longest);
        assertThat(relayed.getBytes(StandardCharsets.UTF_8).length).as("fits the Python client's 1024-byte read")
                .isLessThanOrEqualTo(1024);
        assertThat(listener.received).noneMatch(text -> text.contains("x".repeat(100)));
    }

    @Test
    void eachPeerGetsTheLineEndingsItSends() throws IOException {
        server = UdpChat.start(0);
        ChatPeer likeNc = join();
        ChatPeer likePython = join();

        likeNc.say("typed in nc\n");
        assertThat(likePython.await("typed in nc")).isEqualTo(likeNc.name() + ": typed in nc");
        likePython.say("sent by python");
        assertThat(likeNc.await("sent by python")).isEqualTo(likePython.name() + ": sent by python\n");
    }

    @Test
    void asAProgramItPrintsItsPort() throws Exception {
        try (LessonRun run = LessonRun.start("UdpChat", "--port", "0", "--silence", "60")) {
            int port = run.awaitListeningPort();
            var peer = new ChatPeer(port);
            peers.add(peer);
            peer.say("/join");
            peer.await("* welcome");
        }
    }

    @Test
    void aPortInUseIsOneClearLine() throws Exception {
        server = UdpChat.start(0);
        try (LessonRun run = LessonRun.start("UdpChat", "--port", String.valueOf(server.port()))) {
            assertThat(run.exitCode(Duration.ofSeconds(30))).isEqualTo(1);
            assertThat(run.stderr()).contains("already in use").contains("--port 0").doesNotContain("\tat ");
        }
    }
}
