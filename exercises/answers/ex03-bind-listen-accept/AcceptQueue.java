///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/// Exercise 03.3 · The accept queue, read from the kernel's socket table: connections the kernel
/// completed and nobody has accepted yet.
///
/// Run it: `./jbang exercises/ex03-bind-listen-accept/AcceptQueue.java`; check it:
/// `./jbang labs/Grade.java ex03`.
class AcceptQueue {

    /// The kernel's TCP socket tables: one line a socket, fields separated by spaces.
    static final List<Path> TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));

    /// How many connections wait to be accepted on the socket listening on `port`; -1 when none listens there.
    static int waiting(int port) throws IOException {
        String localPort = String.format(":%04X", port);
        for (Path table : TABLES) {
            if (!Files.isReadable(table)) {
                continue;
            }
            List<String> lines = Files.readAllLines(table);
            // Skip the heading; fields: sl local_address rem_address st tx_queue:rx_queue ...
            for (String line : lines.subList(1, lines.size())) {
                String[] fields = line.trim().split("\\s+");
                if (fields[1].endsWith(localPort) && fields[3].equals("0A")) {
                    return Integer.parseInt(fields[4].substring(fields[4].indexOf(':') + 1), 16);
                }
            }
        }
        return -1;
    }

    public static void main(String[] args) throws IOException {
        try (var listener = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            int port = listener.getLocalPort();
            System.out.println("listening on port " + port + ": " + waiting(port) + " waiting");
            try (var a = new Socket(); var b = new Socket()) {
                a.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 3_000);
                b.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 3_000);
                System.out.println("two clients connected: " + waiting(port) + " waiting");
            }
        }
    }
}
