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
import java.net.SocketException;
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
/// Run it: `./jbang lessons/14_TcpChat.java [--port 1234]`; join from two terminals: `nc localhost 1234`.
/// Read: docs/chapters/14-tcp-chat.adoc
class TcpChat {
    static final int DEFAULT_PORT = 1234;

    static final String USAGE = """
            Usage: ./jbang lessons/14_TcpChat.java [--port N] [--help]

            A chat server: every line a client sends goes to every other client.
              /nick NAME  choose your name     /who  who is here     /quit  leave

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in two or more terminals:  nc localhost 1234
            """.formatted(DEFAULT_PORT);

    /// The limits that keep one client from hurting the others.
    /// `maxLine`: the longest line accepted, in bytes. `queue`: lines that may wait for one client.
    record Limits(int maxLine, int queue) {
        static final Limits DEFAULT = new Limits(1000, 1000);
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
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
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
            broadcast(client, "*** " + client.nick + " joined");
        }

        synchronized void leave(Client client, String notice) {
            if (clients.remove(client)) broadcast(client, "*** " + client.nick + " " + notice);
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

        synchronized boolean rename(Client client, String nick) {
            if (clients.stream().anyMatch(c -> c.nick.equalsIgnoreCase(nick))) return false;
            broadcast(client, "*** " + client.nick + " is now known as " + nick);
            client.nick = nick;
            return true;
        }
    }
    // end::room[]

    // tag::reader[]
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
                if (line == null) {
                    room.leave(client, "left");
                    log("%s closed the connection", client.nick);
                    break;
                }
                String text = clean(line);
                if (text.isBlank()) continue;
                if (!text.startsWith("/")) {
                    log("%s: %s", client.nick, text.length() > 60 ? text.substring(0, 60) + "..." : text);
                    room.broadcast(client, client.nick + ": " + text);
                } else if (!command(client, room, text)) {
                    room.leave(client, "left");
                    log("%s quit", client.nick);
                    break;
                }
            }
        } catch (IOException e) {
            room.leave(client, "left");
            log("%s is gone: %s", client.nick, e.getMessage());
        } finally {
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
                if (!nick.matches("[A-Za-z0-9_-]{1,16}")) {
                    client.offer("*** a nick is 1 to 16 letters, digits, '_' or '-'");
                } else if (!room.rename(client, nick)) {
                    client.offer("*** " + nick + " is taken");
                } else {
                    client.offer("*** you are now " + nick);
                }
            }
            case "/who" -> client.offer("*** here: " + String.join(", ", room.nicks()));
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
        } catch (IOException e) {
            log("cannot write to %s: %s", client.nick, e.getMessage());   // a reset, or we cut it off
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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

    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    public static void main(String[] args) throws Exception {
        int port = parsePort(args);
        try (Server server = start(port)) {
            log("listening on %s:%d; join with: nc localhost %d",
                    server.listener().getInetAddress().getHostAddress(), server.port(), server.port());
            server.acceptor().join();
        } catch (BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        } catch (SocketException e) {
            System.err.println("Cannot listen on port " + port + ": " + e.getMessage());
            System.exit(1);
        }
    }

    /// Reads `--port N` and `--help`. Anything else is a mistake: say what, print usage, exit 2.
    static int parsePort(String[] args) {
        int port = DEFAULT_PORT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--port" -> {
                    if (i + 1 == args.length) usageError("--port needs a number");
                    port = parseNumber(args[++i]);
                    if (port < 0 || port > 65_535) usageError("a port is a number from 0 to 65535, not " + port);
                }
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        return port;
    }

    static int parseNumber(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            usageError("not a number: " + text);
            return -1;
        }
    }

    static void usageError(String problem) {
        System.err.println("error: " + problem);
        System.err.print(USAGE);
        System.exit(2);
    }
}
