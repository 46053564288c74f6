// Mistake: readFrame allocates the payload's array before checking the length. Caught by: "refuses an oversize frame without allocating it"
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/// Lab 04 · Framing codec — length-prefixed messages over a byte stream.
///
/// A frame is a 4-byte big-endian length, then that many bytes of payload. TCP keeps no message
/// boundaries: a frame can arrive one byte at a time, or glued to the next ones.
/// Read: labs/04-framing-codec/README.adoc
class FrameCodec {
    /// The largest payload a frame may carry, in bytes.
    static final int MAX_FRAME = 64 * 1024;

    /// A frame whose length is over MAX_FRAME (or negative): refused before anything is allocated.
    static final class FrameTooLargeException extends IOException {
        FrameTooLargeException(String message) {
            super(message);
        }
    }

    private FrameCodec() {
    }

    /// Writes one frame: the payload's length as 4 bytes, big-endian, then the payload.
    /// Refuses a payload over MAX_FRAME before writing anything.
    static void writeFrame(OutputStream out, byte[] payload) throws IOException {
        if (payload.length > MAX_FRAME) {
            throw new FrameTooLargeException("a payload of " + payload.length + " bytes; the limit is " + MAX_FRAME);
        }
        int n = payload.length;
        out.write(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
        out.write(payload);
        out.flush();
    }

    /// Reads one frame's payload, however the bytes are cut into reads. Returns null at end of
    /// stream before a frame starts; throws EOFException for a frame (or length) cut short, and
    /// FrameTooLargeException for a length over MAX_FRAME or below 0, before allocating.
    static byte[] readFrame(InputStream in) throws IOException {
        byte[] header = new byte[4];
        int got = in.readNBytes(header, 0, 4);
        if (got == 0) {
            return null;
        }
        if (got < 4) {
            throw new EOFException("the stream ended after " + got + " of the length's 4 bytes");
        }
        int length = (header[0] & 0xff) << 24 | (header[1] & 0xff) << 16 | (header[2] & 0xff) << 8 | (header[3] & 0xff);
        byte[] payload = new byte[Math.max(0, length)];
        if (length < 0 || length > MAX_FRAME) {
            throw new FrameTooLargeException("a frame of " + Integer.toUnsignedString(length) + " bytes; the limit is " + MAX_FRAME);
        }
        int read = in.readNBytes(payload, 0, length);
        if (read < length) {
            throw new EOFException("frame cut short: the stream ended after " + read + " of its " + length + " bytes");
        }
        return payload;
    }
}
