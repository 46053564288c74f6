import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/// The checked exercises of chapter 17: where a missing client certificate shows, whether a
/// member's name crosses the wire in the clear, and a member's name read from its certificate.
public final class Ex17TlsChatChecks implements Lab {

    static final String FILE = "predictions.txt";

    @Override
    public String title() {
        return "TLS chat";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts where a client without a certificate fails", 10,
                        "in TLS 1.3 the client sends its (empty) certificate and its Finished last, and its handshake is over then; the server's verdict comes after",
                        Ex17TlsChatChecks::noCertificate).within(Duration.ofSeconds(40)),
                Check.core("predicts whether a member's name crosses the wire in the clear", 10,
                        "in TLS 1.3, which handshake messages are encrypted? The client's certificate comes after the ServerHello",
                        Ex17TlsChatChecks::nameOnTheWire).within(Duration.ofSeconds(40)),
                Check.core("MemberName.nameOf reads the CN of the member's certificate", 10,
                        "session.getPeerPrincipal().getName() is the whole subject; new LdapName(...).getRdns() gives its parts: keep the one of type CN",
                        Ex17TlsChatChecks::memberName).within(Duration.ofSeconds(40)));
    }

    /// A mutual-TLS server on loopback: completes each handshake, then sends `greeting(socket)`;
    /// what went wrong goes in `failures`.
    record Server(SSLServerSocket listener, LinkedBlockingQueue<Exception> failures) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    interface Greeting {
        String of(SSLSocket socket) throws Exception;
    }

    static Server server(boolean need, Greeting greeting) throws Exception {
        var listener = (SSLServerSocket) Ex17Tls.serverContext().getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        if (need) listener.setNeedClientAuth(true);
        else listener.setWantClientAuth(true);
        var server = new Server(listener, new LinkedBlockingQueue<>());
        Thread.ofPlatform().daemon().name("tls chat").start(() -> {
            while (!listener.isClosed()) {
                try {
                    var socket = (SSLSocket) listener.accept();
                    Thread.ofPlatform().daemon().start(() -> {
                        try (socket) {
                            socket.setSoTimeout(5_000);
                            socket.startHandshake();
                            String line;
                            try {
                                line = greeting.of(socket);
                            } catch (Exception e) {
                                line = "refused: " + e.getClass().getSimpleName();
                            }
                            socket.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
                            socket.getOutputStream().flush();
                            socket.getInputStream().read();       // until the member closes
                        } catch (Exception e) {
                            server.failures().add(e);
                        }
                    });
                } catch (IOException e) {
                    // Closed.
                }
            }
        });
        return server;
    }

    static SSLSocket connect(String member, int port) throws Exception {
        var socket = (SSLSocket) Ex17Tls.memberContext(member).getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(5_000);
        return socket;
    }

    static String readLine(SSLSocket socket) throws IOException {
        var line = new StringBuilder();
        for (int b; (b = socket.getInputStream().read()) != '\n' && b >= 0; ) line.append((char) b);
        return line.toString();
    }

    static void noCertificate() throws Exception {
        String predicted = Answers.prediction(FILE, "no-cert-fails-at").toLowerCase();
        String observed;
        String detail;
        try (var server = server(true, socket -> "welcome");
                var socket = connect(null, server.port())) {
            try {
                socket.startHandshake();
                try {
                    String line = readLine(socket);
                    observed = "nowhere";
                    detail = "the handshake and the first read succeeded, reading " + Expect.show(line);
                } catch (IOException e) {
                    observed = "read";
                    detail = "startHandshake() returned (" + socket.getSession().getProtocol() + "); the first read() threw " + e;
                }
            } catch (IOException e) {
                observed = "handshake";
                detail = "startHandshake() threw " + e;
            }
            Exception onServer = server.failures().poll(5, TimeUnit.SECONDS);
            detail += "; the server's handshake threw " + onServer;
        }
        Expect.that(predicted.equals(observed), "you predicted " + predicted + "; " + detail);
    }

    static void nameOnTheWire() throws Exception {
        String predicted = Answers.prediction(FILE, "alice-on-the-wire").toLowerCase();
        try (var server = server(true, socket -> "welcome");
                var relay = Ex17Tls.relay(server.port());
                var socket = connect("alice", relay.port())) {
            socket.startHandshake();
            Expect.equal("welcome", readLine(socket), "the server's line after alice's handshake");
            byte[] captured = relay.captured();
            String text = new String(captured, StandardCharsets.ISO_8859_1);
            String observed = text.contains("alice") ? "yes" : "no";
            Expect.that(predicted.equals(observed), "you predicted " + predicted + "; the " + captured.length
                    + " bytes alice's client sent over " + socket.getSession().getProtocol() + " "
                    + (observed.equals("yes") ? "contain" : "do not contain") + " the letters \"alice\" (her certificate is CN=alice)");
        }
    }

    static void memberName() throws Exception {
        try (var server = server(false, socket -> "welcome " + MemberName.nameOf(socket.getSession()))) {
            for (String member : Ex17Tls.MEMBERS) {
                try (var socket = connect(member, server.port())) {
                    Expect.equal("welcome " + member, readLine(socket),
                            "what the server says to the member whose certificate is " + Ex17Tls.SUBJECTS.get(member)
                                    + " (\"welcome \" + nameOf(session))");
                }
            }
            try (var socket = connect(null, server.port())) {
                Expect.equal("refused: SSLPeerUnverifiedException", readLine(socket),
                        "what the server says to a client that showed no certificate (nameOf must throw SSLPeerUnverifiedException)");
            }
        }
    }
}
