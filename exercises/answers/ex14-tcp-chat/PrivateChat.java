import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/// Chapter 14, exercise 3: a small chat server cut from lesson 14. A client's first line is its
/// name; every later line goes to everyone else as `NAME: text`. Add private messages.
///
/// Run it: `java PrivateChat.java --port 1234`, then `nc -N localhost 1234` from three terminals.
/// Check it: `./jbang labs/Grade.java ex14`.
class PrivateChat {

    /// One member: a name and a socket. Writes go straight to the socket under the member's lock;
    /// lesson 14 queues them instead, so that a member who stops reading holds up nobody.
    record Member(String name, Socket socket) {
        void send(String line) {
            synchronized (this) {
                try {
                    OutputStream out = socket.getOutputStream();
                    out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } catch (IOException e) {
                    System.out.println(name + " is gone: " + e.getMessage());
                }
            }
        }
    }

    record Server(ServerSocket listener, Map<String, Member> members) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Member member : members.values()) member.socket().close();
        }
    }

    static Server start(int port) throws IOException {
        // Bind to loopback: only this machine can join.
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        var server = new Server(listener, new ConcurrentHashMap<>());
        Thread.ofPlatform().name("acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket socket = listener.accept();
                    Thread.ofVirtual().start(() -> serve(server.members(), socket));
                } catch (IOException e) {
                    if (!listener.isClosed()) System.out.println("accept failed: " + e.getMessage());
                }
            }
        });
        return server;
    }

    static void serve(Map<String, Member> members, Socket socket) {
        try (socket) {
            var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String name = in.readLine();
            if (name == null || name.isBlank() || members.containsKey(name)) return;
            var me = new Member(name, socket);
            members.put(name, me);
            me.send("*** welcome, " + name);
            try {
                for (String line; (line = in.readLine()) != null; ) deliver(members, me, line);
            } finally {
                members.remove(name);
            }
        } catch (IOException e) {
            System.out.println("connection ended: " + e.getMessage());
        }
    }

    /// Passes one line on.
    static void deliver(Map<String, Member> members, Member from, String line) {
        // A private message: "/msg NAME text" goes to NAME alone.
        String[] words = line.split(" +", 3);
        if (words[0].equals("/msg") && words.length == 3) {
            Member to = members.get(words[1]);
            if (to == null) from.send("*** no " + words[1] + " here");
            else to.send(from.name() + " (private): " + words[2]);
            return;
        }
        for (Member to : members.values()) {
            if (to != from) to.send(from.name() + ": " + line);
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2 || !args[0].equals("--port") || !args[1].matches("\\d{1,5}")) {
            System.err.println("Usage: java PrivateChat.java --port PORT");
            System.exit(2);
        }
        Server server = start(Integer.parseInt(args[1]));
        System.out.println("chat on port " + server.port() + "; try: nc -N localhost " + server.port());
    }
}
