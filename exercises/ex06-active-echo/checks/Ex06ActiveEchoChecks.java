import grading.Answers;
import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import grading.TcpQueues;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/// The checked exercises of chapter 06: two predictions the kernel decides, and lesson 06 with a
/// bounded mailbox.
public final class Ex06ActiveEchoChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final Duration WAIT = Duration.ofSeconds(10);

    @Override
    public String title() {
        return "Active echo";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts where a flood waits in active mode", 10,
                        "an active reader reads whatever arrives, whether or not anyone takes messages: count what is left for the kernel to hold",
                        Ex06ActiveEchoChecks::floodWaitsInHeap),
                Check.core("predicts the kernel's states while the Closed message waits", 10,
                        "the reader has seen end of stream, but the owner has not closed its socket yet: which side has sent its FIN?",
                        Ex06ActiveEchoChecks::statesWhileClosedWaits),
                Check.core("a bounded mailbox makes the sender wait", 10,
                        "a mailbox with a capacity, and a reader that waits when it is full: while it waits nobody reads the socket",
                        Ex06ActiveEchoChecks::boundedMailbox).within(Duration.ofSeconds(40)));
    }

    /// Lines "line 00000\n" … sent in one write.
    static byte[] lines(int count) {
        var text = new StringBuilder();
        for (int i = 0; i < count; i++) text.append(String.format("line %05d%n", i));
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    /// Reads every line into a mailbox that nobody takes from: lesson 06's reader, owner paused.
    static void readForever(Socket socket, LinkedBlockingQueue<String> mailbox, CountDownLatch endOfStream) {
        try {
            // Not closed at end of stream: the owner, paused, has not closed its socket yet.
            InputStream in = new BufferedInputStream(socket.getInputStream());
            var line = new StringBuilder();
            for (int b; (b = in.read()) != -1; ) {
                if (b == '\n') {
                    mailbox.add(line.toString());
                    line.setLength(0);
                } else {
                    line.append((char) b);
                }
            }
            endOfStream.countDown();
        } catch (IOException e) {
            // The check is over and closed the socket.
        }
    }

    static void floodWaitsInHeap() throws Exception {
        long kernelBytes = Answers.number(FILE, "kernel-bytes");
        long messages = Answers.number(FILE, "mailbox-messages");
        int count = 50_000;
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            listener.setReceiveBufferSize(16 * 1024);
            try (var client = Client.connect(listener.getLocalPort()); Socket server = listener.accept()) {
                var mailbox = new LinkedBlockingQueue<String>();
                Thread.ofPlatform().daemon().start(() -> readForever(server, mailbox, new CountDownLatch(1)));
                client.sendInBackground(lines(count)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
                Expect.eventually(WAIT, () -> mailbox.size() == count, () -> "the reader got " + mailbox.size() + " of " + count + " lines");
                var queues = TcpQueues.of(server.getLocalPort(), server.getPort()).orElseThrow();
                var clientQueues = TcpQueues.of(server.getPort(), server.getLocalPort()).orElseThrow();
                long observed = queues.receive() + clientQueues.send();
                Expect.that(kernelBytes == observed && messages == mailbox.size(), String.format(
                        "you predicted %,d bytes in the kernel and %,d messages; after the client wrote %,d lines (%,d bytes) to a reader"
                                + " nobody takes from, the kernel held %,d bytes (server Recv-Q %,d, client Send-Q %,d) and the mailbox %,d messages",
                        kernelBytes, messages, count, lines(count).length, observed, queues.receive(), clientQueues.send(), mailbox.size()));
            }
        }
    }

    static void statesWhileClosedWaits() throws Exception {
        String serverState = normal(Answers.prediction(FILE, "server-state"));
        String clientState = normal(Answers.prediction(FILE, "client-state"));
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                var client = Client.connect(listener.getLocalPort());
                Socket server = listener.accept()) {
            var endOfStream = new CountDownLatch(1);
            var mailbox = new LinkedBlockingQueue<String>();
            Thread.ofPlatform().daemon().start(() -> readForever(server, mailbox, endOfStream));
            client.send("one\ntwo\nthree\n");
            client.socket().shutdownOutput();
            Expect.that(endOfStream.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the reader saw no end of stream within " + WAIT.toSeconds() + " s");
            // The server's kernel may hold back the ACK of a FIN (delayed ACK) for some milliseconds:
            // the client sits in FIN-WAIT-1 until that ACK comes, so wait for it before reading the states.
            Expect.eventually(WAIT, () -> !"FIN-WAIT-1".equals(stateOrNone(server.getPort(), server.getLocalPort())),
                    "the client stayed in FIN-WAIT-1 for " + WAIT.toSeconds() + " s: the server's kernel never acknowledged its FIN");
            String observedServer = state(server.getLocalPort(), server.getPort());
            String observedClient = state(server.getPort(), server.getLocalPort());
            Expect.that(serverState.equals(observedServer) && clientState.equals(observedClient), String.format(
                    "you predicted server %s, client %s; after the client's shutdownOutput(), with the server's socket still open,"
                            + " the kernel shows server %s, client %s (from /proc/net/tcp)",
                    serverState, clientState, observedServer, observedClient));
        }
    }

    static void boundedMailbox() throws Exception {
        int count = 20_000;
        int capacity = BoundedActiveEcho.MAILBOX_CAPACITY;
        try (var server = BoundedActiveEcho.start(0)) {
            server.pauseOwners();
            try (var client = Client.connect(server.port())) {
                client.sendInBackground(lines(count));
                Expect.eventually(WAIT, () -> !server.connections().isEmpty(), "the server accepted no connection");
                var connection = server.connections().iterator().next();
                Expect.eventually(WAIT, () -> connection.mailboxDepth() >= capacity || connection.mailboxHighWater() > capacity,
                        () -> "with the owner paused and " + count + " lines sent, the mailbox holds only " + connection.mailboxDepth());
                int localPort = client.socket().getLocalPort();
                Expect.eventually(WAIT, () -> connection.mailboxHighWater() > capacity || serverRecvQ(server.port(), localPort) > 0,
                        () -> "the mailbox is full, yet the kernel holds nothing for the server to read: the reader goes on reading (and drops what does not fit?)");
                Expect.that(connection.mailboxHighWater() <= capacity, String.format(
                        "with the owner paused and %,d lines sent, the mailbox held %,d messages at once; its capacity is %d",
                        count, connection.mailboxHighWater(), capacity));
                server.resumeOwners();
                for (int i = 0; i < count; i++) {
                    String expected = String.format("line %05d", i);
                    String got;
                    try {
                        got = client.readLine();
                    } catch (AssertionError e) {
                        throw new AssertionError("after the owner resumed, echo " + (i + 1) + " of " + count + " did not come: "
                                + e.getMessage() + " (is a line lost when the mailbox is full?)");
                    }
                    if (!expected.equals(got)) {
                        throw new AssertionError("after the owner resumed, echo " + (i + 1) + " of " + count + " was "
                                + Expect.show(got) + ", expected " + Expect.show(expected) + " (is a line lost when the mailbox is full?)");
                    }
                }
            }
        }
    }

    static long serverRecvQ(int serverPort, int clientPort) {
        try {
            return TcpQueues.of(serverPort, clientPort).map(TcpQueues.Queues::receive).orElse(0L);
        } catch (IOException e) {
            return 0;
        }
    }

    /// "close_wait", "CLOSE WAIT" and "CLOSE-WAIT" are the same answer.
    static String normal(String state) {
        return state.strip().toUpperCase(Locale.ROOT).replace('_', '-').replace(' ', '-');
    }

    static final String[] STATES = {"?", "ESTABLISHED", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
            "TIME-WAIT", "CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING"};

    static String stateOrNone(int localPort, int remotePort) {
        try {
            return state(localPort, remotePort);
        } catch (IOException e) {
            return "not found";
        }
    }

    /// The TCP state of the socket with this local and remote port, as ss names it.
    static String state(int localPort, int remotePort) throws IOException {
        for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            if (!Files.isReadable(Path.of(table))) continue;
            for (String line : Files.readAllLines(Path.of(table))) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 4 || !f[1].contains(":") || f[0].equals("sl")) continue;
                int local = Integer.parseInt(f[1].substring(f[1].lastIndexOf(':') + 1), 16);
                int remote = Integer.parseInt(f[2].substring(f[2].lastIndexOf(':') + 1), 16);
                if (local == localPort && remote == remotePort) return STATES[Integer.parseInt(f[3], 16)];
            }
        }
        return "not found";
    }
}
