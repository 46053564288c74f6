import grading.Check;
import grading.Expect;
import grading.Lab;
import grading.LossyLink;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/// The graded checks of lab 06: the learner's sender and receiver talk through a LossyLink that
/// drops, duplicates and reorders datagrams, its faults chosen by a seeded Random.
public final class ReliableChecks implements Lab {

    static final Duration QUIET = Duration.ofMillis(300);

    @Override
    public String title() {
        return "Reliable messages over UDP";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("delivers a message over a perfect link", 10,
                        "send DATA with a sequence number; the receiver answers ACK with the same number",
                        () -> deliver(0, 0, 0, 1, 1)),
                Check.core("delivers 100 messages in order over a perfect link", 10,
                        "count sequence numbers up, one per message, on both sides",
                        () -> deliver(0, 0, 0, 100, 2)),
                Check.core("retransmits what the link drops", 15,
                        "no ACK within RETRY means the DATA or its ACK was lost: send the DATA again",
                        () -> deliver(0.3, 0, 0, 100, 3)),
                Check.of("delivers each message once when the link duplicates", 10,
                        "a DATA whose number was already delivered is acknowledged, not delivered again",
                        () -> deliver(0, 0.3, 0, 100, 4)),
                Check.of("keeps the order when the link reorders", 10,
                        "deliver only the expected number; an old one is a repeat, never a new message",
                        () -> deliver(0, 0, 0.3, 100, 5)),
                Check.core("survives drops, duplicates and reordering together", 15,
                        "each fault alone is handled by one rule: sequence numbers, ACKs, retransmission",
                        () -> deliver(0.2, 0.2, 0.2, 200, 42)).within(Duration.ofSeconds(40)),
                Check.of("send() returns only once its message is acknowledged", 10,
                        "a sender that does not wait for the ACK cannot know to send again",
                        ReliableChecks::sendWaitsForAck),
                Check.of("acknowledges a repeat whose first ACK was lost", 10,
                        "when ACKs are lost the sender repeats the DATA: acknowledge it again, or it repeats forever",
                        ReliableChecks::lostAcks).within(Duration.ofSeconds(40)),
                Check.of("carries binary messages of up to MAX_MESSAGE bytes", 5,
                        "a payload is bytes: zeros and all, up to MAX_MESSAGE, in a receive buffer big enough for it",
                        ReliableChecks::binary),
                Check.of("refuses a message over MAX_MESSAGE", 5,
                        "check the size before sending: IllegalArgumentException",
                        ReliableChecks::refusesOversize));
    }

    /// A sender and a receiver with a LossyLink between them; the receiver's messages are
    /// collected by a thread of their own.
    static final class Pair implements AutoCloseable {
        final DatagramSocket receiverSocket = bound();
        final DatagramSocket senderSocket = bound();
        final LossyLink link;
        final Reliable.Sender sender;
        final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
        final CompletableFuture<Void> receiving;

        Pair(long seed) throws IOException {
            link = new LossyLink(receiverSocket.getLocalSocketAddress(), seed);
            sender = new Reliable.Sender(senderSocket, link.address());
            var receiver = new Reliable.Receiver(receiverSocket);
            receiving = CompletableFuture.runAsync(() -> {
                try {
                    while (true) {
                        received.add(receiver.receive());
                    }
                } catch (IOException e) {
                    if (!receiverSocket.isClosed()) {
                        throw new RuntimeException(e);
                    }
                }
            }, runnable -> Thread.ofPlatform().daemon().name("receiver").start(runnable));
        }

        static DatagramSocket bound() throws IOException {
            return new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        }

        /// The next message the receiver delivered, waiting at most 3 s.
        byte[] next(String what) throws InterruptedException {
            byte[] message = received.poll(3, TimeUnit.SECONDS);
            if (message == null && receiving.isCompletedExceptionally()) {
                receiving.join();                   // throws what the receiver threw
            }
            Expect.that(message != null, "the receiver delivered no " + what + " within 3 s");
            return message;
        }

        @Override
        public void close() {
            link.close();
            senderSocket.close();
            receiverSocket.close();
        }
    }

    static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void deliver(double drop, double duplicate, double reorder, int count, long seed) throws Exception {
        try (var pair = new Pair(seed)) {
            pair.link.faults(drop, duplicate, reorder);
            for (int i = 0; i < count; i++) {
                pair.sender.send(text("message " + i));
            }
            for (int i = 0; i < count; i++) {
                Expect.equal("message " + i, new String(pair.next("message " + i), StandardCharsets.UTF_8),
                        "message " + (i + 1) + " of " + count + " delivered");
            }
            byte[] extra = pair.received.poll(QUIET.toMillis(), TimeUnit.MILLISECONDS);
            Expect.that(extra == null, "after " + count + " messages the receiver delivered one more: "
                    + (extra == null ? "" : new String(extra, StandardCharsets.UTF_8)));
        }
    }

    private static void sendWaitsForAck() throws Exception {
        try (var pair = new Pair(7)) {
            pair.link.drops(1.0, 0);                // the link is down
            var sending = CompletableFuture.runAsync(() -> {
                try {
                    pair.sender.send(text("wait for me"));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, runnable -> Thread.ofPlatform().daemon().name("sender").start(runnable));
            try {
                sending.get(QUIET.toMillis(), TimeUnit.MILLISECONDS);
                throw new AssertionError("send() returned while the link dropped everything");
            } catch (TimeoutException expected) {
                // Still waiting for its ACK, as it should.
            }
            pair.link.drops(0, 0);                  // the link is back
            sending.get(5, TimeUnit.SECONDS);
            Expect.equal("wait for me", new String(pair.next("message"), StandardCharsets.UTF_8), "the message");
        }
    }

    private static void lostAcks() throws Exception {
        try (var pair = new Pair(8)) {
            pair.link.drops(0, 0.5);                // half the ACKs are lost
            for (int i = 0; i < 50; i++) {
                pair.sender.send(text("message " + i));
            }
            for (int i = 0; i < 50; i++) {
                Expect.equal("message " + i, new String(pair.next("message " + i), StandardCharsets.UTF_8), "a message");
            }
        }
    }

    private static void binary() throws Exception {
        try (var pair = new Pair(9)) {
            var largest = new byte[Reliable.MAX_MESSAGE];
            new Random(9).nextBytes(largest);
            largest[0] = 0;
            byte[][] messages = {largest, new byte[] {0, 0, 0}, new byte[0]};
            for (byte[] message : messages) {
                pair.sender.send(message);
            }
            for (byte[] message : messages) {
                byte[] got = pair.next("binary message");
                Expect.that(Arrays.equals(message, got), "a binary message of " + message.length
                        + " bytes arrived as " + got.length + " bytes, differing from byte " + Arrays.mismatch(message, got));
            }
        }
    }

    private static void refusesOversize() throws Exception {
        try (var pair = new Pair(10)) {
            Expect.throwsA(IllegalArgumentException.class, () -> pair.sender.send(new byte[Reliable.MAX_MESSAGE + 1]),
                    "sending MAX_MESSAGE + 1 bytes");
        }
    }
}
