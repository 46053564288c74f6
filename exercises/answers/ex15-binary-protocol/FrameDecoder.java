import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/// Chapter 15, exercise 1: lesson 15's frames cut from whatever the bytes arrive in, as a
/// non-blocking server must (lesson 08): it cannot wait in `read()` for the rest of a frame, so
/// it keeps what came and cuts out every frame that is complete.
///
/// A frame, as in lesson 15: a 4-byte big-endian length of the body, then the body: 1 byte type,
/// 4 bytes id, the payload. Check it: `./jbang labs/Grade.java ex15`.
class FrameDecoder {
    /// The longest body a frame may have, in bytes.
    static final int MAX_FRAME = 64 * 1024;
    /// Type and id: the part of the body before the payload.
    static final int HEADER = 1 + 4;

    record Frame(int type, int id, byte[] payload) {}

    /// A length the decoder will not act on: over MAX_FRAME, or too short for the header.
    static final class BadFrameException extends IOException {
        BadFrameException(String message) {
            super(message);
        }
    }

    /// Bytes that arrived but do not make a whole frame yet.
    private ByteBuffer pending = ByteBuffer.allocate(0);

    /// Takes the bytes that arrived (all of `bytes`, from its position to its limit) and returns
    /// every frame now complete, in order; the bytes of an incomplete frame are kept for the next
    /// call. Throws BadFrameException for a bad length as soon as its 4 bytes are here, before
    /// keeping more bytes for that frame.
    List<Frame> feed(ByteBuffer bytes) throws BadFrameException {
        // Append what arrived, growing the buffer only as far as one frame may need.
        if (pending.capacity() - pending.limit() < bytes.remaining()) {
            var grown = ByteBuffer.allocate(Math.max(pending.remaining() + bytes.remaining(), 2 * pending.capacity()));
            pending = grown.put(pending).flip();
        }
        pending.compact().put(bytes).flip();
        // Cut out every whole frame.
        var frames = new ArrayList<Frame>();
        while (pending.remaining() >= 4) {
            int length = pending.getInt(pending.position());
            // Check the length before keeping its body: it came from the network.
            if (length > MAX_FRAME || length < HEADER) {
                throw new BadFrameException("frame of " + Integer.toUnsignedString(length) + " bytes refused: the limit is "
                        + MAX_FRAME + ", the header alone is " + HEADER);
            }
            if (pending.remaining() < 4 + length) break;     // the rest comes in a later feed()
            pending.getInt();
            int type = pending.get() & 0xff;
            int id = pending.getInt();
            byte[] payload = new byte[length - HEADER];
            pending.get(payload);
            frames.add(new Frame(type, id, payload));
        }
        return frames;
    }

    /// How many bytes are kept for the next call.
    int pending() {
        return pending.remaining();
    }
}
