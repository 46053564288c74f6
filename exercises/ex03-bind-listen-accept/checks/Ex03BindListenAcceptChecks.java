import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/// The checked exercises of chapter 03: the accept queue and TIME_WAIT as this machine's kernel
/// keeps them, and a program that reads the accept queue from the kernel's socket table.
public final class Ex03BindListenAcceptChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final List<Path> TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));

    @Override
    public String title() {
        return "Bind, listen, accept";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts how many clients a backlog of 3 lets in", 10,
                        "the kernel completes handshakes into the accept queue until it holds more than the backlog",
                        Ex03BindListenAcceptChecks::backlog),
                Check.core("predicts whose end waits in TIME_WAIT", 10,
                        "TIME_WAIT is kept by the end that sends the first FIN",
                        Ex03BindListenAcceptChecks::timeWait),
                Check.core("waiting(port) reads the accept queue from /proc/net/tcp", 10,
                        "find the LISTEN (0A) line whose local address ends in the port in hex; rx_queue is the queue",
                        Ex03BindListenAcceptChecks::acceptQueue));
    }

    static void backlog() throws IOException {
        long predicted = Answers.number(FILE, "connected-with-backlog-3");
        var clients = new ArrayList<Socket>();
        try (var listener = new ServerSocket(0, 3, LOOPBACK)) {
            int connected = 0;
            for (int i = 0; i < 6; i++) {
                var client = new Socket();
                clients.add(client);
                try {
                    client.connect(new InetSocketAddress(LOOPBACK, listener.getLocalPort()), 1_000);
                    connected++;
                } catch (IOException e) {
                    // Timed out: the queue was full and the kernel dropped the SYN.
                }
            }
            Expect.that(predicted == connected, "you predicted " + predicted + "; with backlog 3 and nobody accepting, "
                    + connected + " of 6 clients connected (the others timed out after 1 s)");
        } finally {
            for (Socket client : clients) {
                client.close();
            }
        }
    }

    static void timeWait() throws IOException {
        String predicted = Answers.prediction(FILE, "time-wait-side");
        Expect.that(predicted.equals("server") || predicted.equals("client"), "write server or client after time-wait-side:, not " + predicted);
        try (var listener = new ServerSocket(0, 10, LOOPBACK)) {
            listener.setSoTimeout(3_000);
            var client = new Socket();
            client.connect(new InetSocketAddress(LOOPBACK, listener.getLocalPort()), 3_000);
            client.setSoTimeout(3_000);
            int serverPort = listener.getLocalPort();
            int clientPort = client.getLocalPort();
            listener.accept().close();                    // the server closes first
            Expect.equal(-1, client.getInputStream().read(), "what the client read after the server closed");
            client.close();                               // then the client
            Expect.eventually(Duration.ofSeconds(3), () -> timeWaitSide(serverPort, clientPort) != null,
                    "no TIME_WAIT between ports " + serverPort + " and " + clientPort + " in /proc/net/tcp");
            String side = timeWaitSide(serverPort, clientPort);
            Expect.that(predicted.equals(side), "you predicted " + predicted + "; the server closed first, and the kernel keeps the "
                    + side + "'s end (local port " + (side.equals("server") ? serverPort : clientPort) + ") in TIME_WAIT");
        }
    }

    /// Which end of the connection between the two ports is in TIME_WAIT (state 06), or null.
    private static String timeWaitSide(int serverPort, int clientPort) {
        for (String[] fields : sockets()) {
            if (fields[3].equals("06")) {
                int local = port(fields[1]);
                int remote = port(fields[2]);
                if (local == serverPort && remote == clientPort) {
                    return "server";
                }
                if (local == clientPort && remote == serverPort) {
                    return "client";
                }
            }
        }
        return null;
    }

    static void acceptQueue() throws IOException {
        var clients = new ArrayList<Socket>();
        var listener = new ServerSocket(0, 10, LOOPBACK);
        try {
            listener.setSoTimeout(3_000);
            int port = listener.getLocalPort();
            expectWaiting(port, 0, "a listening socket nobody connected to");
            for (int i = 0; i < 3; i++) {
                var client = new Socket();
                clients.add(client);
                client.connect(new InetSocketAddress(LOOPBACK, port), 3_000);
            }
            expectWaiting(port, 3, "three clients connected, none accepted");
            listener.accept().close();
            expectWaiting(port, 2, "after one accept");
            listener.close();
            Expect.equal(-1, AcceptQueue.waiting(port), "waiting(" + port + ") after the listening socket closed");
        } finally {
            listener.close();
            for (Socket client : clients) {
                client.close();
            }
        }
    }

    private static void expectWaiting(int port, int expected, String situation) throws IOException {
        int[] last = {AcceptQueue.waiting(port)};
        Expect.eventually(Duration.ofSeconds(3), () -> {
            try {
                return (last[0] = AcceptQueue.waiting(port)) == expected;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, () -> "waiting(" + port + ") with " + situation + ": expected " + expected + ", got " + last[0]
                + " (the kernel's own count: " + kernelCount(port) + ")");
    }

    private static String kernelCount(int port) {
        for (String[] fields : sockets()) {
            if (fields[3].equals("0A") && port(fields[1]) == port) {
                return String.valueOf(Integer.parseInt(fields[4].substring(fields[4].indexOf(':') + 1), 16));
            }
        }
        return "no socket listens there";
    }

    private static List<String[]> sockets() {
        var all = new ArrayList<String[]>();
        for (Path table : TABLES) {
            try {
                if (Files.isReadable(table)) {
                    Files.readAllLines(table).stream().skip(1).map(line -> line.trim().split("\\s+")).forEach(all::add);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return all;
    }

    private static int port(String address) {
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1), 16);
    }
}
