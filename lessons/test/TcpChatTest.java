import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class TcpChatTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    TcpChat.Server server;
    final List<AutoCloseable> opened = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : opened) c.close();
        if (server != null) server.close();
    }

    /// A test's chat client: a LineClient that knows the welcome line and can skip notices.
    final class Chatter {
        final LineClient line;
        final String guestName;

        Chatter() throws IOException {
            line = new LineClient(server.port());
            opened.add(line);
            String welcome = line.readLine();
            assertThat(welcome).startsWith("*** welcome, guest");
            guestName = welcome.substring("*** welcome, ".length(), welcome.indexOf('!'));
        }

        Chatter(String nick) throws IOException {
            this();
            line.sendLine("/nick " + nick);
            assertThat(next(l -> l.startsWith("*** you are now"))).isEqualTo("*** you are now " + nick);
        }

        /// The next line that matches, skipping the others.
        String next(java.util.function.Predicate<String> wanted) throws IOException {
            for (String l; (l = line.readLine()) != null; ) {
                if (wanted.test(l)) return l;
            }
            throw new AssertionError("end of stream before the line we waited for");
        }

        /// The next chat line, skipping notices.
        String nextChat() throws IOException {
            return next(l -> !l.startsWith("***"));
        }
    }

    @Test
    void twentyClientsEachSendAHundredAndEveryoneGetsEveryLineInOrder() throws Exception {
        int clients = 20, messages = 100;
        // A queue long enough for everything a client can be owed: nothing here may be cut off.
        server = TcpChat.start(0, new TcpChat.Limits(1000, 4096));
        List<Chatter> chatters = new ArrayList<>();
        for (int i = 0; i < clients; i++) chatters.add(new Chatter("c" + i));
        await().atMost(WAIT).until(() -> server.room().nicks().stream().filter(n -> n.matches("c\\d+")).count() == clients);

        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<CompletableFuture<Map<String, List<Integer>>>> received = new ArrayList<>();
            for (Chatter c : chatters) {
                received.add(CompletableFuture.supplyAsync(() -> receive(c, (clients - 1) * messages), threads));
            }
            for (Chatter c : chatters) {
                threads.submit(() -> {
                    for (int k = 0; k < messages; k++) c.line.sendLine("m" + k);
                    return null;
                });
            }
            List<Integer> inOrder = IntStream.range(0, messages).boxed().toList();
            for (int i = 0; i < clients; i++) {
                Map<String, List<Integer>> bySender = received.get(i).get(30, TimeUnit.SECONDS);
                assertThat(bySender).as("c%d hears everyone but itself", i).hasSize(clients - 1)
                        .doesNotContainKey("c" + i);
                for (var entry : bySender.entrySet()) {
                    assertThat(entry.getValue()).as("what c%d got from %s", i, entry.getKey()).isEqualTo(inOrder);
                }
            }
        }
    }

    /// Reads `count` chat lines "cN: mK" and groups the K by sender, in the order they came.
    static Map<String, List<Integer>> receive(Chatter c, int count) {
        Map<String, List<Integer>> bySender = new HashMap<>();
        try {
            for (int n = 0; n < count; n++) {
                String[] parts = c.nextChat().split(": m", 2);
                bySender.computeIfAbsent(parts[0], k -> new ArrayList<>()).add(Integer.parseInt(parts[1]));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return bySender;
    }

    @Test
    void aClientThatNeverReadsIsCutOffWhileTheOthersKeepReceiving() throws Exception {
        server = TcpChat.start(0, new TcpChat.Limits(8000, 64));
        var talker = new Chatter("talker");
        talker.line.socket().setTcpNoDelay(true);
        var bystander = new Chatter("bystander");
        // The slow client has a small receive buffer, so it fills quickly, and it never reads.
        var sloth = new Socket();
        opened.add(sloth);
        sloth.setReceiveBufferSize(4096);
        sloth.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()));
        sloth.setSoTimeout((int) WAIT.toMillis());
        sloth.getOutputStream().write("/nick sloth\n".getBytes(StandardCharsets.UTF_8));
        await().atMost(WAIT).until(() -> server.room().nicks().contains("sloth"));

        // Talk in batches; the bystander reads each batch before the next, so only the sloth falls behind.
        String padding = "x".repeat(7900);
        int sent = 0;
        String notice = null;
        while (notice == null) {
            assertThat(sent).as("the sloth should have been cut off by now").isLessThan(50_000);
            for (int k = 0; k < 32; k++) talker.line.sendLine((sent + k) + " " + padding);
            for (int k = 0; k < 32; k++) {
                String got = bystander.next(l -> l.startsWith("talker: ") || l.startsWith("*** sloth"));
                if (got.startsWith("*** sloth")) {
                    notice = got;
                    got = bystander.nextChat();
                }
                assertThat(got).as("the bystander gets every line, in order").isEqualTo("talker: " + (sent + k) + " " + padding);
            }
            sent += 32;
        }
        System.out.printf("the sloth was cut off within %d lines of about 7,910 bytes%n", sent);
        assertThat(notice).startsWith("*** sloth was disconnected: not reading (64 lines waiting)");
        assertThat(server.room().nicks()).containsExactly("talker", "bystander");
        talker.line.sendLine("still here");
        assertThat(bystander.nextChat()).isEqualTo("talker: still here");
        assertThat(drainsToEndOrReset(sloth.getInputStream())).as("the sloth's connection was closed").isTrue();
    }

    static boolean drainsToEndOrReset(InputStream in) throws IOException {
        try {
            in.transferTo(OutputStreamNowhere.INSTANCE);
            return true;
        } catch (SocketException e) {
            return true;         // a reset also ends it
        }
    }

    static final class OutputStreamNowhere extends java.io.OutputStream {
        static final OutputStreamNowhere INSTANCE = new OutputStreamNowhere();

        @Override
        public void write(int b) {
        }

        @Override
        public void write(byte[] b, int off, int len) {
        }
    }

    /// A member of a crowd: connected, silent, reading nothing.
    Socket idleMember() throws IOException {
        var socket = new Socket(InetAddress.getLoopbackAddress(), server.port());
        socket.setSoTimeout((int) WAIT.toMillis());
        opened.add(socket);
        return socket;
    }

    static long usedHeap() {
        System.gc();
        return Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
    }

    @Test
    void aCrowdOfIdleAndTricklingMembersDoesNotStopTheChat() throws Exception {
        int idle = 2_000, tricklers = 200;
        var os = (com.sun.management.UnixOperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        assertThat(os.getMaxFileDescriptorCount()).as("both ends of 2,200 connections need file descriptors")
                .isGreaterThan(2L * (idle + tricklers) + 500);
        server = TcpChat.start(0);
        long heapBefore = usedHeap();
        List<Socket> crowd = new ArrayList<>();
        for (int i = 0; i < idle; i++) crowd.add(idleMember());
        await().atMost(Duration.ofSeconds(30)).until(() -> server.room().clients.size() == idle);

        // Two hundred more, each trickling one byte of a line that never ends, every 50 ms.
        List<Socket> trickling = new ArrayList<>();
        for (int i = 0; i < tricklers; i++) trickling.add(idleMember());
        var trickler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        trickler.scheduleAtFixedRate(() -> {
            try {
                for (Socket s : trickling) s.getOutputStream().write('z');
            } catch (IOException e) {
                // The test is over.
            }
        }, 0, 50, java.util.concurrent.TimeUnit.MILLISECONDS);
        try {
            var alice = new Chatter("alice");
            var bob = new Chatter("bob");
            int members = idle + tricklers + 2;
            await().atMost(WAIT).until(() -> server.room().clients.size() == members);
            long worst = 0;
            for (int k = 0; k < 5; k++) {
                long start = System.nanoTime();
                bob.line.sendLine("line " + k + " through a crowd");
                assertThat(alice.nextChat()).isEqualTo("bob: line " + k + " through a crowd");
                worst = Math.max(worst, System.nanoTime() - start);
            }
            long perMember = (usedHeap() - heapBefore) / members;
            int longestOutbox = server.room().clients.stream().mapToInt(c -> c.outbox.size()).max().orElseThrow();
            System.out.printf("with %d idle and %d trickling members: the slowest of 5 lines took %d ms; "
                            + "heap %d bytes per member (both ends); longest outbox %d lines%n",
                    idle, tricklers, worst / 1_000_000, perMember, longestOutbox);
            assertThat(Duration.ofNanos(worst)).as("a line crosses a crowded room").isLessThan(Duration.ofSeconds(3));
            assertThat(perMember).as("heap per member, both ends of its connection").isLessThan(64 * 1024);
            assertThat(longestOutbox).as("nobody's outbox fills up").isLessThan(TcpChat.Limits.DEFAULT.queue());

            // The last of the crowd joined a big room: nobody heard of it, and it heard of nobody's join.
            var last = new java.io.BufferedReader(new java.io.InputStreamReader(
                    crowd.getLast().getInputStream(), StandardCharsets.UTF_8));
            assertThat(last.readLine()).startsWith("*** welcome");
            assertThat(last.readLine()).isEqualTo("bob: line 0 through a crowd");
            assertThat(alice.line.ask("/who")).startsWith("*** here: guest").endsWith(" and " + (members - 50) + " more");
        } finally {
            trickler.shutdownNow();
            trickler.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void theListenerHoldsACrowdInItsBacklog() throws Exception {
        server = TcpChat.start(0);
        assertThat(Listeners.backlog(server.port())).isEqualTo(Math.min(TcpChat.BACKLOG, Listeners.somaxconn()))
                .isGreaterThan(50);
    }

    @Test
    void controlCharactersNeverReachAnotherTerminal() throws Exception {
        server = TcpChat.start(0);
        var alice = new Chatter("alice");
        var bob = new Chatter("bob");
        alice.line.send("hi \u001b[2J\u001b]0;owned\u0007there\tyou\u0000\u0008\u007f\u009b!\r\n");
        assertThat(bob.nextChat()).isEqualTo("alice: hi [2J]0;ownedthere you!");
        alice.line.sendLine("/nick \u001bred\u0007");        // commands are cleaned too
        assertThat(alice.next(l -> l.startsWith("*** you are"))).isEqualTo("*** you are now red");
        assertThat(bob.next(l -> l.contains("known as"))).isEqualTo("*** alice is now known as red");
    }

    @Test
    void cleanKeepsTextAndDropsEveryControlCharacter() {
        String every = IntStream.range(0, 0xa0).mapToObj(Character::toString).reduce("", String::concat);
        String cleaned = TcpChat.clean(every + "héllo, 世界 😀");
        assertThat(cleaned).doesNotContainPattern("[\\x00-\\x1f\\x7f-\\x9f]").endsWith("héllo, 世界 😀");
        assertThat(cleaned).startsWith("  !\"#");    // the tab became a space; printable ASCII stays
    }

    @Test
    void anOversizeLineIsRefusedWithAMessageAndTheConnectionGoesOn() throws Exception {
        server = TcpChat.start(0);
        var alice = new Chatter("alice");
        var bob = new Chatter("bob");
        alice.line.sendLine("y".repeat(1001));
        assertThat(alice.next(l -> l.startsWith("*** line"))).isEqualTo("*** line longer than 1000 bytes; not sent");
        String longest = "z".repeat(1000);
        alice.line.sendLine(longest);
        assertThat(bob.nextChat()).as("the oversize line never reached bob").isEqualTo("alice: " + longest);
    }

    @Test
    void nickWhoJoinLeaveAndQuit() throws Exception {
        server = TcpChat.start(0);
        var alice = new Chatter("alice");
        var guest = new Chatter();
        assertThat(alice.line.readLine()).isEqualTo("*** " + guest.guestName + " joined");
        assertThat(guest.line.ask("/nick bob")).isEqualTo("*** you are now bob");
        assertThat(alice.line.readLine()).isEqualTo("*** " + guest.guestName + " is now known as bob");

        assertThat(alice.line.ask("/who")).isEqualTo("*** here: alice, bob");
        assertThat(alice.line.ask("/nick BOB")).isEqualTo("*** BOB is taken");
        assertThat(alice.line.ask("/nick no spaces allowed")).startsWith("*** a nick is 1 to 16");
        assertThat(alice.line.ask("/dance")).startsWith("*** unknown command /dance");

        guest.line.sendLine("hello alice");
        assertThat(alice.line.readLine()).isEqualTo("bob: hello alice");
        assertThat(guest.line.ask("/quit")).isEqualTo("*** bye");
        assertThat(guest.line.readLine()).as("the server closes after /quit").isNull();
        assertThat(alice.line.readLine()).isEqualTo("*** bob left");
        await().atMost(WAIT).until(() -> server.room().nicks().equals(List.of("alice")));
    }

    @Test
    void aClientThatVanishesLeavesAndTheOthersGoOn() throws Exception {
        server = TcpChat.start(0);
        var alice = new Chatter("alice");
        var bob = new Chatter("bob");
        var carol = new Chatter("carol");
        bob.line.send("half a li");
        bob.line.reset();
        assertThat(alice.next(l -> l.endsWith(" left"))).isEqualTo("*** bob left");
        carol.line.sendLine("still talking");
        assertThat(alice.nextChat()).isEqualTo("carol: still talking");
    }

    @Test
    void closeEndsEveryConnection() throws Exception {
        server = TcpChat.start(0);
        var alice = new Chatter("alice");
        server.close();
        assertThat(alice.line.readLine()).isNull();
        await().atMost(WAIT).until(() -> !server.acceptor().isAlive() && server.sockets().isEmpty());
    }

    @Test
    void twoClientsChatThroughMain() throws Exception {
        try (LessonRun run = LessonRun.start("TcpChat", "--port", "0")) {
            int port = run.awaitListeningPort();
            try (var a = new LineClient(port)) {
                assertThat(a.readLine()).startsWith("*** welcome");   // a is in the room now
                try (var b = new LineClient(port)) {
                    assertThat(b.readLine()).startsWith("*** welcome");
                    assertThat(a.readLine()).endsWith(" joined");
                    b.sendLine("hi from b");
                    assertThat(a.readLine()).endsWith(": hi from b");
                }
            }
        }
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            LessonRun.assertExplainsPortInUse("TcpChat", taken.getLocalPort());
        }
    }
}
