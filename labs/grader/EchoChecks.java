package grading;

import java.io.Closeable;
import java.io.IOException;

/// Checks that any line echo server must pass, whatever its design: the labs that build one
/// share them.
public final class EchoChecks {

    /// A running server under test: its port, and how to stop it.
    public record Server(int port, Closeable stop) implements Closeable {
        @Override
        public void close() throws IOException {
            stop.close();
        }
    }

    /// Starts the server under test on a free port.
    @FunctionalInterface
    public interface Starter {
        Server start() throws Exception;
    }

    /// What a check does with one connected client.
    @FunctionalInterface
    public interface Conversation {
        void with(Client client) throws Exception;
    }

    private EchoChecks() {
    }

    public static void withClient(Starter starter, Conversation conversation) throws Exception {
        try (var server = starter.start(); var client = Client.connect(server.port())) {
            conversation.with(client);
        }
    }

    /// After the client's end of stream, its last line comes back, then the server closes.
    public static void closesAtEndOfStream(Starter starter) throws Exception {
        withClient(starter, client -> {
            client.send("bye\n");
            client.socket().shutdownOutput();
            Expect.equal("bye", client.readLine(), "the reply to the last line before end of stream");
            client.expectClosed("after the client's end of stream");
        });
    }

    /// A client that resets mid-line ends its own connection only: others, old and new, are served.
    public static void survivesReset(Starter starter) throws Exception {
        try (var server = starter.start(); var before = Client.connect(server.port())) {
            before.echo("before the reset");
            var vanishing = Client.connect(server.port());
            try {
                vanishing.echo("about to vanish");
            } catch (AssertionError notServed) {
                vanishing.close();
                throw new AssertionError("a second client, connected while the first was still open, was not served ("
                        + notServed.getMessage() + "): the reset could not even be tried. Is each client served at once,"
                        + " instead of one after the other?");
            }
            vanishing.send("half a li");
            vanishing.reset();
            before.echo("still here");
            try (var after = Client.connect(server.port())) {
                after.echo("after the reset");
            }
        }
    }
}
