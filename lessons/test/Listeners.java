import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/// What the kernel says about a listening socket, from `ss`: the backlog the server passed to
/// listen() (capped by net.core.somaxconn) is the Send-Q column of a listener.
final class Listeners {
    private Listeners() {
    }

    /// The backlog of the TCP listener on `port`, as the kernel applied it.
    static int backlog(int port) throws IOException, InterruptedException {
        Process ss = new ProcessBuilder("ss", "-Htln", "sport = :" + port).redirectErrorStream(true).start();
        if (!ss.waitFor(10, TimeUnit.SECONDS)) {
            ss.destroyForcibly();
            throw new IOException("ss did not answer within 10 s");
        }
        String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        // State Recv-Q Send-Q Local:Port Peer:Port
        String[] columns = out.lines().findFirst().orElseThrow(() -> new IOException("no listener on " + port))
                .trim().split("\\s+");
        return Integer.parseInt(columns[2]);
    }

    /// The kernel's ceiling for any backlog.
    static int somaxconn() throws IOException {
        // Not Files.readString: on JDK 25 it returned "4" for this file, whose size /proc reports as 0.
        return Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/net/core/somaxconn")).getFirst().strip());
    }
}
