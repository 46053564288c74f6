///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/// Lesson 13 · UDP chat — the server knows its peers only from the datagrams they send, and relays.
///
/// Run it: `./jbang lessons/13_UdpChat.java [--port 1234] [--silence SECONDS]`; join it:
/// `nc -u 127.0.0.1 1234` or `python3 docs/other-languages/python/udp_chat_client.py`.
/// Chapter: docs/chapters/13-udp-chat.adoc · Test: lessons/test/UdpChatTest.java ·
/// Lab: labs/06-reliable-udp
/// Not here: a client (join with `nc -u` or the course's Python client, chapter 13), delivery that
/// survives loss (lab 06), a chat over TCP where the server sees each member leave (lesson 14).
class UdpChat {
    static final int DEFAULT_PORT = 1234;
    /// The longest message the server relays, in bytes: with its sender's name in front it still
    /// fits the 1024 bytes that the course's Python UDP chat client reads.
    static final int MAX_MESSAGE = 960;
    // No backlog: UDP has no listen() and no accept queue. Datagrams wait in the socket's receive
    // buffer, and when it is full the kernel drops them (chapter 12 shows it).
    static final Duration DEFAULT_SILENCE = Duration.ofMinutes(5);

    /// What the server knows of a peer: when it last heard from it, and whether it ends its
    /// datagrams with a newline (as `nc` does), so that what it receives looks the same way.
    record Peer(Instant lastHeard, boolean endsLines) {}

    /// A running server: its port, its table of peers, and `close()` to stop it.
    record Server(DatagramSocket socket, Map<SocketAddress, Peer> peers, Thread loop) implements AutoCloseable {
        int port() { return socket.getLocalPort(); }

        @Override
        public void close() { socket.close(); }
    }

    static Server start(int port) throws IOException {
        return start(InetAddress.getLoopbackAddress(), port, DEFAULT_SILENCE, InstantSource.system());
    }

    // tag::start[]
    /// Binds `address` (which address decides who can join: lesson 21) and relays from there.
    static Server start(InetAddress address, int port, Duration silence, InstantSource clock) throws IOException {
        var socket = new DatagramSocket(new InetSocketAddress(address, port));
        // Wake from receive() now and then even when nobody talks, to forget the silent.
        socket.setSoTimeout(Math.clamp(silence.toMillis() / 4, 10, 1_000));
        Map<SocketAddress, Peer> peers = new ConcurrentHashMap<>();
        Thread loop = Thread.ofPlatform().name("udp-chat").start(() -> serve(socket, peers, silence, clock));
        return new Server(socket, peers, loop);
    }
    // end::start[]

    // tag::serve[]
    static void serve(DatagramSocket socket, Map<SocketAddress, Peer> peers, Duration silence, InstantSource clock) {
        byte[] buffer = new byte[MAX_MESSAGE + 1];          // one byte more than we relay: see lesson 12
        while (!socket.isClosed()) {
            try {
                forgetSilent(socket, peers, silence, clock.instant());
                var packet = new DatagramPacket(buffer, buffer.length);
                socket.receive(packet);
                SocketAddress from = packet.getSocketAddress();
                if (packet.getLength() > MAX_MESSAGE) {
                    log("%s sent more than %d bytes; refused", from, MAX_MESSAGE);
                    send(socket, from, "* refused: a message is at most " + MAX_MESSAGE + " bytes", false);
                    continue;
                }
                String raw = new String(buffer, 0, packet.getLength(), StandardCharsets.UTF_8);
                boolean endsLines = raw.endsWith("\n");
                String text = raw.strip();
                // Whoever sends us a datagram is a peer from now on: that is the only way we learn of it.
                Peer known = peers.put(from, new Peer(clock.instant(), endsLines));
                if (known == null) {
                    log("new peer %s; peers now: %d", from, peers.size());
                    send(socket, from, "* welcome, " + name(from) + "; others here: " + (peers.size() - 1)
                            + "; /quit leaves", endsLines);
                    relay(socket, peers, from, "* " + name(from) + " joined");
                }
                switch (text) {
                    case "/quit", "exit" -> {
                        peers.remove(from);
                        log("%s left; peers now: %d", from, peers.size());
                        send(socket, from, "* bye", endsLines);
                        relay(socket, peers, from, "* " + name(from) + " left");
                    }
                    case "/join", "" -> { }                 // heard from, nothing to relay
                    default -> {
                        trace("%s says \"%s\"; relaying it to %d peer(s)", from, text, peers.size() - 1);
                        relay(socket, peers, from, name(from) + ": " + text);
                    }
                }
            } catch (SocketTimeoutException e) {
                // Nobody spoke for a while: loop round to forget the silent.
            } catch (IOException e) {
                if (!socket.isClosed()) log("receive failed: %s", e.getMessage());
            }
        }
        log("socket closed; the chat is over");
    }
    // end::serve[]

