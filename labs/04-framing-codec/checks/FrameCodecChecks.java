import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/// The graded checks of lab 04: byte streams cut and glued every way TCP may deliver them.
public final class FrameCodecChecks implements Lab {

    @Override
    public String title() {
        return "Framing codec";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("writes a 4-byte big-endian length, then the payload", 10,
                        "the length goes first, most significant byte first (300 is 00 00 01 2c)",
                        FrameCodecChecks::writesLengthThenPayload),
                Check.core("reads back what writeFrame wrote", 10,
                        "read exactly 4 bytes, make the length from them, then read exactly that many",
                        FrameCodecChecks::roundTrip),
                Check.of("an empty payload is a frame too", 5,
                        "length 0 is a frame with no payload: an empty array, not null",
                        FrameCodecChecks::emptyFrame),
                Check.core("reads frames cut into 1-byte pieces", 10,
                        "read() may return fewer bytes than asked for: loop until you have them all",
                        FrameCodecChecks::oneBytePieces),
                Check.core("reads frames glued together in one write, over a socket", 10,
                        "take exactly one frame's bytes from the stream: no buffering wrapper that reads ahead",
                        FrameCodecChecks::coalesced),
                Check.of("returns null at a clean end of stream", 5,
                        "end of stream before the first byte of a frame is the normal end, not an error",
                        FrameCodecChecks::cleanEnd),
                Check.core("reports a frame cut short", 10,
                        "end of stream inside a payload is an error: throw EOFException",
                        FrameCodecChecks::truncatedPayload),
                Check.of("reports a length cut short", 5,
                        "end of stream inside the 4 length bytes is an error too",
                        FrameCodecChecks::truncatedLength),
                Check.of("refuses a length over MAX_FRAME", 10,
                        "check the length against MAX_FRAME as soon as you have it",
                        FrameCodecChecks::refusesOversize),
                Check.of("refuses an oversize frame without allocating it", 5,
                        "the length is what the peer claims: check it before new byte[length]",
                        FrameCodecChecks::refusesWithoutAllocating),
                Check.of("refuses a negative length", 5,
                        "4 bytes ff ff ff ff are -1 as an int: a length below 0 is refused too",
                        FrameCodecChecks::refusesNegative),
                Check.of("writeFrame refuses a payload over MAX_FRAME, writing nothing", 10,
                        "the limit holds both ways: check the payload's length before writing a byte",
                        FrameCodecChecks::writerRefusesOversize),
                Check.of("writeFrame flushes the frame", 5,
                        "the stream may be buffered: flush after the payload, or the frame waits in a buffer",
                        FrameCodecChecks::writerFlushes));
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] framed(byte[]... payloads) throws IOException {
        var out = new ByteArrayOutputStream();
        for (byte[] payload : payloads) {
            out.write(header(payload.length));
            out.write(payload);
        }
        return out.toByteArray();
    }

    static byte[] header(int length) {
        return new byte[] {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length};
    }

    static byte[] randomPayload(int size, long seed) {
        var payload = new byte[size];
        new Random(seed).nextBytes(payload);
        return payload;
    }

    /// An input stream that hands out at most one byte a read, as a slow network might.
    static final class OneByteAtATime extends InputStream {
        private final ByteArrayInputStream in;

        OneByteAtATime(byte[] bytes) {
            this.in = new ByteArrayInputStream(bytes);
        }

        @Override
        public int read() {
            return in.read();
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
            return length == 0 ? 0 : in.read(buffer, offset, 1);
        }
    }

    private static void writesLengthThenPayload() throws IOException {
        var out = new ByteArrayOutputStream();
        FrameCodec.writeFrame(out, bytes("hello"));
        Expect.equal("0000000568656c6c6f", HexFormat.of().formatHex(out.toByteArray()), "the bytes of a frame of \"hello\"");
        out.reset();
        byte[] payload = new byte[300];
        FrameCodec.writeFrame(out, payload);
        Expect.equal("0000012c", HexFormat.of().formatHex(out.toByteArray(), 0, 4), "the length bytes of a 300-byte payload");
        Expect.equal(304, out.size(), "the size of a frame of 300 bytes");
    }

    private static void roundTrip() throws IOException {
        var out = new ByteArrayOutputStream();
        List<byte[]> payloads = List.of(bytes("a"), randomPayload(1000, 1), randomPayload(FrameCodec.MAX_FRAME, 2));
        for (byte[] payload : payloads) {
            FrameCodec.writeFrame(out, payload);
        }
        var in = new ByteArrayInputStream(out.toByteArray());
        for (byte[] payload : payloads) {
            expectPayload(payload, FrameCodec.readFrame(in));
        }
    }

    private static void emptyFrame() throws IOException {
        var out = new ByteArrayOutputStream();
        FrameCodec.writeFrame(out, new byte[0]);
        Expect.equal("00000000", HexFormat.of().formatHex(out.toByteArray()), "the bytes of an empty frame");
        byte[] read = FrameCodec.readFrame(new ByteArrayInputStream(framed(new byte[0], bytes("next"))));
        Expect.that(read != null && read.length == 0, "an empty frame read as " + (read == null ? "null" : read.length + " bytes"));
    }

    private static void oneBytePieces() throws IOException {
        byte[] first = randomPayload(700, 3);
        byte[] second = bytes("second");
        var in = new OneByteAtATime(framed(first, second));
        expectPayload(first, FrameCodec.readFrame(in));
        expectPayload(second, FrameCodec.readFrame(in));
    }

    private static void coalesced() throws Exception {
        byte[][] payloads = {bytes("one"), randomPayload(5000, 4), bytes("three")};
        try (var listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             var sender = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
             var receiver = listener.accept()) {
            receiver.setSoTimeout(3000);
            OutputStream out = sender.getOutputStream();
            out.write(framed(payloads));             // three frames, one write
            out.flush();
            sender.shutdownOutput();
            InputStream in = receiver.getInputStream();
            for (byte[] payload : payloads) {
                expectPayload(payload, FrameCodec.readFrame(in));
            }
            Expect.equal(null, FrameCodec.readFrame(in), "readFrame after the last frame");
        }
    }

    private static void cleanEnd() throws IOException {
        Expect.equal(null, FrameCodec.readFrame(new ByteArrayInputStream(new byte[0])), "readFrame on an empty stream");
        var in = new ByteArrayInputStream(framed(bytes("only")));
        expectPayload(bytes("only"), FrameCodec.readFrame(in));
        Expect.equal(null, FrameCodec.readFrame(in), "readFrame after the only frame");
    }

    private static void truncatedPayload() throws IOException {
        byte[] whole = framed10();
        var in = new ByteArrayInputStream(concat(whole, Arrays.copyOf(whole, 4 + 4)));
        expectPayload(bytes("0123456789"), FrameCodec.readFrame(in));
        Expect.throwsA(EOFException.class, () -> FrameCodec.readFrame(in),
                "after a whole frame, a frame announcing 10 bytes, then 4 bytes and end of stream");
    }

    static byte[] concat(byte[]... parts) throws IOException {
        var out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.write(part);
        }
        return out.toByteArray();
    }

    private static byte[] framed10() {
        try {
            return framed(bytes("0123456789"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void truncatedLength() throws IOException {
        var in = new ByteArrayInputStream(concat(framed10(), new byte[] {0, 0}));
        expectPayload(bytes("0123456789"), FrameCodec.readFrame(in));
        Expect.throwsA(EOFException.class, () -> FrameCodec.readFrame(in),
                "after a whole frame, 2 bytes of a length, then end of stream");
    }

    /// A frame of exactly MAX_FRAME bytes, which readFrame must accept: every refusal check reads
    /// one first, so that refusing everything earns nothing.
    static void acceptsTheLargest() throws IOException {
        byte[] largest = randomPayload(FrameCodec.MAX_FRAME, 11);
        expectPayload(largest, FrameCodec.readFrame(new ByteArrayInputStream(framed(largest))));
    }

    private static void refusesOversize() throws IOException {
        acceptsTheLargest();
        var in = new ByteArrayInputStream(Arrays.copyOf(header(FrameCodec.MAX_FRAME + 1), 4 + FrameCodec.MAX_FRAME + 1));
        Expect.throwsA(FrameCodec.FrameTooLargeException.class, () -> FrameCodec.readFrame(in),
                "a frame of MAX_FRAME + 1 bytes");
    }

    private static void writerRefusesOversize() throws IOException {
        var out = new ByteArrayOutputStream();
        FrameCodec.writeFrame(out, randomPayload(FrameCodec.MAX_FRAME, 12));
        Expect.equal(4 + FrameCodec.MAX_FRAME, out.size(), "the bytes written for a payload of exactly MAX_FRAME bytes");
        out.reset();
        Expect.throwsA(FrameCodec.FrameTooLargeException.class, () -> FrameCodec.writeFrame(out, new byte[FrameCodec.MAX_FRAME + 1]),
                "writeFrame with a payload of MAX_FRAME + 1 bytes (a peer's readFrame would refuse it)");
        Expect.equal(0, out.size(), "the bytes writeFrame wrote before refusing a payload of MAX_FRAME + 1 bytes");
    }

    private static void writerFlushes() throws IOException {
        var wire = new ByteArrayOutputStream();
        var buffered = new java.io.BufferedOutputStream(wire, 1 << 16);
        FrameCodec.writeFrame(buffered, bytes("hello"));
        Expect.equal("0000000568656c6c6f", HexFormat.of().formatHex(wire.toByteArray()),
                "what reached the wire through a BufferedOutputStream after writeFrame(\"hello\") returned");
    }

    private static void refusesWithoutAllocating() throws IOException {
        acceptsTheLargest();
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int claimed = 200 << 20;
        var in = new ByteArrayInputStream(Arrays.copyOf(header(claimed), 4 + 100));
        long before = threads.getCurrentThreadAllocatedBytes();
        Expect.throwsA(FrameCodec.FrameTooLargeException.class, () -> FrameCodec.readFrame(in),
                "a frame claiming 200 MB");
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        Expect.that(allocated < (1 << 20), "readFrame allocated " + (allocated >> 20)
                + " MB for a frame it refused: a peer could make it allocate that much with 4 bytes");
    }

    private static void refusesNegative() throws IOException {
        acceptsTheLargest();
        var in = new ByteArrayInputStream(new byte[] {-1, -1, -1, -1, 1, 2, 3});
        Expect.throwsA(FrameCodec.FrameTooLargeException.class, () -> FrameCodec.readFrame(in),
                "a frame whose length bytes are ff ff ff ff");
    }

    private static void expectPayload(byte[] expected, byte[] actual) {
        Expect.that(actual != null, "readFrame returned null where a frame of " + expected.length + " bytes was");
        int differsAt = Arrays.mismatch(expected, actual);
        Expect.that(differsAt < 0, "a frame of " + expected.length + " bytes read as " + actual.length
                + " bytes, differing from byte " + differsAt);
    }
}
