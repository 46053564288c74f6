import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;

/// The server process chapter 18's checks signal and kill: it listens on a loopback port, says
/// `ready PORT`, and accepts connections (saying `accepted N`), reading nothing.
/// `hook` adds a shutdown hook that prints a line and returns.
public final class Ex18Child {
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("hook")) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("hook: draining, then returning")));
        }
        try (var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            System.out.println("ready " + listener.getLocalPort());
            var kept = new ArrayList<Socket>();
            while (true) {
                kept.add(listener.accept());
                System.out.println("accepted " + kept.size());
            }
        }
    }
}
