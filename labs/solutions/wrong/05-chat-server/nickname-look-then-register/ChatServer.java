// Mistake: the nickname is looked up, then registered: two steps another client can come between, so two clients may both get it. Caught by: "refuses a nickname two clients race for"
//JAVA 25+

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.net.BindException;
import java.util.ArrayList;
import java.util.List;

/// Lab 05 · Chat server — nicknames, broadcast, `/who`, `/quit`; a slow reader is cut off.
///
/// Run it: `./jbang labs/05-chat-server/ChatServer.java [--port 1234]`; talk to it: `nc localhost 1234`
/// (the first line you type is your nickname).
/// Read: labs/05-chat-server/README.adoc
class ChatServer implements AutoCloseable {
    /// Lines waiting for one member's writer; a member whose queue is full is cut off.
    static final int QUEUE_LIMIT = 1000;

    /// One member of the chat: its nickname, its socket, and its writer thread, which sends the
    /// lines queued in `outbox` so that no one else ever waits for this member's socket.
    static final class Member {
        private static final String FINISH = "\n";   // never a line: lines have no newline

        final String nick;
        final Socket socket;
        private final BlockingQueue<String> outbox = new ArrayBlockingQueue<>(QUEUE_LIMIT);

        Member(String nick, Socket socket) {
            this.nick = nick;
            this.socket = socket;
            Thread.ofVirtual().name("writer-" + nick).start(this::sendQueuedLines);
        }

        /// Queues a line for this member; false when the queue is full.
        boolean offer(String line) {
            return outbox.offer(line);
        }

        /// Sends what is queued, then closes the socket.
        void finish() {
            if (!outbox.offer(FINISH)) {
                cutOff();
            }
        }

        /// Closes the socket now, queued lines or not.
        void cutOff() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // Closed anyway.
            }
        }

        private void sendQueuedLines() {
            try (Writer out = new BufferedWriter(new OutputStreamWriter(socket.getOutputStream(), StandardCharsets.UTF_8))) {
                for (String line = outbox.take(); !line.equals(FINISH); line = outbox.take()) {
                    out.write(line + "\n");
                    if (outbox.isEmpty()) {
                        out.flush();
                    }
                }
            } catch (IOException | InterruptedException e) {
                log("stopped writing to " + nick + ": " + e.getMessage());
            } finally {
                cutOff();
            }
        }
    }

    private final ServerSocket listener;
    private final Map<String, Member> members = new ConcurrentHashMap<>();
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

    private ChatServer(ServerSocket listener) {
        this.listener = listener;
    }

    /// Binds to loopback on `port` (0: any free port) and starts accepting clients.
    static ChatServer start(int port) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        var server = new ChatServer(listener);
        Thread.ofPlatform().name("acceptor").start(server::acceptLoop);
        return server;
    }

    int port() {
        return listener.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket socket : sockets) {
            socket.close();
        }
    }

    private void acceptLoop() {
        try {
            while (true) {
                Socket client = listener.accept();
                sockets.add(client);
                Thread.ofVirtual().name("reader-" + client.getPort()).start(() -> {
                    try {
                        serve(client);
                    } catch (IOException | RuntimeException e) {
                        log("connection failed: " + e);
                        closeQuietly(client);
                    } finally {
                        sockets.remove(client);
                    }
                });
            }
        } catch (IOException e) {
            log("stopped accepting: " + e.getMessage());
        }
    }

    /// A nickname is 1 to 16 letters, digits or underscores.
    static boolean isValidNick(String nick) {
        return nick.matches("\\w{1,16}");
    }

    /// One client's conversation, on its own thread: its nickname first, then its lines.
    void serve(Socket client) throws IOException {
        var in = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
        String nick = in.readLine();
        if (nick == null || !isValidNick(nick)) {
            refuse(client, "ERROR a nickname is 1 to 16 letters, digits or _");
            return;
        }
        if (members.containsKey(nick)) {
            refuse(client, "ERROR nickname " + nick + " is taken");
            return;
        }
        var me = new Member(nick, client);
        members.put(nick, me);
        log(nick + " joined from " + client.getRemoteSocketAddress());
        deliver(me, "WELCOME " + nick);
        broadcast(me, "JOIN " + nick);
        try {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.equals("/quit")) {
                    deliver(me, "BYE");
                    break;
                } else if (line.equals("/who")) {
                    deliver(me, "WHO " + String.join(" ", new TreeSet<>(members.keySet())));
                } else {
                    broadcast(me, "MSG " + nick + " " + line);
                }
            }
        } catch (IOException e) {
            log(nick + " vanished: " + e.getMessage());
        } finally {
            if (members.remove(nick, me)) {
                broadcast(me, "LEFT " + nick);
            }
            me.finish();
        }
    }

    /// Queues `line` for every member but `from`.
    void broadcast(Member from, String line) {
        for (Member member : members.values()) {
            if (member != from) {
                deliver(member, line);
            }
        }
    }

    /// Queues `line` for `to`; a member whose queue is full has stopped reading: cut it off.
    void deliver(Member to, String line) {
        if (!to.offer(line)) {
            log("cut off " + to.nick + ": " + QUEUE_LIMIT + " lines waiting");
            to.cutOff();
        }
    }

    private static void refuse(Socket client, String reason) throws IOException {
        try (client) {
            client.getOutputStream().write((reason + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }

    static void log(String message) {
        System.out.printf("%s [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(), message);
    }

    // ---- The command line: the same block as in the lessons; read it once. ----

    static final int DEFAULT_PORT = 1234;

    static final String USAGE = """
            Usage: ./jbang labs/05-chat-server/ChatServer.java [--port N] [--help]

            Lab 05's chat server: the first line you send is your nickname.

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal:  nc localhost 1234
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try {
            var server = start(port);
            log("listening on " + InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.port());
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
        }
    }

    /// Reads `--help` and the options a lab asks for. Anything else is a learner's mistake:
    /// say what, print the usage, exit with status 2; never a stack trace.
    static final class CommandLine {
        private final String usage;
        private final List<String> args;

        CommandLine(String usage, String[] args) {
            this.usage = usage;
            this.args = new ArrayList<>(List.of(args));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        /// `--port N`: 0 to 65535; 0 asks the kernel for any free port.
        int port(int otherwise) {
            return number("--port", otherwise, 0, 65_535);
        }

        /// `--name N` or `--name=N`, a whole number from `min` to `max`.
        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        /// `--name TEXT` or `--name=TEXT`.
        String text(String name, String otherwise) {
            for (int i = 0; i < args.size(); i++) {
                if (args.get(i).startsWith(name + "=")) return args.remove(i).substring(name.length() + 1);
                if (!args.get(i).equals(name)) continue;
                if (i + 1 == args.size()) throw fail(name + " needs a value");
                args.remove(i);
                return args.remove(i);
            }
            return otherwise;
        }

        /// `--name`, present or not.
        boolean flag(String name) {
            return args.remove(name);
        }

        /// After the last option: whatever is left is a mistake.
        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.println("error: " + problem);
            System.err.print(usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        /// A port in use is an ordinary mistake too: one line with a hint, exit status 1.
        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lab or lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
