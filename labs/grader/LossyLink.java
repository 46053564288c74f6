package grading;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/// A bad network for UDP, on loopback: a relay between a sender and a receiver that drops,
/// duplicates and reorders datagrams. Its decisions come from a seeded Random, so a given seed
/// makes the same decisions for the same sequence of datagrams.
///
/// The sender sends to `address()`; the link forwards to the receiver, and the receiver's answers
/// (to the address they came from: the link) back to the sender.
public final class LossyLink implements AutoCloseable {

    private final DatagramSocket socket;
    private final SocketAddress receiver;
    private final Random random;
    private volatile SocketAddress sender;
    private volatile double dropToReceiver;
    private volatile double dropToSender;
    private volatile double duplicate;
    private volatile double reorder;
    private DatagramPacket held;

    public final AtomicInteger received = new AtomicInteger();
    public final AtomicInteger forwarded = new AtomicInteger();
    public final AtomicInteger dropped = new AtomicInteger();
    public final AtomicInteger duplicated = new AtomicInteger();
    public final AtomicInteger reordered = new AtomicInteger();

    public LossyLink(SocketAddress receiver, long seed) throws IOException {
        this.receiver = receiver;
        this.random = new Random(seed);
        this.socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread.ofPlatform().daemon().name("lossy link").start(this::relay);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /// Drops each datagram with probability `drop`, duplicates with `duplicate`, and holds one back
    /// behind the next with `reorder`, both ways.
    public LossyLink faults(double drop, double duplicate, double reorder) {
        this.dropToReceiver = drop;
        this.dropToSender = drop;
        this.duplicate = duplicate;
        this.reorder = reorder;
        return this;
    }

    /// Drops with these probabilities one way each: to the receiver, and back to the sender.
    public LossyLink drops(double toReceiver, double toSender) {
        this.dropToReceiver = toReceiver;
        this.dropToSender = toSender;
        return this;
    }

    private void relay() {
        var buffer = new byte[65_536];
        try {
            while (true) {
                var packet = new DatagramPacket(buffer, buffer.length);
                socket.receive(packet);
                received.incrementAndGet();
                SocketAddress from = packet.getSocketAddress();
                boolean toReceiver = !from.equals(receiver);
                if (toReceiver) {
                    sender = from;
                } else if (sender == null) {
                    continue;                       // nobody to answer to yet
                }
                var copy = new DatagramPacket(packet.getData().clone(), packet.getLength(), toReceiver ? receiver : sender);
                forward(copy, toReceiver ? dropToReceiver : dropToSender);
            }
        } catch (IOException closed) {
            // The link was closed.
        }
    }

    private void forward(DatagramPacket packet, double drop) throws IOException {
        if (random.nextDouble() < drop) {
            dropped.incrementAndGet();
            return;
        }
        if (held == null && random.nextDouble() < reorder) {
            held = packet;                          // goes out after the next one
            reordered.incrementAndGet();
            return;
        }
        send(packet);
        if (random.nextDouble() < duplicate) {
            send(packet);
            duplicated.incrementAndGet();
        }
        if (held != null) {
            send(held);
            held = null;
        }
    }

    private void send(DatagramPacket packet) throws IOException {
        socket.send(packet);
        forwarded.incrementAndGet();
    }

    @Override
    public void close() {
        socket.close();
    }
}
