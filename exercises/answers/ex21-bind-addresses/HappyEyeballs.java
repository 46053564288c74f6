import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/// Chapter 21, exercise 3: lesson 21's client tries a name's addresses one after another, giving
/// each the whole timeout; an address that never answers costs every user 3 s. "Happy Eyeballs"
/// (RFC 8305) starts the next attempt after a short head start instead, and keeps whichever
/// connects first.
///
/// Check it: `./jbang labs/Grade.java ex21`.
class HappyEyeballs {
    /// How long an attempt runs alone before the next address is tried beside it.
    static final Duration HEAD_START = Duration.ofMillis(250);

    /// Connects to one of `addresses`, preferring earlier ones, each attempt given `timeout`;
    /// returns the first socket that connects (closing any other that connects later), or throws
    /// an IOException naming every failure.
    static Socket connect(List<InetSocketAddress> addresses, Duration timeout) throws IOException {
        // Each attempt runs on a thread of its own and reports here: a socket, or why it failed.
        var reports = new LinkedBlockingQueue<Object>();
        var decided = new AtomicBoolean();
        List<String> failures = new ArrayList<>();
        int started = 0, finished = 0;
        while (finished < addresses.size()) {
            if (started == finished && started < addresses.size()) {
                attempt(addresses.get(started++), timeout, decided, reports);     // none running: start one
            }
            Object report;
            try {
                // Give the running attempts a head start, then start the next one beside them.
                report = reports.poll(started < addresses.size() ? HEAD_START.toMillis() : timeout.toMillis() + 1_000,
                        TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while connecting", e);
            }
            if (report == null) {
                if (started < addresses.size()) attempt(addresses.get(started++), timeout, decided, reports);
                continue;
            }
            finished++;
            if (report instanceof Socket socket) return socket;   // the first to connect; later ones close themselves
            failures.add((String) report);
        }
        decided.set(true);      // from now on, a late success closes itself
        throw new IOException("no address accepted: " + String.join("; ", failures));
    }

    /// One attempt on a virtual thread: the first to connect wins; any later one closes its socket.
    static void attempt(InetSocketAddress address, Duration timeout, AtomicBoolean decided,
            LinkedBlockingQueue<Object> reports) {
        Thread.ofVirtual().start(() -> {
            var socket = new Socket();
            try {
                socket.connect(address, (int) timeout.toMillis());
                if (decided.compareAndSet(false, true)) reports.add(socket);
                else socket.close();
            } catch (SocketTimeoutException e) {
                reports.add(address + " timed out");
                close(socket);
            } catch (IOException e) {
                reports.add(address + " " + e.getMessage());
                close(socket);
            }
        });
    }

    static void close(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // Already closed.
        }
    }
}
