import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TlsChatTest {
    TlsChat.Server server;
    final List<ChatClient> clients = new ArrayList<>();

    /// The authority and its certificates, made once here, before any test starts the lesson as a
    /// program: two first runs at the same moment would race to make them.
    @BeforeAll
    static void makeTheCertificatesOnce() throws IOException {
        TlsChat.certificates();
    }

    /// A client's side: TCP, then TLS over it, checking that the server's certificate names `serverName`.
    static SSLSocket connect(SSLContext context, InetSocketAddress server, String serverName) throws IOException {
        var tcp = new Socket();
        tcp.connect(server, 5_000);
        tcp.setSoTimeout(10_000);
        var tls = (SSLSocket) context.getSocketFactory().createSocket(tcp, serverName, server.getPort(), true);
        SSLParameters parameters = tls.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        parameters.setProtocols(TlsChat.PROTOCOLS);
        parameters.setCipherSuites(TlsChat.AEAD_SUITES);
        tls.setSSLParameters(parameters);
        return tls;
    }

    @AfterEach
    void stop() throws IOException {
        for (ChatClient client : clients) client.close();
        if (server != null) server.close();
    }

    /// A chat participant over TLS, showing `owner`'s certificate (or none).
    final class ChatClient implements AutoCloseable {
        final SSLSocket socket;

        ChatClient(String owner) throws Exception {
            socket = connect(TlsChat.context(owner),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()), "localhost");
            clients.add(this);
            socket.startHandshake();
        }

        void say(String line) throws IOException {
            OutputStream out = socket.getOutputStream();
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        String read() throws IOException {
            return TlsChat.readLine(socket.getInputStream());
        }

        /// Reads lines until one starts with `prefix`, and returns it: other notices may come first.
        String readUntil(String prefix) throws IOException {
            for (String line; (line = read()) != null; ) {
                if (line.startsWith(prefix)) return line;
            }
            throw new AssertionError("the connection closed before a line starting with " + prefix);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void twoTlsChatClientsTalkAndChooseNamesWithNick() throws Exception {
        server = TlsChat.start(0, false);
        var first = new ChatClient(null);
        assertThat(first.read()).startsWith("* welcome, ~guest").contains("/nick NAME");
        assertThat(first.socket.getSession().getProtocol()).isEqualTo("TLSv1.3");
        first.say("/nick ann");
        assertThat(first.readUntil("* ")).matches("\\* ~guest\\d+ is now ~ann");
        var second = new ChatClient(null);
        assertThat(second.read()).startsWith("* welcome, ~guest");
        assertThat(first.readUntil("* ")).endsWith(" joined");
        second.say("/nick ben");
        assertThat(first.readUntil("* ")).endsWith(" is now ~ben");
        first.say("hello, ben");
        assertThat(second.readUntil("~ann:")).isEqualTo("~ann: hello, ben");
        second.say("hi ann");
        assertThat(first.readUntil("~ben:")).isEqualTo("~ben: hi ann");
        second.say("/who");
        assertThat(second.readUntil("* here:")).isEqualTo("* here: ~ann, ~ben");
        second.say("/quit");
        assertThat(second.readUntil("* bye")).isEqualTo("* bye");
        assertThat(second.read()).isNull();
        assertThat(first.readUntil("* ~ben")).isEqualTo("* ~ben left");
    }

    @Test
    void withMutualTlsTheNicknameComesFromTheCertificate() throws Exception {
        server = TlsChat.start(0, true);
        var alice = new ChatClient("alice");
        assertThat(alice.read()).isEqualTo(
                "* welcome, alice (the name in your certificate). /who lists who is here, /quit leaves");
        var bob = new ChatClient("bob");
        assertThat(bob.read()).startsWith("* welcome, bob (the name in your certificate)");
        assertThat(alice.readUntil("* ")).isEqualTo("* bob joined");
        alice.say("/nick mallory");
        assertThat(alice.readUntil("* ")).isEqualTo("* your name comes from your certificate: alice");
        alice.say("hi bob");
        assertThat(bob.readUntil("alice:")).isEqualTo("alice: hi bob");
        bob.say("/who");
        assertThat(bob.readUntil("* here:")).isEqualTo("* here: alice, bob");
        // The server's certificate, checked by the client, was signed by the course's own authority.
        var serverCertificate = (X509Certificate) alice.socket.getSession().getPeerCertificates()[0];
        assertThat(serverCertificate.getIssuerX500Principal().getName()).isEqualTo("CN=Socket Lab chat CA");
    }

    @Test
    void withMutualTlsAClientWithoutACertificateIsRefusedAndOthersGoOn() throws Exception {
        server = TlsChat.start(0, true);
        var alice = new ChatClient("alice");
        assertThat(alice.read()).startsWith("* welcome, alice");
        // In TLS 1.3 the client finishes its half of the handshake first; the server's refusal
        // (an alert) arrives with the first read.
        try (SSLSocket anonymous = connect(TlsChat.context(null),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()), "localhost")) {
            assertThatThrownBy(() -> {
                anonymous.startHandshake();
                TlsChat.readLine(anonymous.getInputStream());
            }).isInstanceOf(SSLException.class).isNotInstanceOf(SocketTimeoutException.class)
                    .hasMessageContaining("certificate");
        }
        var bob = new ChatClient("bob");
        assertThat(bob.read()).startsWith("* welcome, bob");
        alice.say("still here");
        assertThat(bob.readUntil("alice:")).isEqualTo("alice: still here");
    }

    @Test
    void theSameCertificateCannotBeInTheChatTwice() throws Exception {
        server = TlsChat.start(0, false);
        var alice = new ChatClient("alice");
        assertThat(alice.read()).startsWith("* welcome, alice");
        var again = new ChatClient("alice");
        assertThat(again.read()).isEqualTo("* alice is already here; closing");
        assertThat(again.read()).isNull();
    }

    @Test
    void optionalClientCertificatesNameThoseWhoShowOneAndLetOthersPickANick() throws Exception {
        server = TlsChat.start(0, false);
        var alice = new ChatClient("alice");
        assertThat(alice.read()).startsWith("* welcome, alice (the name in your certificate)");
        var guest = new ChatClient(null);
        assertThat(guest.read()).startsWith("* welcome, ~guest");
        guest.say("/nick alice");
        assertThat(alice.readUntil("* ")).startsWith("* ~guest").endsWith(" joined");
        assertThat(alice.readUntil("* ")).as("a chosen name is marked ~: it is a claim, not a proof")
                .endsWith(" is now ~alice");
    }

    @Test
    void controlCharactersAreStrippedAndAnOversizeLineIsRefused() throws Exception {
        server = TlsChat.start(0, false);
        var alice = new ChatClient("alice");
        var bob = new ChatClient("bob");
        assertThat(alice.readUntil("* bob")).isEqualTo("* bob joined");
        bob.say("plain \u001b[31mred\u001b[0m and a bell\u0007");
        assertThat(alice.readUntil("bob:")).isEqualTo("bob: plain [31mred[0m and a bell");
        bob.say("x".repeat(TlsChat.MAX_LINE + 1));
        assertThat(bob.readUntil("* line")).isEqualTo("* line longer than 1024 bytes; closing");
        assertThat(bob.read()).isNull();
        assertThat(alice.readUntil("* bob")).isEqualTo("* bob left");
    }

    @Test
    void aClientThatStopsReadingIsDisconnectedAndTheOthersGoOn() throws Exception {
        server = TlsChat.start(0, false);
        var alice = new ChatClient("alice");
        var reader = new ChatClient(null);
        // A small receive buffer, and never a read: the server's writes to bob soon stall.
        var stalled = new Socket();
        stalled.setReceiveBufferSize(4096);
        stalled.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()), 5_000);
        stalled.setSoTimeout(10_000);
        var bob = (SSLSocket) TlsChat.context("bob").getSocketFactory()
                .createSocket(stalled, "localhost", server.port(), true);
        bob.startHandshake();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.members().containsKey("bob"));
        // Alice talks at the pace of a reader who keeps up; bob reads nothing.
        String line = "x".repeat(1000);
        for (int sent = 0; server.members().containsKey("bob"); sent++) {
            assertThat(sent).as("bob should have been cut off long ago").isLessThan(20_000);
            alice.say(line);
            assertThat(reader.readUntil("alice:")).isEqualTo("alice: " + line);
        }
        assertThat(alice.readUntil("* bob left")).isEqualTo("* bob left");
        alice.say("/who");
        assertThat(alice.readUntil("* here:")).matches("\\* here: alice, ~guest\\d+");
        bob.close();
    }

    @Test
    void aClientThatDoesNotTrustTheAuthorityRefusesTheServer() throws Exception {
        server = TlsChat.start(0, false);
        var address = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
        assertThatThrownBy(() -> connect(SSLContext.getDefault(), address, "localhost").startHandshake())
                .isInstanceOf(SSLHandshakeException.class).hasMessageContaining("PKIX path building failed");
        assertThatThrownBy(() -> connect(TlsChat.context(null), address, "example.org").startHandshake())
                .isInstanceOf(SSLHandshakeException.class).hasMessageContaining("example.org");
    }

    @Test
    void closeEndsEveryConnection() throws Exception {
        server = TlsChat.start(0, false);
        var alice = new ChatClient("alice");
        assertThat(alice.read()).startsWith("* welcome");
        server.close();
        assertThat(alice.read()).isNull();
        await().atMost(Duration.ofSeconds(5)).until(() -> server.members().isEmpty() && !server.acceptor().isAlive());
    }

    @Test
    void mainRunsTheServerWithMutualTls() throws Exception {
        try (LessonRun serverRun = LessonRun.start("TlsChat", "--port", "0", "--require-client-cert")) {
            int port = serverRun.awaitListeningPort();
            try (SSLSocket bob = connect(TlsChat.context("bob"), new InetSocketAddress(InetAddress.getLoopbackAddress(), port),
                    "localhost")) {
                assertThat(TlsChat.readLine(bob.getInputStream())).startsWith("* welcome, bob");
                bob.getOutputStream().write("/who\n/quit\n".getBytes(StandardCharsets.UTF_8));
                assertThat(TlsChat.readLine(bob.getInputStream())).isEqualTo("* here: bob");
                assertThat(TlsChat.readLine(bob.getInputStream())).isEqualTo("* bye");
            }
            serverRun.awaitLine(Pattern.compile("client certificate CN=bob"), Duration.ofSeconds(10));
        }
    }

    @Test
    void theListenerAsksTheKernelForItsStatedBacklog() throws Exception {
        server = TlsChat.start(0, false);
        assertThat(Listeners.backlog(server.port()))
                .isEqualTo(Math.min(TlsChat.BACKLOG, Listeners.somaxconn())).isGreaterThan(50);
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            LessonRun.assertExplainsPortInUse("TlsChat", taken.getLocalPort());
        }
    }
}
