///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/// Chapter 12, exercise 4 · Sequence numbers — lesson 12's client, which can be fooled by a late reply.
///
/// Run it against lesson 12: `./jbang exercises/ex12-udp-echo/SequencedClient.java [--port 1234]`;
/// check it: `./jbang labs/Grade.java ex12`.
class SequencedClient {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_DATAGRAM = 1024;

    private final DatagramSocket socket;
    private final Duration replyTimeout;

    /// A client of the echo server `socket` is connected to; it waits `replyTimeout` for each reply.
    SequencedClient(DatagramSocket socket, Duration replyTimeout) {
        this.socket = socket;
        this.replyTimeout = replyTimeout;
    }

    /// Sends `text` in one datagram and returns the server's echo of it, or null when no echo of
    /// it came within the reply timeout.
    String ask(String text) throws IOException {
        // TODO(exercise): a reply that comes after its timeout is still delivered, later: it then
        // passes for the reply to the next request. Put a number before each request's text
        // ("7 hello"; the server echoes it), return only the reply that carries the number of
        // this request, without the number, and drop any other.
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(bytes, bytes.length));
        socket.setSoTimeout((int) replyTimeout.toMillis());
        var packet = new DatagramPacket(new byte[MAX_DATAGRAM], MAX_DATAGRAM);
        try {
            socket.receive(packet);
        } catch (SocketTimeoutException e) {
            return null;
        }
        return new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8);
    }

    static final String USAGE = "Usage: ./jbang exercises/ex12-udp-echo/SequencedClient.java [--port N]";

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
        try (var socket = new DatagramSocket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            var client = new SequencedClient(socket, Duration.ofSeconds(2));
            System.out.println("talking to 127.0.0.1:" + port + " (lesson 12); type lines, Ctrl-D ends");
            var keyboard = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = keyboard.readLine()) != null; ) {
                String reply = client.ask(line);
                System.out.println(reply == null ? "no reply within 2 s" : "reply: " + reply);
            }
        }
    }
}
