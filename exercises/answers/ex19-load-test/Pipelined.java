import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/// Chapter 19, exercise 1: lesson 19's connections each wait for one reply before they send the
/// next message, so one connection never does more than 1 ÷ round trip messages a second. Keep
/// several messages in flight on one connection instead.
///
/// Run it against lesson 05: `java Pipelined.java 1234 100 8`. Check it: `./jbang labs/Grade.java ex19`.
class Pipelined {

    /// Sends `messages` lines `msg 0` … `msg N-1` over one connection to an echo server on
    /// loopback, with at most `inFlight` of them unanswered at any time, and returns the replies
    /// in the order they came.
    static List<String> run(int port, int messages, int inFlight) throws IOException {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 3_000);
            socket.setSoTimeout(10_000);
            socket.setTcpNoDelay(true);
            OutputStream out = socket.getOutputStream();
            var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            var replies = new ArrayList<String>();
            // Fill the window, then send one more line for each reply, until all are sent.
            int sent = 0;
            while (sent < Math.min(inFlight, messages)) {
                out.write(("msg " + sent++ + "\n").getBytes(StandardCharsets.UTF_8));
            }
            while (replies.size() < messages) {
                String reply = in.readLine();
                if (reply == null) throw new IOException("the server closed after " + replies.size() + " replies");
                replies.add(reply);
                if (sent < messages) out.write(("msg " + sent++ + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return replies;
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 3 || !String.join(" ", args).matches("\\d{1,5} \\d{1,7} \\d{1,4}")) {
            System.err.println("Usage: java Pipelined.java PORT MESSAGES IN_FLIGHT");
            System.exit(2);
        }
        long start = System.nanoTime();
        List<String> replies = run(Integer.parseInt(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]));
        System.out.printf("%d replies in %d ms%n", replies.size(), (System.nanoTime() - start) / 1_000_000);
    }
}
