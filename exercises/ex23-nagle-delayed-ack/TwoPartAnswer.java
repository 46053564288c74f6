///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/// Exercise 23.3 · An answer in two parts: a status line, then a body line, each a small write.
/// The client sends each request in one write and waits for both lines.
///
/// Run it: `./jbang exercises/ex23-nagle-delayed-ack/TwoPartAnswer.java`; check it:
/// `./jbang labs/Grade.java ex23`.
class TwoPartAnswer {

    static final String STATUS = "200 ok\n", BODY = "item 42: a blue mug\n";

    /// Serves one connection: for each request line, the status line and then the body line.
    static void serve(Socket client) throws IOException {
        var requests = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = client.getOutputStream();
        // TODO(exercise): each answer takes about 40 ms to arrive whole. Make it arrive at once,
        // changing only this side of the connection.
        while (requests.readLine() != null) {
            out.write(STATUS.getBytes(StandardCharsets.UTF_8));
            out.write(BODY.getBytes(StandardCharsets.UTF_8));
        }
    }

    public static void main(String[] args) throws Exception {
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                try (Socket client = listener.accept()) {
                    serve(client);
                } catch (IOException e) {
                    System.out.println("server: " + e.getMessage());
                }
            });
            try (var socket = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
                socket.setSoTimeout(5_000);
                var answers = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                List<Long> micros = new ArrayList<>();
                for (int i = 0; i < 15; i++) {
                    long start = System.nanoTime();
                    socket.getOutputStream().write("GET /item/42\n".getBytes(StandardCharsets.UTF_8));
                    String status = answers.readLine(), body = answers.readLine();
                    micros.add((System.nanoTime() - start) / 1_000);
                    System.out.printf("request %d: %s, %s, after %.1f ms%n", i + 1, status, body, micros.getLast() / 1e3);
                }
                System.out.printf("median: %.1f ms%n", micros.stream().sorted().toList().get(micros.size() / 2) / 1e3);
            }
        }
    }
}
