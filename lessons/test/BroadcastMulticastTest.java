import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.ResourceLock;

/// Lesson 25: on loopback, a broadcast answered by every socket on the port, refused without
/// SO_BROADCAST, and a group's datagrams delivered to members only; on three hosts on one switch
/// (a, b, c), discovery by broadcast and who receives which of the group's three datagrams.
@Timeout(60)
@ResourceLock("network-namespaces")
class BroadcastMulticastTest {
    static final InetAddress GROUP = address("239.1.2.3");

    static InetAddress address(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void everySocketOnThePortHearsTheBroadcastAndAnswers() throws Exception {
        try (var one = BroadcastMulticast.answer("one", 0); var two = BroadcastMulticast.answer("two", one.port())) {
            List<String> answers = BroadcastMulticast.discover(address("127.255.255.255"), two.port(), true);
            assertThat(answers).hasSize(2).anyMatch(a -> a.startsWith("HERE one")).anyMatch(a -> a.startsWith("HERE two"));
        }
    }

    @Test
    void withoutSoBroadcastTheKernelRefusesToSendToTheBroadcastAddress() {
        assertThatThrownBy(() -> BroadcastMulticast.discover(address("127.255.255.255"), 9, false))
                .isInstanceOf(IOException.class).hasMessageContaining("Permission denied");
    }

    @Test
    void onLoopbackEveryMemberGetsEveryDatagramAndASocketThatDidNotJoinNone() throws Exception {
        NetworkInterface lo = NetworkInterface.getByName("lo");
        try (var first = BroadcastMulticast.join(GROUP, 0, lo, "member 1");
             var second = BroadcastMulticast.join(GROUP, first.port(), lo, "member 2");
             DatagramChannel bystander = DatagramChannel.open(StandardProtocolFamily.INET)
                     .setOption(StandardSocketOptions.SO_REUSEADDR, true).bind(new InetSocketAddress(first.port()))) {
            BroadcastMulticast.sendThree(GROUP, first.port(), lo);
            for (var member : List.of(first, second)) {
                List<String> got = new ArrayList<>();
                for (int i = 0; i < 3; i++) got.add(member.received().poll(5, TimeUnit.SECONDS));
                // On lo, even ttl 0 and loop off arrive: the interface itself is a loop.
                assertThat(got).as(member.name()).containsExactly("datagram 1 (ttl 0, loop on)",
                        "datagram 2 (ttl 1, loop on)", "datagram 3 (ttl 1, loop off)");
            }
            // Every member has datagram 3, delivered in the same pass as to any other socket on the port.
            bystander.configureBlocking(false);
            assertThat(bystander.receive(ByteBuffer.allocate(1_500))).as("a socket on the port that did not join").isNull();
        }
    }

    @Test
    void onALanTtlKeepsADatagramHomeAndLoopDecidesTheSendersOwnCopy() throws Exception {
        try (TestNetwork network = TestNetwork.build(Net.Topology.LAN)) {
            try (LessonRun b = network.lesson("b", "BroadcastMulticast", "--interface", "eth0", "--answer", "b",
                         "--join", "239.1.2.3");
                 LessonRun c = network.lesson("c", "BroadcastMulticast", "--interface", "eth0", "--answer", "c",
                         "--join", "239.1.2.3")) {
                for (LessonRun member : List.of(b, c)) member.awaitLine(Pattern.compile("ready on eth0"), Duration.ofSeconds(20));
                try (LessonRun a = network.lesson("a", "BroadcastMulticast", "--interface", "eth0", "--discover",
                        "--join", "239.1.2.3", "--send", "239.1.2.3")) {
                    // Discovery: b and c answer a's broadcast, each from its own address.
                    Pattern answer = Pattern.compile(
                            "\\[discover\\] received \"HERE [bc]\" from 10\\.10\\.3\\.[23]:5000");
                    a.awaitLine(answer, Duration.ofSeconds(20));
                    a.awaitLine(answer, Duration.ofSeconds(5));
                    // a's own member: datagram 1 (ttl 0 never leaves a) and 2, by loop; not 3 (loop off).
                    a.awaitLine(Pattern.compile("received \"datagram 1 \\(ttl 0, loop on\\)\" from 10\\.10\\.3\\.1:"), Duration.ofSeconds(10));
                    a.awaitLine(Pattern.compile("received \"datagram 2 \\(ttl 1, loop on\\)\""), Duration.ofSeconds(10));
                    for (LessonRun member : List.of(b, c)) {
                        member.awaitLine(Pattern.compile("received \"datagram 2 \\(ttl 1, loop on\\)\" from 10\\.10\\.3\\.1:"), Duration.ofSeconds(10));
                        member.awaitLine(Pattern.compile("received \"datagram 3 \\(ttl 1, loop off\\)\""), Duration.ofSeconds(10));
                        // Datagram 1 was sent first: had it left a, it would have arrived before 3.
                        assertThat(member.output()).doesNotContain("datagram 1");
                    }
                    assertThatThrownBy(() -> a.awaitLine(Pattern.compile("received \"datagram 3"), Duration.ofSeconds(1)))
                            .as("with loop off, the sender's own host gets no copy").isInstanceOf(AssertionError.class);
                }
            }
        }
    }
}
