///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/// Lesson 14 · TCP chat — clients talk to each other through a server that relays every line.
///
/// Run it: `./jbang lessons/14_TcpChat.java [--port 1234]`; join from two terminals: `nc -N localhost 1234`.
/// Chapter: docs/chapters/14-tcp-chat.adoc · Test: lessons/test/TcpChatTest.java ·
/// Lab: labs/05-chat-server
/// Not here: TLS, and names proven by certificates (lesson 17); one thread for all clients (lesson 08);
/// messages that are not lines (lesson 15).
class TcpChat {
    static final int DEFAULT_PORT = 1234;
    /// Finished connections the kernel may hold before accept() takes them: a crowd may join at once,
    /// and with the JDK's default of 50, 2,000 clients wait in SYN retries. Capped by net.core.somaxconn.
    static final int BACKLOG = 1024;
    /// Joins, leaves and renames are announced only while the room has at most this many members: each
    /// notice is a line for every other member, so n joins cost n²/2 lines (2 million for 2,000).
    static final int ANNOUNCE_UP_TO = 100;

    /// The limits that keep one client from hurting the others, and bound what a member costs.
    /// `maxLine`: the longest line accepted, in bytes. `queue`: lines that may wait for one client; a
    /// client with `queue` lines waiting is cut off. So a member holds at most `queue` lines of at most
    /// `maxLine` bytes and a name (a broadcast line is one object that every queue shares).
    record Limits(int maxLine, int queue) {
        static final Limits DEFAULT = new Limits(1000, 256);
    }

    // tag::client[]
    /// What a client's writer sends next: a line, or the end of the conversation.
    sealed interface Outgoing permits Line, HangUp {}
    record Line(String text) implements Outgoing {}
    record HangUp() implements Outgoing {}

    /// One connected client: its socket, its name, and the bounded queue its own writer drains.
    static final class Client {
        final Socket socket;
        final BlockingQueue<Outgoing> outbox;
        volatile String nick;

        Client(Socket socket, int queue) {
            this.socket = socket;
            this.outbox = new ArrayBlockingQueue<>(queue);
            this.nick = "guest" + socket.getPort();
        }

        /// Queues a line without ever waiting: false when this client is too far behind.
        boolean offer(String text) {
            return outbox.offer(new Line(text));
        }
    }
    // end::client[]

