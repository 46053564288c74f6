// Mistake: the receiver delivers every DATA it gets, repeats included. Caught by: "delivers each message once when the link duplicates", "ignores stale and repeated DATA sent straight to it"
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;

/// Lab 06 · Reliable messages over UDP — sequence numbers, acknowledgements, retransmission.
///
/// UDP may drop a datagram, deliver it twice, or deliver it after a later one. Stop-and-wait
/// makes every message arrive once and in order: number each message, resend it until its
/// acknowledgement comes back, and have the receiver deliver each number once.
/// Read: labs/06-reliable-udp/README.adoc
class Reliable {
    /// The largest message, in bytes.
    static final int MAX_MESSAGE = 1200;
    /// How long the sender waits for an acknowledgement before sending again.
    static final Duration RETRY = Duration.ofMillis(20);
    /// How long the sender keeps trying before it gives up on a message.
    static final Duration GIVE_UP = Duration.ofSeconds(2);

    static final byte DATA = 'D';
    static final byte ACK = 'A';

    /// A datagram of this protocol: its kind (DATA or ACK), its sequence number, its payload.
    record Packet(byte kind, int seq, byte[] payload) {
        /// The bytes on the wire: kind (1 byte), seq (4 bytes, big-endian), payload.
        byte[] toBytes() {
            return ByteBuffer.allocate(5 + payload.length).put(kind).putInt(seq).put(payload).array();
        }

        /// Reads a received datagram; null for one that is not a packet of this protocol.
        static Packet from(DatagramPacket datagram) {
            if (datagram.getLength() < 5) {
                return null;
            }
            var bytes = ByteBuffer.wrap(datagram.getData(), datagram.getOffset(), datagram.getLength());
            byte kind = bytes.get();
            int seq = bytes.getInt();
            byte[] payload = new byte[bytes.remaining()];
            bytes.get(payload);
            return kind == DATA || kind == ACK ? new Packet(kind, seq, payload) : null;
        }

        static Packet data(int seq, byte[] payload) {
            return new Packet(DATA, seq, payload);
        }

        static Packet ack(int seq) {
            return new Packet(ACK, seq, new byte[0]);
        }
    }

    private Reliable() {
    }

    /// Sends messages to one peer, each once and in order.
    static final class Sender {
        private final DatagramSocket socket;
        private final SocketAddress peer;
        private int nextSeq;

        Sender(DatagramSocket socket, SocketAddress peer) {
            this.socket = socket;
            this.peer = peer;
        }

        /// Sends one message and returns when the peer has acknowledged it. Throws
        /// IllegalArgumentException for a message over MAX_MESSAGE bytes, and IOException when
        /// no acknowledgement came for GIVE_UP.
        void send(byte[] message) throws IOException {
            if (message.length > MAX_MESSAGE) {
                throw new IllegalArgumentException("a message of " + message.length + " bytes; the limit is " + MAX_MESSAGE);
            }
            int seq = nextSeq;
            byte[] data = Packet.data(seq, message).toBytes();
            var answer = new DatagramPacket(new byte[64], 64);
            long giveUpAt = System.nanoTime() + GIVE_UP.toNanos();
            socket.setSoTimeout((int) RETRY.toMillis());
            while (System.nanoTime() < giveUpAt) {
                socket.send(new DatagramPacket(data, data.length, peer));
                try {
                    // Wait for this message's ACK; late ACKs of earlier messages are ignored.
                    while (true) {
                        socket.receive(answer);
                        Packet packet = Packet.from(answer);
                        if (packet != null && packet.kind() == ACK && packet.seq() == seq) {
                            nextSeq++;
                            return;
                        }
                    }
                } catch (SocketTimeoutException e) {
                    // Lost on the way there or back: send again.
                }
            }
            throw new IOException("no acknowledgement for message " + seq + " within " + GIVE_UP.toSeconds() + " s");
        }
    }

    /// Receives messages from one sender, each once and in order.
    static final class Receiver {
        private final DatagramSocket socket;
        private int expectedSeq;

        Receiver(DatagramSocket socket) {
            this.socket = socket;
        }

        /// The next message, in order; blocks until it comes.
        byte[] receive() throws IOException {
            var datagram = new DatagramPacket(new byte[5 + MAX_MESSAGE], 5 + MAX_MESSAGE);
            while (true) {
                socket.receive(datagram);
                Packet packet = Packet.from(datagram);
                if (packet == null || packet.kind() != DATA) {
                    continue;
                }
                if (packet.seq() <= expectedSeq) {
                    // Acknowledge a repeat too: the first ACK may have been lost.
                    byte[] ack = Packet.ack(packet.seq()).toBytes();
                    socket.send(new DatagramPacket(ack, ack.length, datagram.getSocketAddress()));
                }
                if (packet.seq() <= expectedSeq) {
                    expectedSeq = Math.max(expectedSeq, packet.seq() + 1);
                    return Arrays.copyOf(packet.payload(), packet.payload().length);
                }
            }
        }
    }
}