    // tag::forget[]
    /// UDP never tells a server that a peer has gone: a peer that stops talking is forgotten.
    static void forgetSilent(DatagramSocket socket, Map<SocketAddress, Peer> peers, Duration silence, Instant now) {
        peers.forEach((peer, state) -> {
            if (state.lastHeard().plus(silence).isBefore(now)) {
                peers.remove(peer);
                log("forgot %s: silent for more than %d s", peer, silence.toSeconds());
                send(socket, peer, "* you were silent for more than " + silence.toSeconds()
                        + " s and are forgotten; say something to join again", state.endsLines());
                relay(socket, peers, peer, "* " + name(peer) + " was forgotten (silent too long)");
            }
        });
    }
    // end::forget[]

    // tag::relay[]
    /// Sends `text` to every known peer except `from`: the sender never gets its own message back.
    static void relay(DatagramSocket socket, Map<SocketAddress, Peer> peers, SocketAddress from, String text) {
        peers.forEach((peer, state) -> {
            if (!peer.equals(from)) send(socket, peer, text, state.endsLines());
        });
    }

    static void send(DatagramSocket socket, SocketAddress to, String text, boolean endsLines) {
        byte[] bytes = (endsLines ? text + "\n" : text).getBytes(StandardCharsets.UTF_8);
        try {
            socket.send(new DatagramPacket(bytes, bytes.length, to));   // no reply, no guarantee
        } catch (IOException e) {
            log("could not send to %s: %s", to, e.getMessage());
        }
    }
    // end::relay[]

    static String name(SocketAddress peer) {
        return ((InetSocketAddress) peer).getAddress().getHostAddress() + ":" + ((InetSocketAddress) peer).getPort();
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/13_UdpChat.java [--bind ADDRESS] [--port N] [--silence SECONDS] [--help]

              --bind A      the address to listen on (default 127.0.0.1; 0.0.0.0 lets other hosts in)
              --port N      the UDP port (default %d; 0 = any free port)
              --silence S   forget a peer after S seconds without a datagram (default %d)
              --help        print this help and exit

            Then, in two or more terminals:  nc -u 127.0.0.1 1234
            """.formatted(DEFAULT_PORT, DEFAULT_SILENCE.toSeconds());

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        String bind = commandLine.text("--bind", "127.0.0.1");
        int port = commandLine.port(DEFAULT_PORT);
        var silence = Duration.ofSeconds(commandLine.number("--silence", (int) DEFAULT_SILENCE.toSeconds(), 1, 86_400));
        commandLine.done();
        try (Server server = start(InetAddress.getByName(bind), port, silence, InstantSource.system())) {
            String address = server.socket().getLocalAddress().getHostAddress();
            log("listening on %s:%d (UDP); forgetting peers silent for %d s; join: nc -u %s %d",
                    address, server.port(), silence.toSeconds(), address, server.port());
            server.loop().join();
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