    /// A running server: the port it got, the room, and `close()` to stop everything.
    record Server(ServerSocket listener, Room room, Set<Socket> sockets, Thread acceptor) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket socket : sockets) socket.close();     // readers and writers wake and end
        }
    }

    static Server start(int port) throws IOException {
        return start(port, Limits.DEFAULT);
    }

    static Server start(int port, Limits limits) throws IOException {
        // Bind to loopback: only this machine can join.
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        var room = new Room();
        Set<Socket> sockets = ConcurrentHashMap.newKeySet();
        Thread acceptor = Thread.ofPlatform().name("acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket socket = listener.accept();
                    sockets.add(socket);
                    log("accepted %s", socket.getRemoteSocketAddress());
                    // Send each flush at once (no Nagle delay): the writer batches lines itself.
                    socket.setTcpNoDelay(true);
                    var client = new Client(socket, limits.queue());
                    // Two threads per client: one waits in read(), one waits for lines to write.
                    Thread.ofVirtual().name("writer " + client.nick).start(() -> {
                        writeLoop(client);
                        sockets.remove(socket);
                    });
                    Thread.ofVirtual().name("reader " + client.nick).start(() -> readLoop(client, room, limits));
                } catch (IOException e) {
                    if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
                }
            }
        });
        return new Server(listener, room, sockets, acceptor);
    }

    // tag::room[]
    /// Everyone connected. Relaying holds the room's lock but never waits on a socket: it only
    /// offers lines to queues, so one stuck client cannot hold up the others.
    static final class Room {
        final List<Client> clients = new CopyOnWriteArrayList<>();

        synchronized void join(Client client) {
            client.offer("*** welcome, " + client.nick + "! Commands: /nick NAME, /who, /quit");
            clients.add(client);
            announce(client, "*** " + client.nick + " joined");
        }

        synchronized void leave(Client client, String notice) {
            if (clients.remove(client)) announce(client, "*** " + client.nick + " " + notice);
        }

        /// A notice about one member for all the others, while the room is small enough that a
        /// notice per member is cheap. A big room stays quiet, as big rooms elsewhere do.
        synchronized void announce(Client about, String notice) {
            if (clients.size() <= ANNOUNCE_UP_TO) broadcast(about, notice);
        }

        /// Sends `text` to everyone but `from`; whoever cannot take it any more is cut off.
        synchronized void broadcast(Client from, String text) {
            List<Client> tooSlow = new ArrayList<>();
            for (Client to : clients) {
                if (to != from && !to.offer(text)) tooSlow.add(to);
            }
            for (Client slow : tooSlow) {
                log("%s has %d lines waiting and reads none: disconnecting it", slow.nick, slow.outbox.size());
                closeQuietly(slow.socket);       // its writer, blocked in write(), wakes with an exception
                leave(slow, "was disconnected: not reading (" + slow.outbox.size() + " lines waiting)");
            }
        }

        synchronized List<String> nicks() {
            return clients.stream().map(c -> c.nick).toList();
        }

        /// Who is here: at most 50 names and how many more, so the line stays short in any room.
        synchronized String who() {
            List<String> nicks = nicks();
            String more = nicks.size() > 50 ? " and " + (nicks.size() - 50) + " more" : "";
            return "*** here: " + String.join(", ", nicks.subList(0, Math.min(50, nicks.size()))) + more;
        }

        synchronized boolean rename(Client client, String nick) {
            if (clients.stream().anyMatch(c -> c.nick.equalsIgnoreCase(nick))) return false;
            announce(client, "*** " + client.nick + " is now known as " + nick);
            client.nick = nick;
            return true;
        }
    }
    // end::room[]

    // tag::reader[]
    /// One reader per client. A client that trickles a byte now and then holds only this virtual
    /// thread and at most `maxLine` bytes; a real server would also give a line a deadline (lesson 15).
    static void readLoop(Client client, Room room, Limits limits) {
        try {
            InputStream in = new BufferedInputStream(client.socket.getInputStream());
            room.join(client);
            log("%s joined", client.nick);
            while (true) {
                String line;
                try {
                    line = readLine(in, limits.maxLine());
                } catch (LineTooLongException e) {
                    client.offer("*** " + e.getMessage() + "; not sent");
                    continue;
                }
                if (line == null) break;                 // end of stream: the client closed its side
                String text = clean(line);
                if (text.isBlank()) continue;
                if (!text.startsWith("/")) {
                    trace("%s: %s", client.nick, text.length() > 60 ? text.substring(0, 60) + "..." : text);
                    room.broadcast(client, client.nick + ": " + text);
                } else if (!command(client, room, text)) break;    // /quit
            }
            log("%s left", client.nick);
        } catch (IOException e) {
            // A reset from the client. A socket we closed (cut off, or the server stopping) was narrated there.
            if (!client.socket.isClosed()) log("%s is gone: %s", client.nick, e.getMessage());
        } finally {
            room.leave(client, "left");
            // Let the writer send what is queued and close (or close now if the queue is full).
            if (!client.outbox.offer(new HangUp())) closeQuietly(client.socket);
        }
    }

    /// Runs a command; false when the client asked to leave.
    static boolean command(Client client, Room room, String text) {
        String[] words = text.split(" +", 2);
        switch (words[0]) {
            case "/nick" -> {
                String nick = words.length == 2 ? words[1].strip() : "";
                client.offer(!nick.matches("[A-Za-z0-9_-]{1,16}") ? "*** a nick is 1 to 16 letters, digits, '_' or '-'"
                        : room.rename(client, nick) ? "*** you are now " + nick : "*** " + nick + " is taken");
            }
            case "/who" -> client.offer(room.who());
            case "/quit" -> {
                client.offer("*** bye");
                return false;
            }
            default -> client.offer("*** unknown command " + words[0] + "; try /nick NAME, /who, /quit");
        }
        return true;
    }
    // end::reader[]

    // tag::writer[]
    /// Drains one client's queue into its socket. Only this thread ever waits on this client.
    static void writeLoop(Client client) {
        try {
            OutputStream out = new BufferedOutputStream(client.socket.getOutputStream());
            while (client.outbox.take() instanceof Line(String text)) {
                out.write((text + "\n").getBytes(StandardCharsets.UTF_8));
                if (client.outbox.isEmpty()) out.flush();    // one write for a burst of lines
            }
            out.flush();                                    // a HangUp: the last lines go out
        } catch (IOException | InterruptedException e) {
            if (!client.socket.isClosed()) log("cannot write to %s: %s", client.nick, e.getMessage());   // a reset
        } finally {
            closeQuietly(client.socket);
        }
    }
    // end::writer[]

    // tag::clean[]
    /// Removes control characters (ESC, BEL, backspace, carriage return, DEL, and the C1 range):
    /// another client's terminal would obey them. A tab becomes a space.
    static String clean(String line) {
        var out = new StringBuilder(line.length());
        line.codePoints().forEach(c -> {
            if (c == '\t') out.append(' ');
            else if (!Character.isISOControl(c)) out.appendCodePoint(c);
        });
        return out.toString();
    }

    /// Reads one line of at most `max` bytes, or null at end of stream. A longer line is skipped
    /// up to its newline and reported with LineTooLongException: the connection goes on.
    static String readLine(InputStream in, int max) throws IOException {
        var line = new ByteArrayOutputStream();
        boolean tooLong = false;
        for (int b; (b = in.read()) != '\n'; ) {
            if (b == -1) {
                if (line.size() == 0 && !tooLong) return null;
                break;
            }
            if (line.size() == max) tooLong = true;      // keep reading, but keep nothing
            else if (!tooLong) line.write(b);
        }
        if (tooLong) throw new LineTooLongException("line longer than " + max + " bytes");
        return line.toString(StandardCharsets.UTF_8);   // bad UTF-8 becomes U+FFFD, never raw bytes
    }
    // end::clean[]

    static final class LineTooLongException extends IOException {
        LineTooLongException(String message) {
            super(message);
        }
    }

    static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // Already closed.
        }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/14_TcpChat.java [--port N] [--help]

            A chat server: every line a client sends goes to every other client.
              /nick NAME  choose your name     /who  who is here     /quit  leave

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in two or more terminals:  nc -N localhost 1234
            (-N: when you press Ctrl-D, nc shuts down its sending side, and the chat sees you leave)
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try (Server server = start(port)) {
            log("listening on %s:%d; join with: nc -N localhost %d",
                    server.listener().getInetAddress().getHostAddress(), server.port(), server.port());
            server.acceptor().join();
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
        }
    }

    /// Prints a line of narration: the time, the thread, what happens.
    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    /// Narration for every message. `-Dsocketlab.quiet=true` turns it off for the benchmark.
    static void trace(String format, Object... args) {
        if (!QUIET) log(format, args);
    }

    static final boolean QUIET = Boolean.getBoolean("socketlab.quiet");

    /// `--help`, options `--name value` (or `--name=value`) and flags `--name`. A mistake prints what
    /// is wrong and the usage, and exits 2; a port in use prints one line, and exits 1.
    record CommandLine(String usage, List<String> args) {
        CommandLine(String usage, String[] args) {
            this(usage, new ArrayList<>());
            // --port=1234 becomes --port 1234; a split limit of 1 leaves any other argument whole.
            for (String arg : args) this.args.addAll(List.of(arg.split("=", arg.startsWith("--") ? 2 : 1)));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        int port(int otherwise) { return number("--port", otherwise, 0, 65_535); }

        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        String text(String name, String otherwise) {
            int at = args.indexOf(name);
            if (at == -1) return otherwise;
            if (at + 1 == args.size()) throw fail(name + " needs a value");
            args.remove(at);
            return args.remove(at);
        }

        boolean flag(String name) { return args.remove(name); }

        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.print("error: " + problem + "\n" + usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
