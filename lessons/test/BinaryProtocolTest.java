import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class BinaryProtocolTest {
    static final int READ_TIMEOUT_MS = 10_000;

    BinaryProtocol.Server server;
    Tap tap;

    @BeforeEach
    void start() throws IOException {
        server = BinaryProtocol.start(0);
    }

    @AfterEach
    void stop() throws IOException {
        if (tap != null) tap.close();
        server.close();
    }

    static BinaryProtocol.Frame text(int id, String text) {
        return new BinaryProtocol.Frame(BinaryProtocol.TEXT, id, text.getBytes(StandardCharsets.UTF_8));
    }

    static String text(BinaryProtocol.Frame frame) {
        return new String(frame.payload(), StandardCharsets.UTF_8);
    }

    static List<BinaryProtocol.Frame> someFrames() {
        return List.of(
                text(1, "hello"),
                text(2, "two\nlines and a \0 byte: a frame carries any bytes"),
                text(-1, ""),                              // id 4294967295, empty payload
                new BinaryProtocol.Frame(200, 7, new byte[BinaryProtocol.MAX_FRAME - BinaryProtocol.HEADER]));
    }

    static byte[] bytesOf(List<BinaryProtocol.Frame> frames) throws IOException {
        var bytes = new ByteArrayOutputStream();
        var out = new DataOutputStream(bytes);
        for (var frame : frames) BinaryProtocol.write(out, frame);
        return bytes.toByteArray();
    }

    static void assertSameFrames(List<BinaryProtocol.Frame> actual, List<BinaryProtocol.Frame> expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i).type()).isEqualTo(expected.get(i).type());
            assertThat(actual.get(i).id()).isEqualTo(expected.get(i).id());
            assertThat(actual.get(i).payload()).isEqualTo(expected.get(i).payload());
        }
    }

    static List<BinaryProtocol.Frame> readAll(InputStream in, int count) throws IOException {
        List<BinaryProtocol.Frame> frames = new ArrayList<>();
        for (int i = 0; i < count; i++) frames.add(BinaryProtocol.read(in));
        return frames;
    }

    Socket connect(int port) throws IOException {
        var socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(READ_TIMEOUT_MS);
        return socket;
    }

    @Test
    void theLayoutIsBigEndianLengthTypeIdPayload() throws IOException {
        var frame = text(0x01020304, "hi");
        String expected = "00000007" + "01" + "01020304" + "6869";
        assertThat(HexFormat.of().formatHex(bytesOf(List.of(frame)))).isEqualTo(expected);
    }

    @Test
    void aLengthWrittenLittleEndianIsRefusedAsAHugeFrame() throws IOException {
        byte[] frame = bytesOf(List.of(text(1, "hello")));
        byte[] prefix = Arrays.copyOf(frame, 4);
        assertThat(ByteBuffer.wrap(prefix).getInt()).isEqualTo(10);
        // A sender that wrote the length least significant byte first: 0a 00 00 00.
        ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 10);
        try (Socket bystander = connect(server.port()); Socket client = connect(server.port())) {
            client.getOutputStream().write(frame);
            var error = BinaryProtocol.read(client.getInputStream());
            assertThat(error.type()).isEqualTo(BinaryProtocol.ERROR);
            // 0a 00 00 00 read big-endian is 0x0a000000 = 167,772,160.
            assertThat(text(error)).isEqualTo("frame of 167772160 bytes refused: the limit is 65536");
            assertThat(BinaryProtocol.read(client.getInputStream())).isNull();
            assertBystanderServed(bystander);
        }
    }

    @Test
    void framesSurviveBeingReadOneByteAtATime() throws IOException {
        var frames = someFrames();
        InputStream trickle = new ByteArrayInputStream(bytesOf(frames)) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 1));      // every read returns one byte
            }
        };
        assertSameFrames(readAll(trickle, frames.size()), frames);
        assertThat(BinaryProtocol.read(trickle)).as("clean end between frames").isNull();
    }

    @Test
    void framesSurviveTheTapCuttingThemIntoSingleBytes() throws IOException {
        tap = Tap.start(0, new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()), 1, Duration.ZERO);
        var frames = List.of(text(1, "cut"), text(2, "into"), text(3, "single bytes"));
        try (Socket client = connect(tap.port())) {
            client.getOutputStream().write(bytesOf(frames));                 // one write, three frames
            client.shutdownOutput();
            InputStream in = client.getInputStream();
            assertSameFrames(readAll(in, frames.size()), frames);          // the echo came back cut too
            assertThat(BinaryProtocol.read(in)).isNull();
        }
    }

    @Test
    void severalFramesCoalescedIntoOneReadAreAllDecoded() throws IOException {
        var frames = someFrames().subList(0, 3);
        byte[] bytes = bytesOf(frames);
        try (var listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket sender = connect(listener.getLocalPort());
             Socket receiver = listener.accept()) {
            receiver.setSoTimeout(READ_TIMEOUT_MS);
            sender.getOutputStream().write(bytes);
            InputStream raw = receiver.getInputStream();
            // Wait until every byte sits in the receive buffer: the first read then takes them all.
            await().atMost(Duration.ofSeconds(10)).until(() -> raw.available() == bytes.length);
            var counting = new CountingInputStream(raw);
            assertSameFrames(readAll(new BufferedInputStream(counting), frames.size()), frames);
            assertThat(counting.reads).as("socket reads for three frames").isEqualTo(1);
        }
    }

    @Test
    void theServerEchoesFramesWrittenInOneBurst() throws IOException {
        var frames = someFrames();
        try (Socket client = connect(server.port())) {
            client.getOutputStream().write(bytesOf(frames));
            assertSameFrames(readAll(client.getInputStream(), frames.size()), frames);
        }
    }

    /// Counts the bytes and the read calls that reach the stream beneath.
    static final class CountingInputStream extends InputStream {
        final InputStream in;
        long bytes;
        int reads;

        CountingInputStream(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            reads++;
            int b = in.read();
            if (b != -1) bytes++;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            reads++;
            int n = in.read(b, off, len);
            if (n > 0) bytes += n;
            return n;
        }
    }

    /// A length prefix, then an endless supply of bytes: whoever believes the prefix keeps reading.
    static CountingInputStream prefixThenEndlessBytes(int prefix) {
        byte[] head = ByteBuffer.allocate(4).putInt(prefix).array();
        return new CountingInputStream(new InputStream() {
            long position;

            @Override
            public int read() {
                return position < 4 ? head[(int) position++] & 0xff : 'x';
            }
        });
    }

    @Test
    void anOversizeLengthIsRefusedBeforeAnythingIsAllocatedOrRead() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        refuse(prefixThenEndlessBytes(0x7fff_ffff));     // warm up: load and initialise what refusing uses
        for (int prefix : new int[] {0x7fff_ffff, 0xffff_ffff, 0x4000_0000, BinaryProtocol.MAX_FRAME + 1}) {
            CountingInputStream in = prefixThenEndlessBytes(prefix);
            long before = threads.getCurrentThreadAllocatedBytes();
            IOException refused = refuse(in);
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            System.out.printf("prefix %d: refused after allocating %d bytes%n", Integer.toUnsignedLong(prefix), allocated);
            assertThat(refused).isInstanceOf(ProtocolException.class)
                    .hasMessage("frame of %d bytes refused: the limit is 65536", Integer.toUnsignedLong(prefix));
            // Believing a 1 GiB prefix means a 1 GiB array; refusing it costs an exception and its message.
            assertThat(allocated).as("bytes allocated while refusing %d", Integer.toUnsignedLong(prefix))
                    .isLessThan(16 * 1024);
            assertThat(in.bytes).as("only the prefix was read").isEqualTo(4);
        }
    }

    static IOException refuse(InputStream in) {
        try {
            BinaryProtocol.read(in);
            return null;
        } catch (IOException e) {
            return e;
        }
    }

    @Test
    void aFrameOfExactlyTheLimitIsAccepted() throws IOException {
        var largest = new BinaryProtocol.Frame(BinaryProtocol.TEXT, 9, new byte[BinaryProtocol.MAX_FRAME - 5]);
        assertSameFrames(List.of(BinaryProtocol.read(new ByteArrayInputStream(bytesOf(List.of(largest))))),
                List.of(largest));
    }

    @Test
    void aLengthTooShortForTheHeaderIsRefused() {
        assertThatThrownBy(() -> BinaryProtocol.read(prefixThenEndlessBytes(4)))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("shorter than its 5-byte header");
    }

    @Test
    void aFrameCutShortSaysHowManyBytesAreMissing() throws IOException {
        byte[] whole = bytesOf(List.of(text(5, "fifteen bytes!!")));   // 4 + 20 bytes
        assertThatThrownBy(() -> BinaryProtocol.read(new ByteArrayInputStream(whole, 0, 4 + 7)))
                .isInstanceOf(EOFException.class).hasMessage("peer closed inside a frame: got 7 of 20 bytes, 13 missing");
        assertThatThrownBy(() -> BinaryProtocol.read(new ByteArrayInputStream(whole, 0, 3)))
                .isInstanceOf(EOFException.class).hasMessage("peer closed inside a length prefix: got 3 of 4 bytes, 1 missing");
        assertThat(BinaryProtocol.read(new ByteArrayInputStream(new byte[0]))).isNull();
    }

    @Test
    void theServerReportsATruncatedFrameAndKeepsServingOthers() throws IOException {
        byte[] whole = bytesOf(List.of(text(5, "fifteen bytes!!")));
        try (Socket bystander = connect(server.port()); Socket client = connect(server.port())) {
            client.getOutputStream().write(whole, 0, 11);
            client.shutdownOutput();                       // our FIN arrives in the middle of the frame
            var error = BinaryProtocol.read(client.getInputStream());
            assertThat(error.type()).isEqualTo(BinaryProtocol.ERROR);
            assertThat(text(error)).isEqualTo("peer closed inside a frame: got 7 of 20 bytes, 13 missing");
            assertThat(BinaryProtocol.read(client.getInputStream())).isNull();
            assertBystanderServed(bystander);
        }
    }

    @Test
    void aTextLineSentToTheFrameServerIsReadAsAHugeLength() throws IOException {
        try (Socket bystander = connect(server.port()); Socket client = connect(server.port())) {
            client.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
            var error = BinaryProtocol.read(client.getInputStream());
            assertThat(error.type()).isEqualTo(BinaryProtocol.ERROR);
            // "hell" = 68 65 6c 6c = 1,751,477,356 as a big-endian length.
            assertThat(text(error)).isEqualTo("frame of 1751477356 bytes refused: the limit is 65536");
            assertThat(BinaryProtocol.read(client.getInputStream())).isNull();
            assertBystanderServed(bystander);
        }
    }

    void assertBystanderServed(Socket bystander) throws IOException {
        var frame = text(42, "still served");
        bystander.getOutputStream().write(bytesOf(List.of(frame)));
        assertSameFrames(List.of(BinaryProtocol.read(bystander.getInputStream())), List.of(frame));
    }

    @Test
    void pythonsStructPackTalksToTheServer() throws Exception {
        assumeThat(Files.isExecutable(Path.of("/usr/bin/python3"))).as("python3 is installed").isTrue();
        String script = """
                import socket, struct, sys
                def recv_exactly(s, n):
                    data = b""
                    while len(data) < n:
                        chunk = s.recv(n - len(data))
                        if not chunk: raise EOFError(f"{n - len(data)} bytes missing")
                        data += chunk
                    return data
                with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s:
                    payload = "héllo from python".encode()
                    s.sendall(struct.pack(">IBI", 5 + len(payload), 1, 77) + payload)
                    (length,) = struct.unpack(">I", recv_exactly(s, 4))
                    kind, ident = struct.unpack(">BI", recv_exactly(s, 5))
                    print(kind, ident, recv_exactly(s, length - 5).decode())
                """;
        var python = new ProcessBuilder("python3", "-c", script, String.valueOf(server.port()))
                .redirectErrorStream(true).start();
        assertThat(python.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip())
                .isEqualTo("1 77 héllo from python");
    }

    @Test
    void theUsagesPrintfSendsOneTextFrame() throws Exception {
        var printf = Pattern.compile("printf '([^']+)' \\| nc -N localhost 1234").matcher(BinaryProtocol.USAGE);
        assertThat(printf.find()).as("the usage shows a printf | nc -N line").isTrue();
        var process = new ProcessBuilder("printf", printf.group(1)).start();
        byte[] bytes = process.getInputStream().readAllBytes();
        assertThat(process.waitFor(10, TimeUnit.SECONDS)).isTrue();
        var hello = text(1, "hello");
        assertThat(bytes).isEqualTo(bytesOf(List.of(hello)));
        try (Socket client = connect(server.port())) {
            client.getOutputStream().write(bytes);
            assertSameFrames(List.of(BinaryProtocol.read(client.getInputStream())), List.of(hello));
        }
    }

    @Test
    void mainPrintsThePortItGot() throws Exception {
        try (LessonRun run = LessonRun.start("BinaryProtocol", "--port", "0"); Socket client = connect(run.awaitListeningPort())) {
            assertBystanderServed(client);
        }
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        LessonRun.assertExplainsPortInUse("BinaryProtocol", server.port());
    }

    @Test
    void theListenerAsksTheKernelForItsStatedBacklog() throws Exception {
        assertThat(Listeners.backlog(server.port()))
                .isEqualTo(Math.min(BinaryProtocol.BACKLOG, Listeners.somaxconn())).isGreaterThan(50);
    }
}
