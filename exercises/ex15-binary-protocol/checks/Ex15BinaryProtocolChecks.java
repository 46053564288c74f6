import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import grading.TcpQueues;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/// The checked exercises of chapter 15: a decoder that cuts frames from any pieces, how many bytes
/// one read() returns, and what a length prefix means in the wrong byte order.
public final class Ex15BinaryProtocolChecks implements Lab {

    static final String FILE = "predictions.txt";

    @Override
    public String title() {
        return "Binary protocol";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("FrameDecoder cuts frames from 1-byte pieces, glued frames and a socket; refuses a bad length", 10,
                        "keep every byte that arrived until its frame is whole; look at the length before keeping the body; one feed() may hold many frames, or none",
                        Ex15BinaryProtocolChecks::decoder),
                Check.core("predicts how many bytes one read() returns after three writes", 10,
                        "TCP is a byte stream: the receiving kernel keeps bytes, not writes, and read() takes what it holds, up to the buffer's size",
                        Ex15BinaryProtocolChecks::oneRead),
                Check.core("predicts the length a little-endian reader sees", 10,
                        "big-endian puts the most significant byte first on the wire; a little-endian reader takes the first byte as the least significant",
                        Ex15BinaryProtocolChecks::littleEndian));
    }

    static byte[] frame(int type, int id, byte[] payload) {
        return ByteBuffer.allocate(4 + 5 + payload.length).putInt(5 + payload.length)
                .put((byte) type).putInt(id).put(payload).array();
    }

    static String show(FrameDecoder.Frame f) {
        return "frame type " + f.type() + " id " + f.id() + " with " + f.payload().length + " bytes";
    }

    /// Requires exactly the frames made from `ids`, with payloads `payloads`.
    static void expectFrames(List<FrameDecoder.Frame> got, List<byte[]> payloads, String what) {
        Expect.equal(payloads.size(), got.size(), what + ": the number of frames");
        for (int i = 0; i < got.size(); i++) {
            FrameDecoder.Frame f = got.get(i);
            Expect.that(f.type() == 1 && f.id() == i && Arrays.equals(payloads.get(i), f.payload()),
                    what + ": frame " + i + " should be type 1, id " + i + ", " + payloads.get(i).length
                            + " bytes of payload; got a " + show(f) + (Arrays.equals(payloads.get(i), f.payload()) ? "" : " (other bytes)"));
        }
    }

    static void decoder() throws Exception {
        var random = new Random(15);
        var payloads = new ArrayList<byte[]>();
        var stream = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < 40; i++) {
            byte[] p = new byte[i == 7 ? 0 : i == 20 ? FrameDecoder.MAX_FRAME - 5 : random.nextInt(300)];
            random.nextBytes(p);
            payloads.add(p);
            stream.write(frame(1, i, p));
        }
        byte[] all = stream.toByteArray();

        // One byte at a time.
        var decoder = new FrameDecoder();
        var got = new ArrayList<FrameDecoder.Frame>();
        for (byte b : all) got.addAll(decoder.feed(ByteBuffer.wrap(new byte[] {b})));
        expectFrames(got, payloads, "40 frames fed one byte at a time (one with an empty payload, one of MAX_FRAME)");

        // Everything glued, then the first half of one more frame, then its rest.
        decoder = new FrameDecoder();
        byte[] extra = frame(1, 40, "the last one".getBytes(StandardCharsets.UTF_8));
        byte[] glued = Arrays.copyOf(all, all.length + 7);
        System.arraycopy(extra, 0, glued, all.length, 7);
        expectFrames(decoder.feed(ByteBuffer.wrap(glued)), payloads, "40 frames and 7 bytes of a 41st in one feed()");
        Expect.equal(7, decoder.pending(), "pending() after that feed (7 bytes of the 41st frame)");
        List<FrameDecoder.Frame> last = decoder.feed(ByteBuffer.wrap(extra, 7, extra.length - 7));
        Expect.that(last.size() == 1 && last.get(0).id() == 40,
                "feeding the rest of the 41st frame should give that one frame, id 40; got " + last.stream().map(Ex15BinaryProtocolChecks::show).toList());

        // Over a socket: whatever each read() returns.
        decoder = new FrameDecoder();
        got.clear();
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                var client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
                Socket server = listener.accept()) {
            client.setTcpNoDelay(true);
            server.setSoTimeout(3_000);
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    var out = client.getOutputStream();
                    for (int at = 0; at < all.length; ) {
                        int n = Math.min(all.length - at, 1 + random.nextInt(3000));
                        out.write(all, at, n);
                        at += n;
                    }
                } catch (IOException e) {
                    // The check fails below, counting frames.
                }
            });
            InputStream in = server.getInputStream();
            byte[] buffer = new byte[1500];
            for (int n; got.size() < payloads.size() && (n = in.read(buffer)) > 0; ) {
                got.addAll(decoder.feed(ByteBuffer.wrap(buffer, 0, n)));
            }
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("the 40 frames written over a socket gave only " + got.size() + " frames");
        }
        expectFrames(got, payloads, "40 frames written over a socket in random pieces, fed as each read() returned them");

        // A bad length: refused as soon as its 4 bytes are here.
        for (int length : new int[] {FrameDecoder.MAX_FRAME + 1, Integer.MAX_VALUE, -1, 4}) {
            var bad = new FrameDecoder();
            byte[] prefix = ByteBuffer.allocate(4).putInt(length).array();
            Expect.throwsA(FrameDecoder.BadFrameException.class, () -> bad.feed(ByteBuffer.wrap(prefix)),
                    "a length prefix of " + Integer.toUnsignedString(length) + " (bytes " + java.util.HexFormat.ofDelimiter(" ").formatHex(prefix) + ")");
        }
    }

    static void oneRead() throws Exception {
        long predicted = Answers.number(FILE, "one-read-bytes");
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                var client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
                Socket server = listener.accept()) {
            client.setTcpNoDelay(true);
            server.setSoTimeout(3_000);
            var out = new DataOutputStream(client.getOutputStream());
            int total = 0;
            for (int i = 0; i < 3; i++) {
                byte[] f = frame(1, i, new byte[95]);
                out.write(f);                         // DataOutputStream writes straight through: one write() each
                total += f.length;
            }
            int expected = total;
            // Wait until the server's kernel holds all three frames.
            Expect.eventually(Duration.ofSeconds(5), () -> queued(server) == expected,
                    () -> "the three frames did not all arrive: the receive queue holds " + queued(server) + " bytes");
            int n = server.getInputStream().read(new byte[64 * 1024]);
            Expect.that(n == predicted, "you predicted " + predicted + "; three writes of " + (total / 3)
                    + " bytes each, all arrived, and one read() returned " + n + " bytes");
        }
    }

    static long queued(Socket server) {
        try {
            return TcpQueues.of(server.getLocalPort(), server.getPort()).map(TcpQueues.Queues::receive).orElse(-1L);
        } catch (IOException e) {
            return -1;
        }
    }

    static void littleEndian() throws Exception {
        long predicted = Answers.number(FILE, "little-endian-length");
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                var client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
                Socket server = listener.accept()) {
            server.setSoTimeout(3_000);
            client.getOutputStream().write(frame(1, 1, "hello".getBytes(StandardCharsets.UTF_8)));
            byte[] prefix = server.getInputStream().readNBytes(4);
            long seen = Integer.toUnsignedLong(ByteBuffer.wrap(prefix).order(ByteOrder.LITTLE_ENDIAN).getInt());
            Expect.that(seen == predicted, "you predicted " + predicted + "; the prefix came as bytes "
                    + java.util.HexFormat.ofDelimiter(" ").formatHex(prefix) + ", which little-endian is " + seen
                    + " (big-endian: " + ByteBuffer.wrap(prefix).getInt() + ")");
        }
    }
}
