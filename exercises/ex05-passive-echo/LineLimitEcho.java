///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/// Exercise 05.3 · Lesson 05's passive line echo, cut down, with a limit on a line's length that
/// its `readLine` has yet to keep.
///
/// Run it: `./jbang exercises/ex05-passive-echo/LineLimitEcho.java [--port 1234]`; check it:
/// `./jbang labs/Grade.java ex05`.
class LineLimitEcho {
    /// The longest line the server accepts, in bytes, not counting the newline.
    static final int MAX_LINE = 16;
    /// Connections the kernel may queue before accept() takes them (lesson 05 explains 1024).
    static final int BACKLOG = 1024;

    /// A running server: the port it got, and `close()` to stop accepting.
    record Server(ServerSocket listener) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    static Server start(int port) throws IOException {
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        Thread.ofPlatform().name("acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket client = listener.accept();
                    Thread.ofVirtual().start(() -> serve(client));
                } catch (IOException e) {
                    if (!listener.isClosed()) System.out.println("accept failed: " + e.getMessage());
                }
            }
        });
        return new Server(listener);
    }

    static void serve(Socket client) {
        try (client) {
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = client.getOutputStream();
            try {
                for (String line; (line = readLine(in, MAX_LINE)) != null; ) {
                    out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            } catch (LineTooLongException e) {
                System.out.println("refused: " + e.getMessage());
                refuse(client, "ERROR " + e.getMessage() + "; closing");
            }
        } catch (IOException e) {
            System.out.println("connection ended: " + e.getMessage());
        }
    }

    /// Reads bytes up to the next `\n` and returns them as text without it, or null at end of
    /// stream; refuses a line longer than `max` bytes before it can fill memory.
    static String readLine(InputStream in, int max) throws IOException {
        var line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b == -1) {
                return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            }
            if (b == '\n') {
                return line.toString(StandardCharsets.UTF_8);
            }
            // TODO(exercise): a line may be at most max bytes: refuse a longer one with a
            // LineTooLongException, without waiting for its newline.
            line.write(b);
        }
    }

    /// Sends a last line, then FIN, and reads what the client still sends for a while before
    /// closing, so that a reset does not destroy the line (lesson 05 says why).
    static void refuse(Socket client, String message) throws IOException {
        client.getOutputStream().write((message + "\n").getBytes(StandardCharsets.UTF_8));
        client.shutdownOutput();
        client.setSoTimeout(2_000);
        try {
            client.getInputStream().skip(1 << 20);
        } catch (SocketTimeoutException e) {
            // The client went quiet without closing: we waited long enough.
        }
    }

    static final class LineTooLongException extends IOException {
        LineTooLongException(String message) {
            super(message);
        }
    }

    public static void main(String[] args) throws IOException {
        int port = 1234;
        if (args.length == 2 && args[0].equals("--port") && args[1].matches("\\d{1,5}")) {
            port = Integer.parseInt(args[1]);
        } else if (args.length != 0) {
            System.err.println("Usage: ./jbang exercises/ex05-passive-echo/LineLimitEcho.java [--port N]");
            System.exit(2);
        }
        var server = start(port);
        System.out.println("listening on 127.0.0.1:" + server.port() + "; lines of at most " + MAX_LINE + " bytes");
    }
}
