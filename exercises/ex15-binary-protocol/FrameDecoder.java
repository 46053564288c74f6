import java.io.IOException;
import java.nio.ByteBuffer;
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
        // TODO(exercise): append `bytes` to what is pending; then, while the pending bytes hold a
        //  length: check it, stop if the whole body is not here yet, else cut out one Frame.
        //  Keep the rest (a ByteBuffer's compact() keeps what remains; see lesson 08).
        return List.of();
    }

    /// How many bytes are kept for the next call.
    int pending() {
        return pending.remaining();
    }
}
