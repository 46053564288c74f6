import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import grading.Check;
import grading.Client;
import grading.Clients;
import grading.EchoChecks;
import grading.Expect;
import grading.Lab;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/// The graded checks of lab 01: each starts the learner's server on port 0 and talks to it.
public final class LineEchoChecks implements Lab {

    /// Mockito's first mock makes classes at run time: seconds on a busy machine.
    static final Duration MOCKITO_LIMIT = Duration.ofSeconds(40);

    @Override
    public String title() {
        return "Line echo server";
    }

    /// How many clients wait in the middle of a line while one more must be served: more threads
    /// than any small fixed pool has.
    static final int WAITING_CLIENTS = 100;

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("echoes a line", 10,
                        "read bytes until a newline, then write that line back and flush",
                        () -> withClient(client -> client.echo("hello"))),
                Check.core("echoes many lines, in order", 10,
                        "one read can return several lines, or part of one: echo each complete line",
                        LineEchoChecks::manyLines),
                Check.of("keeps every byte of a UTF-8 line", 5,
                        "echo bytes, not characters: a line is the bytes before the newline",
                        () -> withClient(client -> client.echo("héllo, wörld ✓ 日本"))),
                Check.of("echoes invalid UTF-8 bytes as they came", 5,
                        "never decode the line into a String: bytes that are not UTF-8 come back unchanged",
                        LineEchoChecks::invalidUtf8),
                Check.core("closes at end of stream", 10,
                        "read returns -1 when the client closed its side: stop and close the socket",
                        () -> EchoChecks.closesAtEndOfStream(LineEchoChecks::start)),
                Check.core("serves " + WAITING_CLIENTS + " clients at once", 15,
                        "while clients are in the middle of a line, another must be served: a thread each, not a small pool",
                        LineEchoChecks::manyAtOnce),
                Check.of("echoes a line of exactly MAX_LINE bytes", 5,
                        "the limit counts the line's bytes without its newline: MAX_LINE itself is allowed",
                        LineEchoChecks::lineOfMaxLine),
                Check.of("refuses an over-long line with TOO_LONG, then closes", 10,
                        "count the bytes of the line while reading it; past MAX_LINE, answer TOO_LONG and stop (readLine() waits for a newline that never comes)",
                        LineEchoChecks::refusesOverlongLine),
                Check.of("counts the limit in bytes, not characters", 5,
                        "MAX_LINE counts bytes: 343 characters of UTF-8 can be 1,025 bytes, over the limit",
                        LineEchoChecks::limitInBytes),
                Check.of("survives a client that resets mid-line", 10,
                        "a reset is an IOException in that client's thread: end that conversation only",
                        () -> EchoChecks.survivesReset(LineEchoChecks::start)),
                Check.of("serve() closes its socket when the peer vanishes", 10,
                        "however reading ends, with -1 or with an exception, the socket must be closed (try-with-resources)",
                        LineEchoChecks::closesOnReset).within(MOCKITO_LIMIT),
                Check.of("serve() echoes then closes its socket at end of stream", 5,
                        "write each line to the socket's output stream, and close the socket when input ends",
                        LineEchoChecks::closesOnEndOfStream).within(MOCKITO_LIMIT));
    }

    /// The learner's server, as the shared echo checks see it.
    static EchoChecks.Server start() throws Exception {
        var server = LineEchoServer.start(0);
        return new EchoChecks.Server(server.port(), server::close);
    }

    private static void withClient(EchoChecks.Conversation conversation) throws Exception {
        EchoChecks.withClient(LineEchoChecks::start, conversation);
    }

    private static void manyLines() throws Exception {
        withClient(client -> {
            var lines = new StringBuilder();
            for (int i = 0; i < 100; i++) {
                lines.append("line ").append(i).append('\n');
            }
            client.send(lines.toString());
            for (int i = 0; i < 100; i++) {
                Expect.equal("line " + i, client.readLine(), "reply " + (i + 1) + " of 100 sent in one write");
            }
        });
    }

    private static void manyAtOnce() throws Exception {
        try (var server = LineEchoServer.start(0); var waiting = new Clients().connect(server.port(), WAITING_CLIENTS)) {
            for (int i = 0; i < WAITING_CLIENTS; i++) {
                waiting.get(i).send("half a line from client " + i);
            }
            try (var next = Client.connect(server.port())) {
                next.send("one more client\n");
                try {
                    Expect.equal("one more client", next.readLine(), "the reply to one more client");
                } catch (AssertionError notServed) {
                    throw new AssertionError("with " + WAITING_CLIENTS + " clients each in the middle of a line, client "
                            + (WAITING_CLIENTS + 1) + " was not served: " + notServed.getMessage()
                            + ". A pool of fewer threads than clients makes the rest wait");
                }
            }
            for (int i = 0; i < WAITING_CLIENTS; i++) {
                waiting.get(i).send(", finished\n");
                Expect.equal("half a line from client " + i + ", finished", waiting.get(i).readLine(),
                        "client " + (i + 1) + "'s line, finished last");
            }
        }
    }

    /// A line of exactly `bytes` bytes: 3-byte characters, then ASCII to make up the rest.
    static String multiByteLine(int bytes) {
        String check = "✓";
        return check.repeat(bytes / 3) + "x".repeat(bytes % 3);
    }

    private static void invalidUtf8() throws Exception {
        withClient(client -> {
            // Not UTF-8: a lone continuation byte, bytes that never occur, half a character.
            byte[] line = {'a', (byte) 0x80, 'b', (byte) 0xff, (byte) 0xfe, 'c', (byte) 0xe2, (byte) 0x9c, '\n'};
            client.send(line);
            byte[] reply = client.readBytes(line.length);
            Expect.equal(java.util.HexFormat.ofDelimiter(" ").formatHex(line), java.util.HexFormat.ofDelimiter(" ").formatHex(reply),
                    "the bytes that came back for a line of invalid UTF-8 (in hex)");
        });
    }

    private static void lineOfMaxLine() throws Exception {
        withClient(client -> {
            client.echo("x".repeat(LineEchoServer.MAX_LINE));
            client.echo(multiByteLine(LineEchoServer.MAX_LINE));
        });
    }

    private static void refusesOverlongLine() throws Exception {
        // The same server first echoes a line at the limit: refusing everything earns nothing.
        try (var server = LineEchoServer.start(0); var good = Client.connect(server.port());
             var client = Client.connect(server.port())) {
            good.echo("y".repeat(LineEchoServer.MAX_LINE));
            // Exactly one byte too many: the server can read all of it, so its close is orderly.
            client.send("y".repeat(LineEchoServer.MAX_LINE + 1));
            Expect.equal(LineEchoServer.TOO_LONG, client.readLine(), "the answer to a line of MAX_LINE + 1 bytes");
            client.expectClosed("after refusing the line");
        }
    }

    private static void limitInBytes() throws Exception {
        try (var server = LineEchoServer.start(0); var good = Client.connect(server.port());
             var client = Client.connect(server.port())) {
            good.echo(multiByteLine(LineEchoServer.MAX_LINE));
            String over = multiByteLine(LineEchoServer.MAX_LINE + 1);
            client.send(over);
            Expect.equal(LineEchoServer.TOO_LONG, client.readLine(), "the answer to " + over.length()
                    + " characters that are MAX_LINE + 1 bytes in UTF-8");
            client.expectClosed("after refusing the line");
        }
    }

    private static void closesOnReset() throws Exception {
        Socket socket = mock(Socket.class);
        InputStream resetMidLine = new SequenceInputStream(
                new ByteArrayInputStream("half a li".getBytes(StandardCharsets.UTF_8)),
                new InputStream() {
                    @Override
                    public int read() throws IOException {
                        throw new SocketException("Connection reset");
                    }
                });
        when(socket.getInputStream()).thenReturn(resetMidLine);
        when(socket.getOutputStream()).thenReturn(new ByteArrayOutputStream());
        try {
            LineEchoServer.serve(socket);
        } catch (IOException expectedOrNot) {
            // Letting the exception out is allowed; leaving the socket open is not.
        }
        verifyClosed(socket, "serve() returned without closing the socket of a peer that reset");
    }

    private static void closesOnEndOfStream() throws Exception {
        Socket socket = mock(Socket.class);
        var written = new ByteArrayOutputStream();
        when(socket.getInputStream()).thenReturn(new ByteArrayInputStream("one\ntwo\n".getBytes(StandardCharsets.UTF_8)));
        when(socket.getOutputStream()).thenReturn(written);
        LineEchoServer.serve(socket);
        Expect.equal("one\ntwo\n", written.toString(StandardCharsets.UTF_8), "what serve() wrote for \"one\\ntwo\\n\"");
        verifyClosed(socket, "serve() returned at end of stream without closing the socket");
    }

    private static void verifyClosed(Socket socket, String message) throws IOException {
        try {
            verify(socket).close();
        } catch (AssertionError notClosed) {
            throw new AssertionError(message);
        }
    }

}
