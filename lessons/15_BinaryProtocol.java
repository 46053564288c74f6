///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/// Lesson 15 · Binary protocol — a length prefix says where each message ends; check it before you trust it.
///
/// Run it: `./jbang lessons/15_BinaryProtocol.java [--port 1234]`; talk to it: `--help` prints a `printf | nc -N` line.
/// Chapter: docs/chapters/15-binary-protocol.adoc · Test: lessons/test/BinaryProtocolTest.java ·
/// Lab: labs/04-framing-codec
/// Not here: non-blocking reads into a buffer (lesson 08, exercise 1); frame deadlines (an exercise); TLS (lesson 16).
class BinaryProtocol {
    static final int DEFAULT_PORT = 1234;
    /// Connections the kernel may hold before accept() takes them: 1024, as lesson 05 explains, not the JDK's 50.
    static final int BACKLOG = 1024;
    /// The largest frame body accepted (type + id + payload), in bytes; the header is type and id.
    static final int MAX_FRAME = 64 * 1024, HEADER = 1 + 4;
    static final int TEXT = 1, ERROR = 2;

    // tag::frame[]
    /// One message. On the wire: a 4-byte length (of everything after it), then the body:
    /// 1 byte type, 4 bytes id, the payload. Python: `struct.pack(">IBI", 5 + len(p), type, id) + p`.
    record Frame(int type, int id, byte[] payload) {
        @Override
        public String toString() {
            String kind = switch (type) { case TEXT -> "TEXT"; case ERROR -> "ERROR"; default -> "type " + type; };
            String text = new String(payload, StandardCharsets.UTF_8);
            return "#%s %s \"%s\"".formatted(Integer.toUnsignedString(id), kind, text);
        }
    }
    // end::frame[]

    // tag::write[]
    /// Writes a frame with DataOutputStream, which is always big-endian ("network byte order").
    static void write(DataOutputStream out, Frame frame) throws IOException {
        out.writeInt(HEADER + frame.payload().length);  // the length prefix
        out.writeByte(frame.type());
        out.writeInt(frame.id());
        out.write(frame.payload());
    }
    // end::write[]

    // tag::read[]
    /// Reads one frame, or returns null when the peer closed cleanly between frames.
    static Frame read(InputStream in) throws IOException {
        byte[] prefix = new byte[4];
        int got = readFully(in, prefix);
        if (got == 0) return null;
        if (got < 4) throw new EOFException("peer closed inside a length prefix: got %d of 4 bytes, %d missing"
                .formatted(got, 4 - got));
        long length = Integer.toUnsignedLong(ByteBuffer.wrap(prefix).getInt());
        // Check the length BEFORE allocating: it came from the network and can say anything.
        if (length > MAX_FRAME) throw new ProtocolException("frame of %d bytes refused: the limit is %d"
                .formatted(length, MAX_FRAME));
        if (length < HEADER) throw new ProtocolException("frame of %d bytes refused: shorter than its %d-byte header"
                .formatted(length, HEADER));
        byte[] body = new byte[(int) length];
        got = readFully(in, body);
        if (got < body.length) throw new EOFException("peer closed inside a frame: got %d of %d bytes, %d missing"
                .formatted(got, body.length, body.length - got));
        // Decode the fields ourselves. Never hand network bytes to ObjectInputStream (see the chapter).
        ByteBuffer b = ByteBuffer.wrap(body);
        return new Frame(b.get() & 0xff, b.getInt(), Arrays.copyOfRange(body, HEADER, body.length));
    }

    /// Reads until `buffer` is full or the stream ends, and returns how many bytes came. One read()
    /// returns whatever the kernel has: a single byte of a frame, or the ends of three of them.
    static int readFully(InputStream in, byte[] buffer) throws IOException {
        int got = 0;
        while (got < buffer.length) {
            int n = in.read(buffer, got, buffer.length - got);
            if (n == -1) break;
            got += n;
        }
        return got;
    }
    // end::read[]

