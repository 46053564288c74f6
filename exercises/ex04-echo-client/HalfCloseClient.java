///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/// Exercise 04.1 · A client for a server that answers only at the end of the client's input, cut
/// from lesson 04: send everything, say "no more from me", read the reply to end of stream.
///
/// Run it: `./jbang exercises/ex04-echo-client/HalfCloseClient.java` (against a sorting server
/// of its own); check it: `./jbang labs/Grade.java ex04`.
class HalfCloseClient {

    /// How long the client waits for the reply before it gives up.
    static final int REPLY_TIMEOUT_MS = 3_000;

    /// Sends `text` to 127.0.0.1:port, and returns all the server replied until end of stream.
    static String sendAll(int port, String text) throws IOException {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), REPLY_TIMEOUT_MS);
            socket.setSoTimeout(REPLY_TIMEOUT_MS);
            socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            // TODO(exercise): the server reads until end of stream before it answers; tell it
            // that no more is coming, without closing the socket (the reply has yet to come).
            byte[] reply = socket.getInputStream().readAllBytes();
            return new String(reply, StandardCharsets.UTF_8);
        }
    }

    public static void main(String[] args) throws IOException {
        try (var server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> sortOne(server));
            System.out.print(sendAll(server.getLocalPort(), "pear\napple\nfig\n"));
        }
    }

    /// A server that reads everything, then answers with the lines sorted, as `sort` does.
    static void sortOne(ServerSocket server) {
        try (Socket client = server.accept()) {
            String all = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String sorted = String.join("\n", all.lines().sorted().toList()) + "\n";
            client.getOutputStream().write(sorted.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            System.out.println("sort server: " + e.getMessage());
        }
    }
}
