import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class UdpEchoTest {
    static final int TIMEOUT_MS = 10_000;
    static final Duration QUIET = Duration.ofMillis(300);

    UdpEcho.Server server;
    final List<DatagramSocket> sockets = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = UdpEcho.start(0);
    }

    @AfterEach
    void stop() {
        server.close();
        sockets.forEach(DatagramSocket::close);
    }

    /// A socket on loopback, any free port, that never waits longer than the test allows.
    DatagramSocket socket() throws IOException {
        var socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        socket.setSoTimeout(TIMEOUT_MS);
        sockets.add(socket);
        return socket;
    }

    InetSocketAddress serverAddress() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
    }

    static void send(DatagramSocket socket, byte[] data, InetSocketAddress to) throws IOException {
        socket.send(new DatagramPacket(data, data.length, to));
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /// True when no datagram arrives for `quiet`.
    static boolean staysSilent(DatagramSocket socket, Duration quiet) throws IOException {
        int before = socket.getSoTimeout();
        socket.setSoTimeout((int) quiet.toMillis());
        try {
            socket.receive(new DatagramPacket(new byte[2048], 2048));
            return false;
        } catch (SocketTimeoutException e) {
            return true;
        } finally {
            socket.setSoTimeout(before);
        }
    }

    @Test
    void echoesADatagramBackToItsSender() throws IOException {
        DatagramSocket client = socket();
        send(client, bytes("Hello, world"), serverAddress());
        UdpEcho.Datagram reply = UdpEcho.receive(client, 2048);
        assertThat(reply.text()).isEqualTo("Hello, world");
        assertThat(reply.sender()).as("the reply comes from the server's port").isEqualTo(serverAddress());
    }

    @Test
    void eachReplyGoesToTheAddressThatSentTheDatagram() throws IOException {
        DatagramSocket alice = socket();
        DatagramSocket bob = socket();
        send(alice, bytes("from alice"), serverAddress());
        send(bob, bytes("from bob"), serverAddress());
        assertThat(UdpEcho.receive(bob, 2048).text()).isEqualTo("from bob");
        assertThat(UdpEcho.receive(alice, 2048).text()).isEqualTo("from alice");
        assertThat(staysSilent(alice, QUIET)).as("alice gets only her own echo").isTrue();
    }

    @Test
    void messageBoundariesArePreserved() throws IOException {
        DatagramSocket client = socket();
        List<String> sent = List.of("a", "bb", "ccc", "", "line one\nline two\n");
        for (String message : sent) send(client, bytes(message), serverAddress());
        // Five sends, five datagrams back: never merged into one, never split, even the empty one.
        List<String> received = new ArrayList<>();
        for (int i = 0; i < sent.size(); i++) received.add(UdpEcho.receive(client, 2048).text());
        assertThat(received).containsExactlyInAnyOrderElementsOf(sent);
        assertThat(staysSilent(client, QUIET)).isTrue();
    }

    @Test
    void truncationIsSilentUnlessYouAskForOneByteMore() throws IOException {
        DatagramSocket receiver = socket();
        DatagramSocket sender = socket();
        byte[] twenty = bytes("0123456789abcdefghij");
        var target = (InetSocketAddress) receiver.getLocalSocketAddress();

        // A buffer of 10 bytes: the kernel keeps 10, drops the other 10, and reports no error.
        send(sender, twenty, target);
        var small = new DatagramPacket(new byte[10], 10);
        receiver.receive(small);
        assertThat(small.getLength()).isEqualTo(10);
        assertThat(new String(small.getData(), 0, 10, StandardCharsets.UTF_8)).isEqualTo("0123456789");
        assertThat(staysSilent(receiver, QUIET)).as("the rest is gone, not waiting in the queue").isTrue();

        // The lesson's receive() asks for limit + 1 bytes and so can tell.
        send(sender, twenty, target);
        UdpEcho.Datagram cut = UdpEcho.receive(receiver, 10);
        assertThat(cut.truncated()).isTrue();
        assertThat(cut.text()).isEqualTo("0123456789");
        send(sender, Arrays.copyOf(twenty, 10), target);
        assertThat(UdpEcho.receive(receiver, 10).truncated()).as("exactly the limit is fine").isFalse();
    }

    /// Since JDK 15 a receive may fill a packet's whole buffer, whatever the last receive left in
    /// getLength(); only setLength lowers the limit, and then a longer datagram is cut, silently.
    @Test
    void aReusedPacketReceivesUpToItsBufferAndSetLengthIsTheTrap() throws IOException {
        DatagramSocket receiver = socket();
        DatagramSocket sender = socket();
        var to = (InetSocketAddress) receiver.getLocalSocketAddress();
        byte[] longer = bytes("nineteen bytes long");
        byte[] shorter = bytes("hi");
        var packet = new DatagramPacket(new byte[64], 64);
        List<Integer> lengths = new ArrayList<>();
        for (byte[] datagram : List.of(longer, shorter, longer)) {
            send(sender, datagram, to);
            receiver.receive(packet);
            lengths.add(packet.getLength());
        }
        assertThat(lengths).as("the short datagram did not shrink the next receive").containsExactly(19, 2, 19);

        packet.setLength(2);
        send(sender, longer, to);
        receiver.receive(packet);
        assertThat(new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8))
                .as("after setLength(2) the next datagram is cut to 2 bytes, with no error").isEqualTo("ni");
        send(sender, shorter, to);
        var next = new DatagramPacket(new byte[64], 64);
        receiver.receive(next);
        assertThat(new String(next.getData(), 0, next.getLength(), StandardCharsets.UTF_8))
                .as("the cut-off rest was not kept: the next receive gets the next datagram").isEqualTo("hi");
    }

    @Test
    void theServerRefusesADatagramOverItsLimitAndGoesOn() throws IOException {
        DatagramSocket client = socket();
        byte[] tooLong = new byte[UdpEcho.MAX_DATAGRAM + 1];
        Arrays.fill(tooLong, (byte) 'x');
        send(client, tooLong, serverAddress());
        assertThat(UdpEcho.receive(client, 2048).text())
                .isEqualTo("ERROR datagram longer than " + UdpEcho.MAX_DATAGRAM + " bytes; not echoed\n");

        byte[] justRight = Arrays.copyOf(tooLong, UdpEcho.MAX_DATAGRAM);
        send(client, justRight, serverAddress());
        assertThat(UdpEcho.receive(client, 2048).data()).isEqualTo(justRight);
    }

    @Test
    void aConnectedSocketOnlyHearsItsPeer() throws IOException {
        DatagramSocket stranger = socket();
        DatagramSocket connected = socket();
        connected.connect(serverAddress());
        DatagramSocket unconnected = socket();

        for (DatagramSocket target : List.of(connected, unconnected)) {
            send(stranger, bytes("intruder"), (InetSocketAddress) target.getLocalSocketAddress());
        }
        byte[] hello = bytes("hello");
        connected.send(new DatagramPacket(hello, hello.length));    // no address: connect fixed it
        assertThat(UdpEcho.receive(connected, 2048).text()).isEqualTo("hello");
        assertThat(staysSilent(connected, QUIET)).as("the kernel dropped the stranger's datagram").isTrue();
        assertThat(UdpEcho.receive(unconnected, 2048).text()).as("an unconnected socket hears anyone")
                .isEqualTo("intruder");
    }

    @Test
    void aConnectedSocketLearnsThatNothingListens() throws IOException {
        InetSocketAddress nobody = freeUdpPort();
        DatagramSocket connected = socket();
        connected.connect(nobody);
        connected.send(new DatagramPacket(bytes("anyone?"), 7));
        // The kernel there answers with ICMP port unreachable; ours hands it to the next receive.
        assertThatThrownBy(() -> connected.receive(new DatagramPacket(new byte[100], 100)))
                .isInstanceOf(PortUnreachableException.class);

        // An unconnected socket is told nothing: it just waits.
        DatagramSocket unconnected = socket();
        send(unconnected, bytes("anyone?"), nobody);
        assertThat(staysSilent(unconnected, QUIET)).isTrue();
    }

    static InetSocketAddress freeUdpPort() throws IOException {
        try (var probe = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            return (InetSocketAddress) probe.getLocalSocketAddress();
        }
    }

    @Test
    void theClientSendsALinePerDatagramAndSaysWhenTheReplyWasCut() throws Exception {
        try (LessonRun run = LessonRun.start("UdpEcho", "--client", "--port", String.valueOf(server.port()),
                "--buffer", "5")) {
            try (var keyboard = run.process().outputWriter(StandardCharsets.UTF_8)) {
                keyboard.write("hello\nsomething long\n");
            }
            assertThat(run.exitCode(Duration.ofSeconds(30))).as(run.output()).isZero();
            assertThat(run.stdout()).contains("5 bytes: \"hello\"").contains("5 bytes: \"somet\"")
                    .contains("the reply was longer than the 5-byte buffer");
        }
    }

    @Test
    void theClientSaysWhenNothingListens() throws Exception {
        try (LessonRun run = LessonRun.start("UdpEcho", "--client", "--port",
                String.valueOf(freeUdpPort().getPort()))) {
            try (var keyboard = run.process().outputWriter(StandardCharsets.UTF_8)) {
                keyboard.write("anyone?\n");
            }
            assertThat(run.exitCode(Duration.ofSeconds(30))).as(run.output()).isZero();
            assertThat(run.stdout()).contains("port unreachable: nothing receives on");
        }
    }

    @Test
    void asAProgramItPrintsItsPortAndEchoes() throws Exception {
        try (LessonRun run = LessonRun.start("UdpEcho", "--port", "0")) {
            int port = run.awaitListeningPort();
            DatagramSocket client = socket();
            send(client, bytes("ping"), new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            assertThat(UdpEcho.receive(client, 2048).text()).isEqualTo("ping");
            run.awaitLine(Pattern.compile("4 bytes from .*\"ping\""), Duration.ofSeconds(10));
        }
    }

    @Test
    void aPortInUseIsOneClearLine() throws Exception {
        try (LessonRun run = LessonRun.start("UdpEcho", "--port", String.valueOf(server.port()))) {
            assertThat(run.exitCode(Duration.ofSeconds(30))).isEqualTo(1);
            assertThat(run.stderr()).contains("already in use").contains("--port 0").doesNotContain("\tat ");
        }
    }
}
