import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
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

    /// Python's recvmsg() returns the message flags, and the kernel sets MSG_TRUNC in them for a
    /// datagram cut short; Java's receive has no such flag (the test above: only the length).
    @Test
    void pythonsRecvmsgReportsTheCutThatJavaDoesNot() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "python3 is installed");
        String script = """
                import socket
                r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", 0)); r.settimeout(10)
                print("port", r.getsockname()[1], flush=True)
                data, ancillary, flags, sender = r.recvmsg(4)
                print(data, "MSG_TRUNC" if flags & socket.MSG_TRUNC else "no flag", flush=True)
                """;
        try (LessonRun python = LessonRun.startProcess(new ProcessBuilder("python3", "-c", script))) {
            int port = Integer.parseInt(python.awaitLine(Pattern.compile("port (\\d+)"), Duration.ofSeconds(10)).group(1));
            TcpVsUdp.sendTo(udp.sender(), port, "0123456789");
            python.awaitLine(Pattern.compile("^b'0123' MSG_TRUNC$"), Duration.ofSeconds(10));
            assertThat(python.exitCode(Duration.ofSeconds(10))).as(python.output()).isZero();
        }
    }

    /// A process that dies with bytes unread in its receive buffer does not end the connection with
    /// FIN: its kernel sends a reset, and the writer's next read fails. The writer learns that
    /// something went wrong, never how much of what it wrote was read.
    @Test
    void aProcessThatDiesWithUnreadBytesMakesItsKernelReset() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "python3 is installed");
        String script = """
                import socket, sys, time
                s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
                print("connected from", s.getsockname()[1], flush=True)
                time.sleep(60)                  # never reads
                """;
        try (var listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                LessonRun python = LessonRun.startProcess(new ProcessBuilder("python3", "-c", script,
                        String.valueOf(listener.getLocalPort())))) {
            listener.setSoTimeout(10_000);
            int pythonPort = Integer.parseInt(python.awaitLine(Pattern.compile("connected from (\\d+)"),
                    Duration.ofSeconds(10)).group(1));
            try (var writer = listener.accept()) {
                writer.setSoTimeout(10_000);
                TcpVsUdp.writeEach(writer, List.of("never read\n"));
                await().atMost(Duration.ofSeconds(10)).until(() -> unreadBytes(pythonPort) == 11);
                python.process().destroyForcibly().waitFor();
                assertThatThrownBy(() -> writer.getInputStream().read()).as("a reset, not end of stream")
                        .isInstanceOf(SocketException.class).hasMessageContaining("Connection reset");
            }
        }
    }

    /// Recv-Q of the established TCP socket whose local port is `port`, from `ss`.
    static int unreadBytes(int port) throws IOException, InterruptedException {
        Process ss = new ProcessBuilder("ss", "-Htn", "state", "established", "( sport = :" + port + " )")
                .redirectErrorStream(true).start();
        String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        ss.waitFor();
        return out.isEmpty() ? -1 : Integer.parseInt(out.split("\\s+")[0]);   // Recv-Q Send-Q Local Peer
    }

    @Test
    void theSameNumberIsTwoPortsInTcpAndUdp() throws IOException {
        try (TcpVsUdp.UdpPair sameNumber = TcpVsUdp.udpPair(tcp.listener().getLocalPort())) {
            TcpVsUdp.sendEach(sameNumber, List.of("udp"));
            assertThat(TcpVsUdp.receiveOnce(sameNumber.receiver(), 1024)).isEqualTo("udp");
        }
    }

    @Test
    void connectingWhereNobodyListensIsRefusedAtOnce() throws IOException {
        long start = System.nanoTime();
        IOException refusal = TcpVsUdp.connectWhereNobodyListens();
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(refusal).as("refused, not timed out").isInstanceOf(ConnectException.class)
                .hasMessageContaining("refused");
        assertThat(took).isLessThan(Duration.ofMillis(TcpVsUdp.TIMEOUT_MS));
    }

    @Test
    void aDatagramToNobodyIsSentWithoutAnErrorAndNobodyTellsTheSender() throws IOException {
        int port = TcpVsUdp.unusedUdpPort();
        assertThatCode(() -> TcpVsUdp.sendTo(udp.sender(), port, "anyone there?")).doesNotThrowAnyException();
        // Unconnected, the sender is not told of the ICMP "port unreachable" (lesson 12's test: a connected one is).
        udp.sender().setSoTimeout(300);
        assertThatThrownBy(() -> TcpVsUdp.receiveOnce(udp.sender(), 100)).isInstanceOf(SocketTimeoutException.class);
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
