import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import grading.Check;
import grading.Client;
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
                Check.core("closes at end of stream", 10,
                        "read returns -1 when the client closed its side: stop and close the socket",
                        () -> EchoChecks.closesAtEndOfStream(LineEchoChecks::start)),
                Check.core("serves several clients at once", 15,
                        "while one client is in the middle of a line, another must be served: one thread each",
                        LineEchoChecks::severalAtOnce),
                Check.of("echoes a line of exactly MAX_LINE bytes", 5,
                        "the limit counts the line's bytes without its newline: MAX_LINE itself is allowed",
                        () -> withClient(client -> client.echo("x".repeat(LineEchoServer.MAX_LINE)))),
                Check.of("refuses an over-long line with TOO_LONG, then closes", 15,
                        "count the bytes of the line while reading it; past MAX_LINE, answer TOO_LONG and stop",
                        LineEchoChecks::refusesOverlongLine),
                Check.of("survives a client that resets mid-line", 15,
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

    private static void severalAtOnce() throws Exception {
        try (var server = LineEchoServer.start(0);
             var slow = Client.connect(server.port());
             var second = Client.connect(server.port());
             var third = Client.connect(server.port())) {
            slow.send("half a ");
            second.echo("second client");
            third.echo("third client");
            slow.send("line\n");
            Expect.equal("half a line", slow.readLine(), "the first client's line, finished last");
        }
    }

    private static void refusesOverlongLine() throws Exception {
        withClient(client -> {
            // Exactly one byte too many: the server can read all of it, so its close is orderly.
            client.send("y".repeat(LineEchoServer.MAX_LINE + 1));
            Expect.equal(LineEchoServer.TOO_LONG, client.readLine(), "the answer to a line of MAX_LINE + 1 bytes");
            client.expectClosed("after refusing the line");
        });
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
