import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/// The checked exercises of chapter 01: two predictions compared with what this machine's
/// kernel does, and a client that binds its own port.
public final class Ex01SocketsVsPortsChecks implements Lab {

    static final String FILE = "predictions.txt";
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Override
    public String title() {
        return "Sockets and ports";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts connect to a closed port", 10,
                        "with nothing listening, the kernel answers the SYN with a RST at once: lesson 02 shows it"
                                + " (\"connect() where nothing listens\")",
                        Ex01SocketsVsPortsChecks::closedPort),
                Check.core("predicts how many sockets share a server's port", 10,
                        "accept() returns a new socket for each client, on the listening socket's port: count them all",
                        Ex01SocketsVsPortsChecks::socketsOnOnePort),
                Check.core("connects from one local port to two servers at once", 10,
                        "bind the socket before connect; a second socket may bind the same port only if each asks first (setReuseAddress)",
                        Ex01SocketsVsPortsChecks::samePortTwoServers));
    }

    static void closedPort() throws IOException {
        String predicted = Answers.prediction(FILE, "closed-port-exception");
        // Find a port where nothing listens: bind one, note its number, close it.
        int port = freePort();
        String observed;
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(LOOPBACK, port), 3_000);
            observed = "no exception (something listens there)";
        } catch (IOException e) {
            observed = e.getClass().getSimpleName() + " (" + e.getMessage() + ")";
        }
        Expect.that(observed.startsWith(predicted + " "), "you predicted " + predicted + "; connect to 127.0.0.1:" + port + " threw " + observed);
    }

    static void socketsOnOnePort() throws IOException {
        long predicted = Answers.number(FILE, "sockets-with-local-port");
        Path table = Path.of("/proc/net/tcp");
        Expect.that(Files.isReadable(table), "this check reads the kernel's socket table, /proc/net/tcp (Linux only)");
        var open = new ArrayList<Socket>();
        try (var listener = new ServerSocket(0, 10, LOOPBACK)) {
            listener.setSoTimeout(3_000);
            for (int i = 0; i < 3; i++) {
                var client = new Socket();
                open.add(client);
                client.connect(new InetSocketAddress(LOOPBACK, listener.getLocalPort()), 3_000);
                open.add(listener.accept());
            }
            int port = listener.getLocalPort();
            String hexPort = String.format(":%04X", port);
            long count = 0;
            // Java's sockets are IPv6 ones where the machine has IPv6: they are listed in tcp6.
            for (Path file : List.of(table, Path.of("/proc/net/tcp6"))) {
                if (Files.isReadable(file)) {
                    count += Files.readAllLines(file).stream().skip(1)
                            .map(line -> line.trim().split("\\s+"))
                            // Open sockets only (01 ESTABLISHED, 0A LISTEN): not an old TIME_WAIT on that port.
                            .filter(fields -> fields[1].endsWith(hexPort) && (fields[3].equals("01") || fields[3].equals("0A")))
                            .count();
                }
            }
            Expect.that(predicted == count, "you predicted " + predicted + "; with one listening socket on port " + port
                    + " and three clients accepted, /proc/net/tcp and tcp6 list " + count + " sockets whose local port is " + port);
        } finally {
            for (Socket s : open) {
                s.close();
            }
        }
    }

    static void samePortTwoServers() throws IOException {
        int localPort = freePort();
        try (var first = new ServerSocket(0, 10, LOOPBACK); var second = new ServerSocket(0, 10, LOOPBACK)) {
            first.setSoTimeout(3_000);
            second.setSoTimeout(3_000);
            try (Socket a = BoundClient.connectFrom(localPort, first.getLocalPort())) {
                Expect.that(a.getLocalPort() == localPort, "connectFrom(" + localPort + ", " + first.getLocalPort()
                        + ") connected from port " + a.getLocalPort() + ", not " + localPort + ": the kernel chose an ephemeral port");
                Socket b;
                try {
                    b = BoundClient.connectFrom(localPort, second.getLocalPort());
                } catch (IOException e) {
                    throw new AssertionError("with a connection from port " + localPort + " to the first server open, connectFrom("
                            + localPort + ", " + second.getLocalPort() + ") threw " + e, e);
                }
                try (b; Socket acceptedA = first.accept(); Socket acceptedB = second.accept()) {
                    Expect.that(b.getLocalPort() == localPort, "the second socket connected from port " + b.getLocalPort() + ", not " + localPort);
                    // Both connections carry bytes: each is its own 4-tuple.
                    a.getOutputStream().write('a');
                    b.getOutputStream().write('b');
                    acceptedA.setSoTimeout(3_000);
                    acceptedB.setSoTimeout(3_000);
                    Expect.equal('a', (char) acceptedA.getInputStream().read(), "the byte the first server read");
                    Expect.equal('b', (char) acceptedB.getInputStream().read(), "the byte the second server read");
                    Expect.equal(localPort, acceptedB.getPort(), "the client port the second server sees");
                }
            }
        }
    }

    private static int freePort() throws IOException {
        try (var probe = new ServerSocket(0)) {
            return probe.getLocalPort();
        }
    }
}
