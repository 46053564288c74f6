import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TcpVsUdpTest {
    TcpVsUdp.TcpPair tcp;
    TcpVsUdp.UdpPair udp;

    @BeforeEach
    void open() throws IOException {
        tcp = TcpVsUdp.connectTcp(0);
        tcp.writer().setSoTimeout(10_000);
        udp = TcpVsUdp.udpPair(0);
        udp.sender().setSoTimeout(10_000);
    }

    @AfterEach
    void close() throws IOException {
        tcp.close();
        udp.close();
    }

    @Test
    void threeWritesOnTcpCanArriveAsOneRead() throws Exception {
        TcpVsUdp.writeEach(tcp.writer(), List.of("one\n", "two\n", "three\n"));
        TcpVsUdp.awaitBuffered(tcp.reader(), 14);
        assertThat(TcpVsUdp.readOnce(tcp.reader(), 1024)).isEqualTo("one\ntwo\nthree\n");
    }

    @Test
    void aTcpReadIntoASmallBufferLeavesTheRestForTheNextRead() throws Exception {
        TcpVsUdp.writeEach(tcp.writer(), List.of("0123456789"));
        TcpVsUdp.awaitBuffered(tcp.reader(), 10);
        assertThat(TcpVsUdp.readOnce(tcp.reader(), 4)).isEqualTo("0123");
        assertThat(TcpVsUdp.readOnce(tcp.reader(), 1024)).isEqualTo("456789");
    }

    @Test
    void writtenBytesWaitInThePeersKernelEvenAfterTheWriterHasClosed() throws Exception {
        TcpVsUdp.writeEach(tcp.writer(), List.of("sent, then closed"));
        tcp.writer().close();
        // Delivered to the peer's kernel: the program reads the bytes later, then sees end of stream.
        assertThat(TcpVsUdp.readOnce(tcp.reader(), 1024)).isEqualTo("sent, then closed");
        assertThat(TcpVsUdp.readOnce(tcp.reader(), 1024)).as("end of stream").isNull();
    }

    @Test
    void threeDatagramsArriveAsThreeReceives() throws IOException {
        TcpVsUdp.sendEach(udp, List.of("one", "two", "three"));
        assertThat(TcpVsUdp.receiveOnce(udp.receiver(), 1024)).isEqualTo("one");
        assertThat(TcpVsUdp.receiveOnce(udp.receiver(), 1024)).isEqualTo("two");
        assertThat(TcpVsUdp.receiveOnce(udp.receiver(), 1024)).isEqualTo("three");
        udp.receiver().setSoTimeout(300);
        assertThatThrownBy(() -> TcpVsUdp.receiveOnce(udp.receiver(), 1024))
                .as("nothing else came").isInstanceOf(SocketTimeoutException.class);
    }

    @Test
    void aDatagramLongerThanTheBufferIsCutShortSilentlyAndTheRestIsGone() throws IOException {
        TcpVsUdp.sendEach(udp, List.of("0123456789", "next"));
        assertThat(TcpVsUdp.receiveOnce(udp.receiver(), 4)).as("no error, just the first 4 bytes").isEqualTo("0123");
        assertThat(TcpVsUdp.receiveOnce(udp.receiver(), 1024)).as("the next datagram, not the rest").isEqualTo("next");
    }

    @Test
    void aBufferOneByteLargerThanTheLimitDetectsAnOversizeDatagram() throws IOException {
        int limit = 8;
        TcpVsUdp.sendEach(udp, List.of("12345678", "123456789"));
        assertThat(TcpVsUdp.receiveOnce(udp.receiver(), limit + 1)).hasSize(limit);
        assertThat(TcpVsUdp.receiveOnce(udp.receiver(), limit + 1)).hasSize(limit + 1);
    }

    @Test
    void theSameNumberIsTwoPortsInTcpAndUdp() throws IOException {
        try (TcpVsUdp.UdpPair sameNumber = TcpVsUdp.udpPair(tcp.port())) {
            TcpVsUdp.sendEach(sameNumber, List.of("udp"));
            assertThat(TcpVsUdp.receiveOnce(sameNumber.receiver(), 1024)).isEqualTo("udp");
        }
    }

    @Test
    void connectingWhereNobodyListensIsRefusedAtOnce() throws IOException {
        TcpVsUdp.Refusal refusal = TcpVsUdp.connectWhereNobodyListens();
        assertThat(refusal.error()).as("refused, not timed out").isInstanceOf(ConnectException.class)
                .hasMessageContaining("refused");
        assertThat(refusal.took()).isLessThan(Duration.ofMillis(TcpVsUdp.TIMEOUT_MS));
    }

    @Test
    void aDatagramToNobodyIsSentWithoutAnError() throws IOException {
        int port = TcpVsUdp.unusedUdpPort();
        assertThatCode(() -> TcpVsUdp.sendTo(port, "anyone there?")).doesNotThrowAnyException();
    }

    @Test
    void aConnectedDatagramSocketHearsOfTheUnreachablePortOnItsNextCall() throws IOException {
        int port = TcpVsUdp.unusedUdpPort();
        assertThat(TcpVsUdp.sendConnectedThenReceive(port, "anyone there?")).isInstanceOf(PortUnreachableException.class);
    }

    @Test
    void mainShowsEverythingAndEnds() throws Exception {
        try (LessonRun run = LessonRun.start("TcpVsUdp", "--port", "0")) {
            assertThat(run.awaitListeningPort()).isPositive();
            assertThat(run.exitCode(Duration.ofSeconds(30))).as(run.output()).isZero();
            assertThat(run.stderr()).isEmpty();
        }
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            LessonRun.assertExplainsPortInUse("TcpVsUdp", taken.getLocalPort());
        }
    }

    @Test
    void aBadPortIsAUsageError() throws Exception {
        try (LessonRun run = LessonRun.start("TcpVsUdp", "--port", "-1")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(2);
            assertThat(run.stderr()).contains("0 to 65535").contains("Usage:");
        }
    }
}
