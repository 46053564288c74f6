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
        // TODO(lab): refuse a payload over MAX_FRAME (FrameTooLargeException) before writing
        //  anything; write the length as 4 bytes, most significant first; write the payload; flush.
        throw new UnsupportedOperationException("TODO(lab): write a frame");
    }

    /// Reads one frame's payload, however the bytes are cut into reads. Returns null at end of
    /// stream before a frame starts; throws EOFException for a frame (or length) cut short, and
    /// FrameTooLargeException for a length over MAX_FRAME or below 0, before allocating.
    static byte[] readFrame(InputStream in) throws IOException {
        // TODO(lab): read the 4 bytes of the length, then the payload. One read() may return
        //  fewer bytes than asked for: keep reading until you have them all, or the stream ends.
        //  Check the length before allocating its buffer. Do not read past the end of this frame:
        //  the next frame's bytes belong to the next call.
        throw new UnsupportedOperationException("TODO(lab): read a frame");
    }
}
