///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedInputStream;
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
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/// Chapter 06, exercise 3 · A bounded mailbox — lesson 06's reader, owner and mailbox, cut short.
///
/// Run it: `./jbang exercises/ex06-active-echo/BoundedActiveEcho.java [--port 1234]`; check it:
/// `./jbang labs/Grade.java ex06`.
class BoundedActiveEcho {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_LINE = 8192;
    /// The most messages a mailbox may hold at once.
    static final int MAILBOX_CAPACITY = 100;
    /// The same small receive buffer as lesson 06, so that the kernel hides little.
    static final int RECEIVE_BUFFER = 16 * 1024;
    /// Lesson 06's accept queue: room for a crowd of clients.
    static final int BACKLOG = 1024;

    sealed interface Message permits Data, Closed, Failed {}
    record Data(String line) implements Message {}
    record Closed() implements Message {}
    record Failed(IOException error) implements Message {}

    /// One client: its socket, and the mailbox its owner takes messages from.
    static final class Connection {
        final Socket socket;
        // TODO(exercise): give the mailbox a capacity of MAILBOX_CAPACITY.
        final BlockingQueue<Message> mailbox = new LinkedBlockingQueue<>();
        final AtomicInteger highWater = new AtomicInteger();

        Connection(Socket socket) { this.socket = socket; }

        /// Called by the reader with each message.
        void deliver(Message message) throws InterruptedException {
            // TODO(exercise): when the mailbox is full, the reader must wait here until the owner
            // takes a message, instead of adding one more.
            mailbox.add(message);
            highWater.accumulateAndGet(mailbox.size(), Math::max);
        }

        int mailboxDepth() { return mailbox.size(); }
        int mailboxHighWater() { return highWater.get(); }
    }

    /// While on, owners take no messages, like a busy process.
    static final class PauseSwitch {
        private boolean paused;
        synchronized void set(boolean paused) { this.paused = paused; notifyAll(); }
        synchronized void awaitResumed() throws InterruptedException { while (paused) wait(); }
    }

    record Server(ServerSocket listener, Set<Connection> connections, PauseSwitch owners) implements AutoCloseable {
        int port() { return listener.getLocalPort(); }
        void pauseOwners() { owners.set(true); }
        void resumeOwners() { owners.set(false); }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Connection c : connections) c.socket.close();
        }
    }

    static Server start(int port) throws IOException {
        var listener = new ServerSocket();
        listener.setReceiveBufferSize(RECEIVE_BUFFER);
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        var server = new Server(listener, ConcurrentHashMap.newKeySet(), new PauseSwitch());
        Thread.ofPlatform().name("acceptor").start(() -> acceptLoop(server));
        return server;
    }

    static void acceptLoop(Server server) {
        while (!server.listener().isClosed()) {
            try {
                var connection = new Connection(server.listener().accept());
                server.connections().add(connection);
                Thread owner = Thread.ofVirtual().start(() -> own(connection, server));
                Thread.ofVirtual().start(() -> read(connection, owner));
            } catch (IOException e) {
                if (!server.listener().isClosed()) System.out.println("accept failed: " + e.getMessage());
            }
        }
    }

    /// The reader: read each line as it arrives and deliver it to the owner's mailbox.
    static void read(Connection connection, Thread owner) {
        try {
            InputStream in = new BufferedInputStream(connection.socket.getInputStream());
            try {
                for (String line; (line = readLine(in)) != null; ) connection.deliver(new Data(line));
                connection.deliver(new Closed());
            } catch (IOException e) {
                connection.deliver(new Failed(e));
            }
        } catch (IOException | InterruptedException e) {
            owner.interrupt();                      // the connection is over: stop its owner too
        }
    }

    /// The owner: take one message at a time and echo it.
    static void own(Connection connection, Server server) {
        try (Socket client = connection.socket) {
            OutputStream out = client.getOutputStream();
            while (true) {
                server.owners().awaitResumed();
                switch (connection.mailbox.take()) {
                    case Data(String line) -> out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                    case Closed() -> { return; }
                    case Failed(IOException e) -> {
                        if (!server.listener().isClosed()) System.out.println("connection failed: " + e.getMessage());
                        return;
                    }
                }
            }
        } catch (IOException | InterruptedException e) {
            // The client vanished, or the server is closing.
        } finally {
            server.connections().remove(connection);
        }
    }

    /// Lesson 05's bounded readLine: a line, or null at end of stream.
    static String readLine(InputStream in) throws IOException {
        var line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; line.write(b)) {
            if (b == -1) return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            if (line.size() == MAX_LINE) throw new IOException("line longer than " + MAX_LINE + " bytes");
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    static final String USAGE = "Usage: ./jbang exercises/ex06-active-echo/BoundedActiveEcho.java [--port N]";

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help")) {
            System.out.println(USAGE);
            return;
        }
        int port = args.length == 0 ? DEFAULT_PORT
                : args.length == 2 && args[0].equals("--port") && args[1].matches("\\d{1,5}") ? Integer.parseInt(args[1]) : -1;
        if (port < 0 || port > 65_535) {
            System.err.println(USAGE);
            System.exit(2);
        }
        try (Server server = start(port)) {
            System.out.println("listening on port " + server.port() + "; try: nc -N localhost " + server.port());
            Thread.currentThread().join();
        } catch (BindException e) {
            System.err.println("Port " + port + " is already in use. Is a lesson still running? --port 0 picks a free one.");
            System.exit(1);
        }
    }
}
