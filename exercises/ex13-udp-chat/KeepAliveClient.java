///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/// Chapter 13, exercise 3 · Keep-alive — a Java chat client for lesson 13, whose server forgets a quiet listener.
///
/// Run it against lesson 13: `./jbang exercises/ex13-udp-chat/KeepAliveClient.java [--port 1234]`;
/// check it: `./jbang labs/Grade.java ex13`.
class KeepAliveClient implements AutoCloseable {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_DATAGRAM = 1024;
    /// Lesson 13 forgets a peer silent for 5 minutes (its --silence): a keep-alive well inside that.
    static final Duration DEFAULT_KEEP_ALIVE = Duration.ofSeconds(100);

    final DatagramSocket socket;

    private KeepAliveClient(DatagramSocket socket) {
        this.socket = socket;
    }

    /// Joins the chat at `server`, shows what arrives with `display`, and keeps the membership
    /// alive by saying `/join` every `keepAlive` while the client is open.
    static KeepAliveClient join(InetSocketAddress server, Duration keepAlive, Consumer<String> display) throws IOException {
        var socket = new DatagramSocket();
        socket.connect(server);                     // only the server's datagrams reach us
        Thread.ofPlatform().name("receiver").daemon().start(() -> receiveLoop(socket, display));
        var client = new KeepAliveClient(socket);
        client.say("/join");
        // TODO(exercise): the server forgets a peer it has not heard from for its --silence. Say
        // "/join" again every `keepAlive` until the client is closed, so that a member who only
        // listens is never forgotten.
        return client;
    }

    void say(String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(bytes, bytes.length));
    }

    static void receiveLoop(DatagramSocket socket, Consumer<String> display) {
        byte[] buffer = new byte[MAX_DATAGRAM];
        while (!socket.isClosed()) {
            try {
                var packet = new DatagramPacket(buffer, buffer.length);
                socket.receive(packet);
                display.accept(new String(buffer, 0, packet.getLength(), StandardCharsets.UTF_8).strip());
            } catch (PortUnreachableException e) {
                display.accept("! nothing receives on " + socket.getRemoteSocketAddress() + ": is the server running?");
            } catch (IOException e) {
                if (!socket.isClosed()) display.accept("! receive failed: " + e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        socket.close();                             // the receiver's receive() throws and its loop ends
    }

    static final String USAGE = "Usage: ./jbang exercises/ex13-udp-chat/KeepAliveClient.java [--port N]";

    public static void main(String[] args) throws IOException {
        if (List.of(args).contains("--help")) {
            System.out.println(USAGE);
            return;
        }
        int port = args.length == 0 ? DEFAULT_PORT
                : args.length == 2 && args[0].equals("--port") && args[1].matches("\\d{1,5}") ? Integer.parseInt(args[1]) : -1;
        if (port < 1 || port > 65_535) {
            System.err.println(USAGE);
            System.exit(2);
        }
        var server = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        try (var client = join(server, DEFAULT_KEEP_ALIVE, System.out::println)) {
            System.out.println("joined 127.0.0.1:" + port + " (lesson 13); type messages, /quit leaves");
            var keyboard = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            do {
                line = keyboard.readLine();
                client.say(line == null ? "/quit" : line);
            } while (line != null && !line.strip().equals("/quit"));
        }
    }
}