    /// A running server: the port it got, and `close()` to stop it and every connection it holds.
    record Server(ServerSocket listener, Set<Socket> connections, Thread acceptor) implements AutoCloseable {
        int port() { return listener.getLocalPort(); }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket connection : connections) connection.close();
        }
    }

    static Server start(int port) throws IOException {
        // Bind to loopback: only this machine can connect.
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        Set<Socket> connections = ConcurrentHashMap.newKeySet();
        Thread acceptor = Thread.ofPlatform().name("acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket client = listener.accept();
                    connections.add(client);
                    log("accepted %s", client.getRemoteSocketAddress());
                    Thread.ofVirtual().name("client " + client.getPort()).start(() -> serve(client, connections));
                } catch (IOException e) {
                    if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
                }
            }
        });
        return new Server(listener, connections, acceptor);
    }

    // tag::serve[]
    static void serve(Socket client, Set<Socket> connections) {
        try (client) {
            InputStream in = new BufferedInputStream(client.getInputStream());
            var out = new DataOutputStream(new BufferedOutputStream(client.getOutputStream()));
            try {
                for (Frame frame; (frame = read(in)) != null; ) {
                    trace("frame %s (%d payload bytes); echoing it", frame, frame.payload().length);
                    write(out, frame);
                    out.flush();
                }
                log("end of stream between frames: the client is done");
            } catch (ProtocolException | EOFException e) {
                // Tell the client why, then close: after a bad frame there is no telling where the next starts.
                log("refused: %s", e.getMessage());
                write(out, new Frame(ERROR, 0, e.getMessage().getBytes(StandardCharsets.UTF_8)));
                out.flush();
                // Send FIN, then drain what comes for 2 s at most: unread bytes would make close() send RST.
                client.shutdownOutput();
                client.setSoTimeout(2_000);
                client.getInputStream().skip(1 << 20);
            }
        } catch (IOException e) {
            log("connection ended: %s", e.getMessage());
        } finally {
            connections.remove(client);
        }
    }
    // end::serve[]

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/15_BinaryProtocol.java [--port N] [--help]

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal (one TEXT frame, id 1, "hello"; the echo comes back as hex):
              printf '\\x00\\x00\\x00\\x0a\\x01\\x00\\x00\\x00\\x01hello' | nc -N localhost 1234 | hexdump -C
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try (Server server = start(port)) {
            log("listening on %s (frames up to %d bytes)", server.listener().getLocalSocketAddress(), MAX_FRAME);
            server.acceptor().join();
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
        }
    }

    /// Prints a line of narration: the time, the thread, what happens.
    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    /// Narration for every message. `-Dsocketlab.quiet=true` turns it off for the benchmark.
    static void trace(String format, Object... args) {
        if (!QUIET) log(format, args);
    }

    static final boolean QUIET = Boolean.getBoolean("socketlab.quiet");

    /// `--help`, options `--name value` (or `--name=value`) and flags `--name`. A mistake prints what
    /// is wrong and the usage, and exits 2; a port in use prints one line, and exits 1.
    record CommandLine(String usage, List<String> args) {
        CommandLine(String usage, String[] args) {
            this(usage, new ArrayList<>());
            // --port=1234 becomes --port 1234; a split limit of 1 leaves any other argument whole.
            for (String arg : args) this.args.addAll(List.of(arg.split("=", arg.startsWith("--") ? 2 : 1)));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        int port(int otherwise) { return number("--port", otherwise, 0, 65_535); }

        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        String text(String name, String otherwise) {
            int at = args.indexOf(name);
            if (at == -1) return otherwise;
            if (at + 1 == args.size()) throw fail(name + " needs a value");
            args.remove(at);
            return args.remove(at);
        }

        boolean flag(String name) { return args.remove(name); }

        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.print("error: " + problem + "\n" + usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
