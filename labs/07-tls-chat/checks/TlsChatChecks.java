import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/// The graded checks of lab 07: the grader's own TLS client and server (plain JDK code) face the
/// learner's server and client. Certificates are made by keytool, in target/labs/tls.
public final class TlsChatChecks implements Lab {

    /// Making certificates runs keytool: seconds on a busy machine.
    static final Duration LIMIT = Duration.ofSeconds(60);

    @Override
    public String title() {
        return "TLS chat";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("a TLS client joins the chat", 10,
                        "the server needs an SSLContext with the lab's key (KeyManagerFactory) and a socket from its factory",
                        TlsChatChecks::tlsClientJoins),
                Check.core("negotiates TLS 1.3", 10,
                        "enable only TLSv1.3 on the listening socket",
                        TlsChatChecks::negotiatesTls13),
                Check.of("refuses a TLS 1.2 client", 10,
                        "a server that enables only TLSv1.3 fails the handshake of a TLS 1.2 client",
                        TlsChatChecks::refusesTls12),
                Check.core("connect() joins a server its trust store trusts", 10,
                        "the client's SSLContext trusts the lab's trust store (TrustManagerFactory)",
                        TlsChatChecks::clientJoins),
                Check.of("connect() refuses a server it does not trust", 10,
                        "trust the lab's trust store only: never a trust manager that accepts anything",
                        TlsChatChecks::clientRefusesUntrusted),
                Check.core("connect() checks the server's name", 10,
                        "a trusted certificate for another name is not this server's: set endpoint identification to HTTPS",
                        TlsChatChecks::clientChecksName),
                Check.of("refuses a plain-TCP client cleanly", 5,
                        "a client that does not speak TLS fails the handshake: log it, close it, carry on",
                        TlsChatChecks::refusesPlainClient),
                Check.of("a silent client holds up nobody", 5,
                        "handshake on the client's own thread, with a read timeout of HANDSHAKE_LIMIT",
                        TlsChatChecks::silentClient),
                Check.of("goes on serving after a refused client", 5,
                        "a failed handshake ends that connection only",
                        TlsChatChecks::servesAfterRefusal),
                Check.of("members chat over TLS", 5,
                        "once the handshake is done, the chat reads and writes the SSLSocket's streams as usual",
                        TlsChatChecks::membersChat),
                Check.of("connect() refuses a TLS 1.2-only server", 10,
                        "the client offers TLSv1.3 only: set it in the socket's SSLParameters, the context's name alone does not",
                        TlsChatChecks::clientRefusesTls12),
                Check.of("keeps a quiet member past HANDSHAKE_LIMIT", 10,
                        "the handshake's read timeout is for the handshake: lift it (setSoTimeout(0)) once the handshake is done",
                        TlsChatChecks::quietMemberStays))
                .stream().map(check -> check.within(LIMIT)).toList();
    }

    /// The certificates the checks use: the lab's, another for the same name that nobody trusts,
    /// and a trusted one for the wrong name. Made once (keytool takes seconds) in target/labs/tls,
    /// and made again after a day.
    record Certificates(TlsChat.LabCertificate lab, TlsChat.LabCertificate other, TlsChat.LabCertificate wrongName) {
        private static final Path DIR = Path.of("target", "labs", "tls");
        private static Certificates made;

        static synchronized Certificates get() throws IOException, GeneralSecurityException {
            if (made == null) {
                Path ready = DIR.resolve("ready");
                if (!Files.isDirectory(ready) || Files.getLastModifiedTime(ready).toInstant()
                        .isBefore(java.time.Instant.now().minus(Duration.ofDays(1)))) {
                    // Make them aside, then move them into place in one step.
                    Path fresh = Files.createTempDirectory(Files.createDirectories(DIR), "making-");
                    TlsChat.LabCertificate.create(fresh.resolve("lab"), "localhost");
                    TlsChat.LabCertificate.create(fresh.resolve("other"), "localhost");
                    TlsChat.LabCertificate.create(fresh.resolve("wrong"), "wrong.example");
                    deleteTree(ready);
                    try {
                        Files.move(fresh, ready, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    } catch (IOException madeMeanwhile) {
                        // Another grading made them first (the build grades labs side by side).
                        if (!Files.isDirectory(ready)) {
                            throw madeMeanwhile;
                        }
                        deleteTree(fresh);
                    }
                }
                made = new Certificates(stores(ready.resolve("lab"), "localhost"), stores(ready.resolve("other"), "localhost"),
                        stores(ready.resolve("wrong"), "wrong.example"));
            }
            return made;
        }

        private static TlsChat.LabCertificate stores(Path dir, String hostName) {
            return new TlsChat.LabCertificate(dir.resolve(hostName + ".p12"), dir.resolve(hostName + "-trust.p12"));
        }

        private static void deleteTree(Path dir) throws IOException {
            if (Files.exists(dir)) {
                try (var walk = Files.walk(dir)) {
                    for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
        }
    }

    static TlsChat labServer() throws Exception {
        return TlsChat.start(0, TlsChat.serverContext(Certificates.get().lab().keyStore()));
    }

    /// The grader's own TLS client: trusts the lab's certificate, checks the name, offers `protocols`.
    static SSLSocket graderClient(int port, String... protocols) throws Exception {
        var trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(TlsChat.load(Certificates.get().lab().trustStore()));
        var context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        var socket = (SSLSocket) context.getSocketFactory().createSocket("localhost", port);
        socket.setSoTimeout(3000);
        var parameters = socket.getSSLParameters();
        parameters.setProtocols(protocols);
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(parameters);
        return socket;
    }

    static Client join(SSLSocket socket, String nick) throws IOException {
        socket.startHandshake();
        var client = Client.over(socket);
        client.send(nick + "\n");
        Expect.equal("WELCOME " + nick, client.readLine(), "the answer to the nickname " + nick);
        return client;
    }

    private static void tlsClientJoins() throws Exception {
        try (var server = labServer(); var alice = join(graderClient(server.port(), "TLSv1.3", "TLSv1.2"), "alice")) {
            Expect.that(alice.socket().isConnected(), "alice is connected");
        }
    }

    private static void negotiatesTls13() throws Exception {
        try (var server = labServer(); var socket = graderClient(server.port(), "TLSv1.3", "TLSv1.2")) {
            socket.startHandshake();
            Expect.equal("TLSv1.3", socket.getSession().getProtocol(), "the protocol of a client offering TLS 1.3 and 1.2");
        }
    }

    private static void refusesTls12() throws Exception {
        try (var server = labServer(); var alice = join(graderClient(server.port(), "TLSv1.3"), "alice");
             var socket = graderClient(server.port(), "TLSv1.2")) {
            // The same server welcomes a TLS 1.3 client: refusing everything earns nothing.
            Expect.that(alice.socket().isConnected(), "alice is connected");
            Expect.throwsA(SSLException.class, socket::startHandshake, "the handshake of a TLS 1.2 client");
        }
    }

    private static void clientJoins() throws Exception {
        var certificates = Certificates.get();
        try (var server = labServer();
             var alice = join(TlsChat.connect("localhost", server.port(), TlsChat.clientContext(certificates.lab().trustStore())), "alice")) {
            Expect.that(alice.socket().isConnected(), "alice is connected");
        }
    }

    /// A TLS server of the grader's own with the given certificate, which answers one handshake.
    static SSLServerSocket graderServer(TlsChat.LabCertificate certificate) throws Exception {
        return graderServer(certificate, "TLSv1.3", "TLSv1.2");
    }

    /// The grader's TLS server speaking only `protocols`.
    static SSLServerSocket graderServer(TlsChat.LabCertificate certificate, String... protocols) throws Exception {
        var keys = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        keys.init(TlsChat.load(certificate.keyStore()), TlsChat.PASSWORD);
        var context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), null, null);
        var listener = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
        listener.setEnabledProtocols(protocols);
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread.ofPlatform().daemon().name("grader's TLS server").start(() -> {
            try (var client = (SSLSocket) listener.accept()) {
                client.setSoTimeout(3000);
                client.startHandshake();
                client.getInputStream().read();
            } catch (IOException expected) {
                // The learner's client is meant to give up.
            }
        });
        return listener;
    }

    private static void clientRefusesUntrusted() throws Exception {
        var certificates = Certificates.get();
        var context = TlsChat.clientContext(certificates.lab().trustStore());
        connectsToTheGoodServer(context);
        try (var listener = graderServer(certificates.other())) {
            Expect.throwsA(SSLHandshakeException.class, () -> TlsChat.connect("localhost", listener.getLocalPort(), context).close(),
                    "connecting to a server whose certificate is not in the trust store");
        }
    }

    private static void clientChecksName() throws Exception {
        var certificates = Certificates.get();
        connectsToTheGoodServer(TlsChat.clientContext(certificates.lab().trustStore()));
        try (var listener = graderServer(certificates.wrongName())) {
            var context = TlsChat.clientContext(certificates.wrongName().trustStore());
            Expect.throwsA(SSLHandshakeException.class, () -> TlsChat.connect("localhost", listener.getLocalPort(), context).close(),
                    "connecting to localhost, which shows a trusted certificate issued for wrong.example");
        }
    }

    private static void refusesPlainClient() throws Exception {
        try (var server = labServer(); var bob = join(graderClient(server.port(), "TLSv1.3"), "bob");
             var plain = Client.connect(server.port())) {
            plain.send("alice\n");
            String answer = readUntilClosed(plain.input());
            Expect.that(!answer.contains("WELCOME"), "a plain-TCP client was welcomed: the chat is not on TLS");
            Expect.that(bob.socket().isConnected(), "bob, on TLS, is still connected");
        }
    }

    private static void silentClient() throws Exception {
        try (var server = labServer(); var silent = Client.connect(server.port());
             var alice = join(graderClient(server.port(), "TLSv1.3"), "alice")) {
            Expect.that(alice.socket().isConnected(), "alice is connected");
            silent.socket().setSoTimeout((int) (TlsChat.HANDSHAKE_LIMIT.toMillis() + 3000));
            readUntilClosed(silent.input());
        }
    }

    private static void servesAfterRefusal() throws Exception {
        try (var server = labServer()) {
            try (var plain = Client.connect(server.port())) {
                plain.send("mallory\n");
                readUntilClosed(plain.input());
            }
            try (var alice = join(graderClient(server.port(), "TLSv1.3"), "alice")) {
                Expect.that(alice.socket().isConnected(), "alice is connected");
            }
        }
    }

    private static void membersChat() throws Exception {
        var context = TlsChat.clientContext(Certificates.get().lab().trustStore());
        try (var server = labServer();
             var alice = join(TlsChat.connect("localhost", server.port(), context), "alice");
             var bob = join(TlsChat.connect("localhost", server.port(), context), "bob")) {
            alice.send("hi, bob\n");
            String line = bob.readLine();
            while (line != null && line.startsWith("JOIN ")) line = bob.readLine();   // a JOIN may still be on its way
            Expect.equal("MSG alice hi, bob", line, "what bob got");
        }
    }

    /// connect() with `context` reaches the grader's TLS 1.3 server that shows the lab's certificate:
    /// every refusal check of the client starts with it, so that refusing everything earns nothing.
    static void connectsToTheGoodServer(SSLContext context) throws Exception {
        try (var listener = graderServer(Certificates.get().lab(), "TLSv1.3");
             var socket = TlsChat.connect("localhost", listener.getLocalPort(), context)) {
            Expect.equal("TLSv1.3", socket.getSession().getProtocol(), "the protocol connect() negotiated with a TLS 1.3 server it trusts");
        }
    }

    private static void clientRefusesTls12() throws Exception {
        var certificates = Certificates.get();
        var context = TlsChat.clientContext(certificates.lab().trustStore());
        connectsToTheGoodServer(context);
        try (var listener = graderServer(certificates.lab(), "TLSv1.2")) {
            Expect.throwsA(SSLException.class, () -> TlsChat.connect("localhost", listener.getLocalPort(), context).close(),
                    "connecting to a trusted server that speaks only TLS 1.2");
        }
    }

    private static void quietMemberStays() throws Exception {
        var context = TlsChat.clientContext(Certificates.get().lab().trustStore());
        try (var server = labServer();
             var bob = join(TlsChat.connect("localhost", server.port(), context), "bob");
             var alice = join(TlsChat.connect("localhost", server.port(), context), "alice")) {
            long quiet = TlsChat.HANDSHAKE_LIMIT.toMillis() + 1500;
            alice.expectNothingFor(Duration.ofMillis(quiet), "alice, quiet for " + quiet + " ms after joining, must stay a member");
            alice.send("I was only quiet\n");
            String line = bob.readLine();
            while (line.startsWith("JOIN ")) line = bob.readLine();
            Expect.equal("MSG alice I was only quiet", line, "what bob got from alice after she had been quiet for "
                    + quiet + " ms (HANDSHAKE_LIMIT is " + TlsChat.HANDSHAKE_LIMIT.toMillis() + " ms)");
        }
    }

    /// Everything until end of stream; fails if the connection stays open.
    static String readUntilClosed(InputStream in) throws IOException {
        var bytes = new ByteArrayOutputStream();
        try {
            for (int b = in.read(); b >= 0; b = in.read()) {
                bytes.write(b);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server kept the connection of a client that does not speak TLS open");
        } catch (java.net.SocketException reset) {
            // A reset is a close too.
        }
        return bytes.toString(StandardCharsets.ISO_8859_1);
    }
}
