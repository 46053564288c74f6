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
                Check.core("delivers a message over a perfect link", 5,
                        "send DATA with a sequence number; the receiver answers ACK with the same number",
                        () -> deliver(0, 0, 0, 1, 1)),
                Check.core("delivers 100 messages in order over a perfect link", 5,
                        "count sequence numbers up, one per message, on both sides",
                        () -> deliver(0, 0, 0, 100, 2)),
                Check.core("retransmits what the link drops", 15,
                        "no ACK within RETRY means the DATA or its ACK was lost: send the DATA again",
                        () -> deliver(0.3, 0, 0, 100, 3)),
                Check.of("delivers each message once when the link duplicates", 10,
                        "a DATA whose number was already delivered is acknowledged, not delivered again",
                        () -> deliver(0, 0.3, 0, 100, 4)),
                Check.of("keeps the order when the link reorders", 5,
                        "deliver only the expected number; an old one is a repeat, never a new message",
                        () -> deliver(0, 0, 0.3, 100, 5)),
                Check.core("survives drops, duplicates and reordering together", 10,
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
                        ReliableChecks::refusesOversize),
                Check.of("send() gives up on a dead link within GIVE_UP", 10,
                        "keep a deadline: once GIVE_UP has passed with no ACK, throw an IOException instead of trying forever",
                        ReliableChecks::givesUpOnADeadLink),
                Check.of("ignores stale and repeated DATA sent straight to it", 10,
                        "deliver only the expected number: any lower number is old, however long ago it was delivered; acknowledge it anyway",
                        ReliableChecks::staleAndRepeatedData));
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
            // On a perfect link a repeat can only come from a retransmission that a slow ACK set
            // off, which depends on the machine's speed: repeats are the business of the checks
            // that duplicate on purpose, so here a repeat of the message just delivered is skipped.
            boolean perfect = drop == 0 && duplicate == 0 && reorder == 0;
            String previous = null;
            for (int i = 0; i < count; i++) {
                String got = new String(pair.next("message " + i), StandardCharsets.UTF_8);
                while (perfect && got.equals(previous)) got = new String(pair.next("message " + i), StandardCharsets.UTF_8);
                Expect.equal("message " + i, got, "message " + (i + 1) + " of " + count + " delivered");
                previous = got;
            }
            byte[] extra = pair.received.poll(QUIET.toMillis(), TimeUnit.MILLISECONDS);
            while (perfect && extra != null && new String(extra, StandardCharsets.UTF_8).equals(previous)) {
                extra = pair.received.poll(QUIET.toMillis(), TimeUnit.MILLISECONDS);
            }
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
            // The same sender carries the largest message: refusing everything earns nothing.
            pair.sender.send(new byte[Reliable.MAX_MESSAGE]);
            Expect.equal(Reliable.MAX_MESSAGE, pair.next("message of MAX_MESSAGE bytes").length, "the size of the largest message delivered");
            Expect.throwsA(IllegalArgumentException.class, () -> pair.sender.send(new byte[Reliable.MAX_MESSAGE + 1]),
                    "sending MAX_MESSAGE + 1 bytes");
        }
    }

    /// How much later than GIVE_UP send() may give up.
    static final Duration GIVE_UP_MARGIN = Duration.ofSeconds(3);

    private static void givesUpOnADeadLink() throws Exception {
        try (var pair = new Pair(11)) {
            pair.sender.send(text("while the link works"));
            Expect.equal("while the link works", new String(pair.next("message"), StandardCharsets.UTF_8), "the first message");
            pair.link.drops(1.0, 1.0);              // the link dies
            long start = System.nanoTime();
            var sending = CompletableFuture.runAsync(() -> {
                try {
                    pair.sender.send(text("into the void"));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, runnable -> Thread.ofPlatform().daemon().name("sender").start(runnable));
            long limit = Reliable.GIVE_UP.plus(GIVE_UP_MARGIN).toMillis();
            try {
                sending.get(limit, TimeUnit.MILLISECONDS);
                throw new AssertionError("send() returned normally over a link that drops everything");
            } catch (TimeoutException e) {
                throw new AssertionError("send() over a link that drops everything had not given up after " + limit
                        + " ms (GIVE_UP is " + Reliable.GIVE_UP.toMillis() + " ms): it would try forever");
            } catch (java.util.concurrent.ExecutionException e) {
                long millis = (System.nanoTime() - start) / 1_000_000;
                Expect.that(e.getCause() instanceof java.io.UncheckedIOException,
                        "send() over a dead link threw " + e.getCause() + " instead of an IOException");
                Expect.that(millis >= Reliable.GIVE_UP.toMillis() / 2, "send() gave up after " + millis
                        + " ms, long before GIVE_UP (" + Reliable.GIVE_UP.toMillis() + " ms)");
            }
        }
    }

    /// DATA packets the grader sends itself, straight to the receiver: old numbers, long after
    /// they were delivered, and a repeat of the last. None may be delivered; each is acknowledged.
    private static void staleAndRepeatedData() throws Exception {
        try (var pair = new Pair(12); var injector = Pair.bound()) {
            for (int i = 0; i < 3; i++) {
                pair.sender.send(text("message " + i));
                Expect.equal("message " + i, new String(pair.next("message " + i), StandardCharsets.UTF_8), "a message");
            }
            injector.setSoTimeout(3000);
            for (int seq : new int[] {0, 2, 1, 0}) {
                byte[] stale = Reliable.Packet.data(seq, text("stale " + seq)).toBytes();
                injector.send(new java.net.DatagramPacket(stale, stale.length, pair.receiverSocket.getLocalSocketAddress()));
                var answer = new java.net.DatagramPacket(new byte[64], 64);
                try {
                    injector.receive(answer);
                } catch (java.net.SocketTimeoutException e) {
                    throw new AssertionError("no ACK within 3 s for an old DATA " + seq + " sent again (its first ACK may have been lost)");
                }
                Reliable.Packet ack = Reliable.Packet.from(answer);
                Expect.that(ack != null && ack.kind() == Reliable.ACK && ack.seq() == seq,
                        "the answer to an old DATA " + seq + " was " + ack + " instead of ACK " + seq);
            }
            byte[] delivered = pair.received.poll(QUIET.toMillis(), TimeUnit.MILLISECONDS);
            Expect.that(delivered == null, "after messages 0 to 2, old DATA 0, 2, 1 and 0 were sent again, and the receiver"
                    + " delivered " + (delivered == null ? "" : Expect.show(new String(delivered, StandardCharsets.UTF_8)))
                    + ": a repeat is never a new message");
            pair.sender.send(text("message 3"));
            Expect.equal("message 3", new String(pair.next("message 3"), StandardCharsets.UTF_8), "the next message after the old ones");
        }
    }
}
