import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/// The graded checks of lab 05: chat members played by the grader, on the learner's server.
public final class ChatServerChecks implements Lab {

    @Override
    public String title() {
        return "Chat server";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("welcomes a client by its nickname", 10,
                        "the first line is the nickname: register the member, then deliver WELCOME and the nickname",
                        ChatServerChecks::welcomes),
                Check.core("broadcasts a line to the others", 10,
                        "every other member gets MSG, the sender's nickname and the line",
                        ChatServerChecks::broadcasts),
                Check.of("does not echo a line to its sender", 5,
                        "broadcast skips the member it comes from",
                        ChatServerChecks::noEchoToSender),
                Check.core("/who lists every nickname, sorted", 10,
                        "answer /who to the asker only: WHO and the nicknames in order",
                        ChatServerChecks::who),
                Check.of("refuses a nickname in use", 10,
                        "register with putIfAbsent: one atomic step decides who gets a nickname",
                        ChatServerChecks::refusesTakenNick),
                Check.of("refuses a nickname two clients race for", 10,
                        "looking a nickname up, then registering it, are two steps another client can come between: putIfAbsent is one",
                        ChatServerChecks::raceForANickname),
                Check.of("reads a line sent with the nickname in one write", 5,
                        "read the nickname and every later line through the same reader: a second reader loses what the first buffered",
                        ChatServerChecks::pipelinedAfterNickname),
                Check.of("/quit says BYE, closes, and tells the others", 10,
                        "deliver BYE, then finish the member: its writer sends what is queued and closes",
                        ChatServerChecks::quits),
                Check.of("a client that vanishes is announced as LEFT", 5,
                        "end of stream or an exception ends the conversation the same way as /quit",
                        ChatServerChecks::vanishes),
                Check.core("keeps each sender's order and loses nothing", 15,
                        "one thread reads each member's lines, and each member's queue keeps their order",
                        ChatServerChecks::orderAndNoLoss).within(Duration.ofSeconds(30)),
                Check.of("cuts off a client that stops reading; the others go on", 10,
                        "never wait for one member's socket: when its queue is full, cut it off",
                        ChatServerChecks::cutsOffSlowReader).within(Duration.ofSeconds(40)));
    }

    static final int PER_SENDER = 2000;
    static final int ROUND = 200;

    static Client join(ChatServer server, String nick) throws IOException {
        var client = Client.connect(server.port());
        client.send(nick + "\n");
        // The member who joined just before may still be announcing itself: its JOIN can reach the
        // newcomer, registered a moment ago, before the newcomer's own WELCOME. Skip such notices.
        String line = client.readLine();
        for (int skipped = 0; line.startsWith("JOIN ") && skipped < 3; skipped++) line = client.readLine();
        Expect.equal("WELCOME " + nick, line, "the answer to the nickname " + nick);
        return client;
    }

    /// Reads lines, skipping others, until `expected`.
    static void awaitLine(Client client, String expected, String who) throws IOException {
        var skipped = new ArrayList<String>();
        for (String line = client.readLine(); !line.equals(expected); line = client.readLine()) {
            skipped.add(line);
            if (skipped.size() == 100) {
                throw new AssertionError(who + " waited for " + expected + " but got 100 other lines: " + skipped.subList(0, 3) + "...");
            }
        }
    }

    private static void welcomes() throws Exception {
        try (var server = ChatServer.start(0); var alice = join(server, "alice")) {
            alice.expectNothingFor(Duration.ofMillis(200), "nothing more after WELCOME for the only member");
        }
    }

    private static void broadcasts() throws Exception {
        try (var server = ChatServer.start(0); var alice = join(server, "alice"); var bob = join(server, "bob");
             var carol = join(server, "carol")) {
            awaitLine(alice, "JOIN carol", "alice");
            awaitLine(bob, "JOIN carol", "bob");
            alice.send("hello, everyone\n");
            // A JOIN notice may still be on its way (it races with the next client's WELCOME): skip it.
            awaitLine(bob, "MSG alice hello, everyone", "bob, when alice spoke");
            awaitLine(carol, "MSG alice hello, everyone", "carol, when alice spoke");
        }
    }

    private static void noEchoToSender() throws Exception {
        try (var server = ChatServer.start(0); var alice = join(server, "alice"); var bob = join(server, "bob")) {
            awaitLine(alice, "JOIN bob", "alice");
            alice.send("hi\n");
            awaitLine(bob, "MSG alice hi", "bob");
            alice.send("/who\n");
            Expect.equal("WHO alice bob", alice.readLine(), "alice's next line after speaking and asking /who");
        }
    }

    private static void who() throws Exception {
        try (var server = ChatServer.start(0); var carol = join(server, "carol"); var alice = join(server, "alice");
             var bob = join(server, "bob")) {
            bob.send("/who\n");
            awaitLine(bob, "WHO alice bob carol", "bob, asking /who");
            awaitLine(alice, "JOIN bob", "alice");
            awaitLine(carol, "JOIN bob", "carol");
            alice.expectNothingFor(Duration.ofMillis(200), "only the asker gets the answer to /who");
        }
    }

    private static void refusesTakenNick() throws Exception {
        try (var server = ChatServer.start(0); var alice = join(server, "alice"); var impostor = Client.connect(server.port())) {
            impostor.send("alice\n");
            String answer = impostor.readLine();
            Expect.that(answer.startsWith("ERROR"), "a second alice got " + answer + " instead of a line starting ERROR");
            impostor.expectClosed("after refusing a taken nickname");
            alice.send("/who\n");
            Expect.equal("WHO alice", alice.readLine(), "the members after the refusal");
        }
    }

    /// A nickname map that makes a check-then-act race certain. A lookup of the raced nickname
    /// (`get`, `containsKey`, and what calls them) first reads the map, then waits for the other
    /// client's lookup to have read it too, and only then returns. So two clients that look the
    /// nickname up before they register it both find it free, however the threads are scheduled
    /// after they meet: neither can register before both have looked. putIfAbsent does no lookup,
    /// and never waits. A server that makes lookup and register one step under a lock holds the
    /// second client back: the first lookup then waits out MEET_LIMIT alone, and is right.
    static final class RaceMap extends ConcurrentHashMap<String, ChatServer.Member> {
        private final String raced;
        private final CountDownLatch lookups = new CountDownLatch(2);

        RaceMap(String raced) {
            this.raced = raced;
        }

        @Override
        public ChatServer.Member get(Object key) {
            var found = super.get(key);
            meet(key);
            return found;
        }

        @Override
        public boolean containsKey(Object key) {
            boolean found = super.containsKey(key);
            meet(key);
            return found;
        }

        private void meet(Object key) {
            if (raced.equals(key) && lookups.getCount() > 0) {
                lookups.countDown();
                try {
                    lookups.await(MEET_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /// How long the first lookup waits for the second: far longer than a second client's thread
    /// takes to read a line, and short enough that a server which waits it out still answers
    /// within the client's read limit.
    static final Duration MEET_LIMIT = Duration.ofSeconds(2);

    /// Each round forces the race (both lookups see the map before either client registers); the
    /// rounds only guard against a second client that took longer than MEET_LIMIT to arrive.
    static final int RACE_ROUNDS = 3;

    private static void raceForANickname() throws Exception {
        for (int round = 1; round <= RACE_ROUNDS; round++) raceOnce(round);
    }

    private static void raceOnce(int round) throws Exception {
        try (var server = ChatServer.start(0); var first = Client.connect(server.port()); var second = Client.connect(server.port())) {
            Field members = ChatServer.class.getDeclaredField("members");
            members.setAccessible(true);
            members.set(server, new RaceMap("alice"));
            first.send("alice\n");
            second.send("alice\n");
            String one = first.readLine();
            String other = second.readLine();
            var answers = new java.util.TreeSet<>(List.of(one, other));
            Expect.that(answers.contains("WELCOME alice") && (one.startsWith("ERROR") || other.startsWith("ERROR")),
                    "in round " + round + " of " + RACE_ROUNDS + ", two clients sent the nickname alice at the same moment;"
                            + " they got " + Expect.show(one) + " and " + Expect.show(other)
                            + ": expected one WELCOME alice and one ERROR");
        }
    }

    private static void pipelinedAfterNickname() throws Exception {
        try (var server = ChatServer.start(0); var bob = join(server, "bob"); var alice = Client.connect(server.port())) {
            // The nickname and the next lines in one write: they may well arrive in one read.
            alice.send("alice\nhello, bob\n/who\n");
            Expect.equal("WELCOME alice", alice.readLine(), "the answer to \"alice\\nhello, bob\\n/who\\n\" sent in one write");
            Expect.equal("WHO alice bob", alice.readLine(), "alice's answer to the /who sent with her nickname");
            awaitLine(bob, "MSG alice hello, bob", "bob, when alice's nickname and first line came in one write");
        }
    }

    private static void quits() throws Exception {
        try (var server = ChatServer.start(0); var alice = join(server, "alice"); var bob = join(server, "bob")) {
            awaitLine(alice, "JOIN bob", "alice");
            alice.send("/quit\n");
            Expect.equal("BYE", alice.readLine(), "the answer to /quit");
            alice.expectClosed("after BYE");
            awaitLine(bob, "LEFT alice", "bob, when alice quit");
        }
    }

    private static void vanishes() throws Exception {
        try (var server = ChatServer.start(0); var bob = join(server, "bob")) {
            var carol = join(server, "carol");
            awaitLine(bob, "JOIN carol", "bob");
            carol.reset();
            Expect.equal("LEFT carol", bob.readLine(), "what bob got when carol's connection was reset");
        }
    }

    /// A member's outbox that makes overtaking certain wherever it can happen: the first MSG line
    /// offered to it waits (at most HOLD_LIMIT) until a later line of the same sender has been
    /// queued. A server that delivers each sender's lines from one thread, one after another,
    /// cannot offer that later line while the first waits: the wait runs out and the order holds.
    /// A server that hands deliveries to several threads queues the later line first, every time.
    static final class OvertakingQueue extends ArrayBlockingQueue<String> {
        private final AtomicReference<String[]> held = new AtomicReference<>();
        private final CountDownLatch later = new CountDownLatch(1);

        OvertakingQueue() {
            super(ChatServer.QUEUE_LIMIT);
        }

        @Override
        public boolean offer(String line) {
            String[] parts = line.split(" ");
            if (parts.length != 3 || !parts[0].equals("MSG") || !parts[2].matches("\\d{1,9}")) {
                return super.offer(line);
            }
            if (held.compareAndSet(null, parts)) {
                try {
                    later.await(HOLD_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return super.offer(line);
            }
            boolean queued = super.offer(line);
            String[] first = held.get();
            if (first[1].equals(parts[1]) && Integer.parseInt(parts[2]) > Integer.parseInt(first[2])) {
                later.countDown();
            }
            return queued;
        }
    }

    /// How long the first MSG line waits for a later one of its sender; a server that keeps the
    /// order loses this much time once.
    static final Duration HOLD_LIMIT = Duration.ofSeconds(1);

    /// Puts an OvertakingQueue in place of the member's outbox. Its writer may be waiting on the
    /// old one already: an empty line there wakes it (the member then reads one empty line).
    @SuppressWarnings("unchecked")
    static void forceOvertaking(ChatServer server, String nick) throws ReflectiveOperationException {
        Field members = ChatServer.class.getDeclaredField("members");
        members.setAccessible(true);
        Object member = ((Map<String, ?>) members.get(server)).get(nick);
        Field outbox = ChatServer.Member.class.getDeclaredField("outbox");
        outbox.setAccessible(true);
        var old = (BlockingQueue<String>) outbox.get(member);
        outbox.set(member, new OvertakingQueue());
        old.offer("");
    }

    private static void orderAndNoLoss() throws Exception {
        // 3 senders of 2,000 lines each, all to a listener whose outbox holds the first line until
        // a later one of its sender overtakes it: a server that lets lines overtake each other
        // (handing each to another thread, say) does so every time.
        int perSender = PER_SENDER;
        try (var server = ChatServer.start(0); var listener = join(server, "listener")) {
            forceOvertaking(server, "listener");
            var senders = new ArrayList<Client>();
            try {
                for (int s = 0; s < 3; s++) {
                    senders.add(join(server, "s" + s));
                    awaitLine(listener, "JOIN s" + s, "listener");
                }
                // In rounds of ROUND lines a sender, all three at once, read before the next round:
                // never more in flight than the listener's queue holds (QUEUE_LIMIT).
                Map<String, Integer> next = new HashMap<>(Map.of("s0", 0, "s1", 0, "s2", 0));
                for (int round = 0; round < perSender / ROUND; round++) {
                    var batches = new ArrayList<CompletableFuture<Void>>();
                    for (int s = 0; s < 3; s++) {
                        var lines = new StringBuilder();
                        for (int i = round * ROUND; i < (round + 1) * ROUND; i++) {
                            lines.append(i).append('\n');
                        }
                        batches.add(senders.get(s).sendInBackground(lines.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                    }
                    for (int received = 0; received < 3 * ROUND; received++) {
                        String line = listener.readLine();
                        String[] parts = line.split(" ");
                        Expect.that(parts.length == 3 && parts[0].equals("MSG") && next.containsKey(parts[1]),
                                "listener got " + line + " among the senders' lines");
                        int expected = next.get(parts[1]);
                        Expect.equal(String.valueOf(expected), parts[2], "the next line from " + parts[1]
                                + " (each sender's lines must arrive in the order it sent them)");
                        next.put(parts[1], expected + 1);
                    }
                    CompletableFuture.allOf(batches.toArray(CompletableFuture[]::new)).join();
                }
            } finally {
                for (Client sender : senders) {
                    sender.close();
                }
            }
        }
    }

    private static void cutsOffSlowReader() throws Exception {
        int lines = 12_000;
        String padding = "z".repeat(990);
        try (var server = ChatServer.start(0); var fast = join(server, "fast"); var slow = join(server, "slow");
             var talker = join(server, "talker")) {
            awaitLine(fast, "JOIN talker", "fast");
            awaitLine(slow, "JOIN talker", "slow");
            // slow never reads again. About 12 MB go to it: more than any kernel buffers. fast reads
            // each batch of 100 lines before the next is sent: it never falls far behind.
            int received = 0;
            boolean slowLeft = false;
            for (int batch = 0; batch < lines / 100; batch++) {
                var text = new StringBuilder();
                for (int i = 0; i < 100; i++) {
                    text.append(batch * 100 + i).append(' ').append(padding).append('\n');
                }
                talker.send(text.toString());
                while (received < (batch + 1) * 100) {
                    String line = fast.readLine();
                    if (line.equals("LEFT slow")) {
                        slowLeft = true;
                    } else if (line.startsWith("JOIN ")) {
                        // The JOIN notices of slow and talker come from two members' threads, in
                        // either order: the later one may still arrive now.
                        continue;
                    } else {
                        String[] parts = line.split(" ", 4);
                        String start = parts.length == 4 ? parts[0] + " " + parts[1] + " " + parts[2] : line;
                        Expect.equal("MSG talker " + received, start, "the start of the next of talker's lines at fast");
                        received++;
                    }
                }
            }
            if (!slowLeft) {
                awaitLine(fast, "LEFT slow", "fast, after 12 MB that slow did not read");
            }
        }
    }

}
