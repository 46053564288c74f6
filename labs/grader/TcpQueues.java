package grading;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/// How many bytes the kernel holds for one TCP connection on this machine, read from Linux's
/// /proc/net/tcp: what waits in the send queue (not yet acknowledged by the peer) and in the
/// receive queue (not yet read by the program).
public final class TcpQueues {

    /// The two queues of one end of a connection, in bytes.
    public record Queues(long send, long receive) {
    }

    private TcpQueues() {
    }

    /// The queues of the socket whose local port is `localPort` and remote port `remotePort`;
    /// empty where /proc/net/tcp does not exist (not Linux).
    public static Optional<Queues> of(int localPort, int remotePort) throws IOException {
        for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            Path path = Path.of(table);
            if (!Files.isReadable(path)) {
                continue;
            }
            for (String line : Files.readAllLines(path)) {
                String[] fields = line.trim().split("\\s+");
                if (fields.length < 5 || !fields[1].contains(":")) {
                    continue;
                }
                int local = Integer.parseInt(fields[1].substring(fields[1].lastIndexOf(':') + 1), 16);
                int remote = Integer.parseInt(fields[2].substring(fields[2].lastIndexOf(':') + 1), 16);
                if (local == localPort && remote == remotePort) {
                    String[] queues = fields[4].split(":");
                    return Optional.of(new Queues(Long.parseLong(queues[0], 16), Long.parseLong(queues[1], 16)));
                }
            }
        }
        return Optional.empty();
    }
}
