import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

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
        // TODO(exercise): this is lesson 21's loop, one address at a time. Start the attempt to
        //  the next address when the one before has had HEAD_START without connecting (or has
        //  failed), keep the first socket that connects, and close the others.
        List<String> failures = new ArrayList<>();
        for (InetSocketAddress address : addresses) {
            var socket = new Socket();
            try {
                socket.connect(address, (int) timeout.toMillis());
                return socket;
            } catch (SocketTimeoutException e) {
                failures.add(address + " timed out");
                socket.close();
            } catch (IOException e) {
                failures.add(address + " " + e.getMessage());
                socket.close();
            }
        }
        throw new IOException("no address accepted: " + String.join("; ", failures));
    }
}
