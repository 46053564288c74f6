import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class TlsEchoTest {
    static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    TlsEcho.Server server;

    @BeforeEach
    void start() throws Exception {
        server = TlsEcho.start(0, Duration.ofMillis(500));
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    InetSocketAddress address() {
        return new InetSocketAddress(LOOPBACK.getAddress(), server.port());
    }

    SSLSocket trustingClient() throws Exception {
        return TlsEcho.connect(TlsEcho.clientContext(), address(), "localhost");
    }

    static String ask(SSLSocket socket, String line) throws IOException {
        socket.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
        return TlsEcho.readLine(socket.getInputStream());
    }

    @Test
    void aLineEchoesOverTls13WithAnAeadSuite() throws Exception {
        try (SSLSocket client = trustingClient()) {
            assertThat(client.getSession().getProtocol()).isEqualTo("TLSv1.3");
            assertThat(client.getSession().getCipherSuite()).isIn((Object[]) TlsEcho.AEAD_SUITES);
            var certificate = (X509Certificate) client.getSession().getPeerCertificates()[0];
            assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=localhost");
            assertThat(ask(client, "hello over TLS")).isEqualTo("hello over TLS");
            assertThat(ask(client, "second line")).isEqualTo("second line");
            assertThat(TlsEcho.describe(client.getSession()))
                    .contains("TLSv1.3", "CN=localhost", "[localhost, 127.0.0.1]");
        }
    }

    @Test
    void theCertificateNamesTheServerByIpAddressToo() throws Exception {
        try (SSLSocket client = TlsEcho.connect(TlsEcho.clientContext(), address(), "127.0.0.1")) {
            assertThat(ask(client, "by address")).isEqualTo("by address");
        }
    }

    @Test
    void aPlainTcpClientFailsCleanlyAndTlsClientsGoOn() throws Exception {
        try (var plain = new LineClient(server.port())) {
            plain.sendLine("hello in plain text");
            byte[] answer = plain.socket().getInputStream().readAllBytes();   // up to the server's close
            assertThat(answer).as("a TLS alert record, then the close").isNotEmpty();
            assertThat(answer[0]).as("record type 21: alert").isEqualTo((byte) 21);
        }
        try (SSLSocket client = trustingClient()) {
            assertThat(ask(client, "still serving")).isEqualTo("still serving");
        }
    }

    @Test
    @Timeout(20)
    void aSilentClientCannotHoldTheHandshake() throws Exception {
        try (var silent = new Socket(LOOPBACK.getAddress(), server.port())) {
            silent.setSoTimeout(10_000);
            // Others are served while the silent one waits: the handshake runs on the client's own thread.
            try (SSLSocket client = trustingClient()) {
                assertThat(ask(client, "meanwhile")).isEqualTo("meanwhile");
            }
            // The server gives up after its 500 ms handshake timeout and closes; without it we would
            // wait here until our own 10 s read timeout fails the test.
            silent.getInputStream().readAllBytes();
        }
    }

    @Test
    void aClientWithTheDefaultTrustStoreRefusesTheSelfSignedCertificate() throws Exception {
        assertThatThrownBy(() -> TlsEcho.connect(SSLContext.getDefault(), address(), "localhost"))
                .isInstanceOf(SSLHandshakeException.class)
                .hasMessageContaining("PKIX path building failed");
        try (SSLSocket client = trustingClient()) {
            assertThat(ask(client, "after a refusal")).isEqualTo("after a refusal");
        }
    }

    @Test
    void aClientThatExpectsAnotherHostNameRefusesTheCertificate() throws Exception {
        assertThatThrownBy(() -> TlsEcho.connect(TlsEcho.clientContext(), address(), "example.org"))
                .isInstanceOf(SSLHandshakeException.class)
                .hasMessageContaining("example.org");
    }

    @Test
    void withoutEndpointIdentificationARawSocketWouldAcceptAnyName() throws Exception {
        // Why connect() sets "HTTPS": the same trust, but no name check, accepts a wrong name.
        try (var tcp = new Socket(LOOPBACK.getAddress(), server.port());
             var tls = (SSLSocket) TlsEcho.clientContext().getSocketFactory()
                     .createSocket(tcp, "example.org", server.port(), true)) {
            tls.setSoTimeout(10_000);
            assertThat(tls.getSSLParameters().getEndpointIdentificationAlgorithm()).isNull();
            tls.startHandshake();
            assertThat(ask(tls, "wrong name, yet accepted")).isEqualTo("wrong name, yet accepted");
        }
    }

    @Test
    void onlyTls13AndAeadSuitesAreOfferedAndRenegotiationIsRefused() throws Exception {
        assertThat(TlsEcho.PROTOCOLS).containsExactly("TLSv1.3");
        assertThat(TlsEcho.AEAD_SUITES).allMatch(suite -> suite.contains("_GCM_") || suite.contains("_CHACHA20_POLY1305_"));
        assertThat(System.getProperty("jdk.tls.rejectClientInitiatedRenegotiation")).isEqualTo("true");
        try (var tls = (SSLSocket) TlsEcho.clientContext().getSocketFactory()
                .createSocket(LOOPBACK.getAddress(), server.port())) {
            tls.setSoTimeout(10_000);
            tls.setEnabledProtocols(new String[] {"TLSv1.2"});
            assertThatThrownBy(tls::startHandshake).isInstanceOf(SSLHandshakeException.class);
        }
    }

    @Test
    void anOversizeLineIsRefusedAndOthersGoOn() throws Exception {
        try (SSLSocket bystander = trustingClient(); SSLSocket offender = trustingClient()) {
            assertThat(ask(bystander, "before")).isEqualTo("before");
            offender.getOutputStream().write("x".repeat(TlsEcho.MAX_LINE + 1000).getBytes(StandardCharsets.UTF_8));
            offender.getOutputStream().flush();
            assertThat(TlsEcho.readLine(offender.getInputStream()))
                    .isEqualTo("ERROR line longer than 8192 bytes; closing");
            assertThat(TlsEcho.readLine(offender.getInputStream())).isNull();
            assertThat(ask(bystander, "after")).isEqualTo("after");
        }
    }

    @Test
    void theKeyIsKeptInAPrivateIgnoredFolderAndTheCertificateIsSelfSignedForLocalhost() throws Exception {
        Path folder = TlsEcho.certificateFolder();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(folder))).isEqualTo("rwx------");
        KeyStore keys = KeyStore.getInstance(folder.resolve(TlsEcho.KEYSTORE).toFile(), TlsEcho.PASSWORD);
        var certificate = (X509Certificate) keys.getCertificate("localhost");
        assertThat(certificate.getIssuerX500Principal()).isEqualTo(certificate.getSubjectX500Principal());
        certificate.verify(certificate.getPublicKey());                     // signed by its own key
        List<Object> names = new ArrayList<>();
        for (List<?> name : certificate.getSubjectAlternativeNames()) names.add(name.get(1));
        assertThat(names).containsExactlyInAnyOrder("localhost", "127.0.0.1");
        assertThat(Files.readString(folder.resolve(TlsEcho.CERTIFICATE))).startsWith("-----BEGIN CERTIFICATE-----")
                .doesNotContain("PRIVATE KEY");
        assumeTrue(Files.exists(Path.of(".git")), "a git checkout");
        Process check = new ProcessBuilder("git", "check-ignore", "-q", folder.resolve(TlsEcho.KEYSTORE).toString())
                .inheritIO().start();
        assertThat(check.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(check.exitValue()).as("git ignores the key store").isZero();
    }

    @Test
    @Timeout(40)
    void closeEndsEvenAConnectionWhoseClientDoesNotRead() throws Exception {
        var tcp = new Socket();
        tcp.setReceiveBufferSize(4096);       // the echoes back up quickly: the handler blocks in write
        tcp.connect(address(), 5_000);
        tcp.setSoTimeout(10_000);
        var tls = (SSLSocket) TlsEcho.clientContext().getSocketFactory()
                .createSocket(tcp, "localhost", server.port(), true);
        tls.startHandshake();
        var sent = new AtomicLong();
        Thread sender = Thread.ofVirtual().start(() -> {
            byte[] line = ("y".repeat(999) + "\n").getBytes(StandardCharsets.UTF_8);
            try {
                while (true) {
                    tls.getOutputStream().write(line);
                    sent.addAndGet(line.length);
                }
            } catch (IOException e) {
                // The server closed the connection: what this test waits for.
            }
        });
        // Far more than the echoes that fit in the buffers between us: the handler is stuck writing.
        await().atMost(Duration.ofSeconds(20)).until(() -> sent.get() > 2_000_000);
        var closer = Thread.ofVirtual().start(() -> {
            try {
                server.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        assertThat(closer.join(Duration.ofSeconds(5))).as("close() returned").isTrue();
        assertThat(sender.join(Duration.ofSeconds(10))).as("the connection is closed").isTrue();
        tls.close();
    }

    @Test
    void closeEndsEveryConnection() throws Exception {
        SSLSocket client = trustingClient();
        assertThat(ask(client, "hi")).isEqualTo("hi");
        server.close();
        assertThat(TlsEcho.readLine(client.getInputStream())).isNull();
        client.close();
    }

    // The program, as a learner runs it.

    @Test
    void mainServesATlsClient() throws Exception {
        try (LessonRun serverRun = LessonRun.start("TlsEcho", "--port", "0")) {
            int port = serverRun.awaitListeningPort();
            try (SSLSocket client = TlsEcho.connect(TlsEcho.clientContext(),
                    new InetSocketAddress(LOOPBACK.getAddress(), port), "localhost")) {
                assertThat(ask(client, "typed by a learner")).isEqualTo("typed by a learner");
            }
            serverRun.awaitLine(Pattern.compile("handshake done: TLSv1\\.3"), Duration.ofSeconds(10));
        }
    }

    @Test
    void theListenerAsksTheKernelForItsStatedBacklog() throws Exception {
        assertThat(Listeners.backlog(server.port()))
                .isEqualTo(Math.min(TlsEcho.BACKLOG, Listeners.somaxconn())).isGreaterThan(50);
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket()) {
            taken.bind(LOOPBACK);
            LessonRun.assertExplainsPortInUse("TlsEcho", taken.getLocalPort());
        }
    }

    // Nothing in the project trusts every certificate or turns the host name check off.

    /// Code shapes (not words) of the usual holes, in Java and in the languages the book compares.
    static final List<Pattern> HOLES = Stream.of(
            "implements\\s+X509(Extended)?TrustManager",                      // a hand-made trust manager
            "new\\s+X509(Extended)?TrustManager\\s*\\(",
            "void\\s+checkServerTrusted\\s*\\([^)]*\\)\\s*(throws[\\w\\s.,]+)?\\{\\s*\\}",   // empty check
            "InsecureTrustManagerFactory",                                      // Netty's trust-all
            "\\bTrustAll\\w*|\\btrustAll\\w*|\\bTRUST_ALL\\w*",
            "setHostnameVerifier\\s*\\(|setDefaultHostnameVerifier\\s*\\(",
            "HostnameVerifier\\s+\\w+\\s*=\\s*\\(\\s*\\w+\\s*,\\s*\\w+\\s*\\)\\s*->\\s*true",   // a verifier saying yes
            "boolean\\s+verify\\s*\\(\\s*String\\s+\\w+\\s*,\\s*SSLSession\\s+\\w+\\s*\\)\\s*\\{\\s*return\\s+true",
            "setEndpointIdentificationAlgorithm\\s*\\(\\s*(null|\"\")\\s*\\)",
            "checkRevocation=false",
            "disableHostnameVerification",
            "_create_unverified_context|CERT_NONE|check_hostname\\s*=\\s*False|verify\\s*=\\s*False",   // Python
            "verify\\s*:\\s*:verify_none|verify_none",                          // Erlang/Elixir ssl
            "SSL_VERIFY_NONE",                                                  // C, OpenSSL
            "InsecureSkipVerify|rejectUnauthorized\\s*:\\s*false|NODE_TLS_REJECT_UNAUTHORIZED",
            "curl\\s+(-\\w*k\\b|--insecure)")
            .map(Pattern::compile).toList();

    static List<String> holesIn(String text) {
        return HOLES.stream().filter(hole -> hole.matcher(text).find()).map(Pattern::pattern).toList();
    }

    @Test
    void theSearchFindsTheUsualHolesAndNotTheProseAboutThem() {
        List<String> bad = List.of(
                "class TrustAllCerts implements X509TrustManager {",
                "public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException { }",
                "HttpsURLConnection.setDefaultHostnameVerifier((host, session) -> true);",
                "HostnameVerifier anyHost = (host, session) -> true;",
                "public boolean verify(String host, SSLSession session) { return true; }",
                "parameters.setEndpointIdentificationAlgorithm(null);",
                "params.setEndpointIdentificationAlgorithm(\"\");",
                "java -Dcom.sun.net.ssl.checkRevocation=false Main",
                "SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE)",
                "ctx = ssl._create_unverified_context()",
                "ctx.check_hostname = False",
                "requests.get(url, verify=False)",
                ":ssl.connect(~c\"localhost\", 1234, verify: :verify_none)",
                "SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);",
                "curl -k https://localhost:1234/");
        for (String snippet : bad) assertThat(holesIn(snippet)).as(snippet).isNotEmpty();
        List<String> prose = List.of(
                "A trust manager whose checks are empty trusts every certificate: that is a hole.",
                "Turning the host name check off lets any trusted certificate stand for any server.",
                "parameters.setEndpointIdentificationAlgorithm(\"HTTPS\");",
                "trustManagers.init(trusted);");
        for (String text : prose) assertThat(holesIn(text)).as(text).isEmpty();
    }

    @Test
    void nothingInTheProjectTrustsEveryCertificateOrSkipsTheHostNameCheck() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String root : List.of("lessons", "labs", "docs", ".ci")) {
            Path dir = Path.of(root);
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.filter(Files::isRegularFile)
                        .filter(f -> f.toString().matches(".*\\.(java|adoc|md|py|sh|ex|exs|erl|c|service|socket)$")
                                || f.startsWith(Path.of(".ci")))
                        .filter(f -> !f.getFileName().toString().equals("TlsEchoTest.java"))   // these patterns
                        .filter(f -> !f.startsWith(Path.of("lessons", ".local")))
                        .forEach(files::add);
            }
        }
        files.add(Path.of("README.adoc"));
        assertThat(files).as("the search looks at the lessons").contains(Path.of("lessons", "16_TlsEcho.java"));
        List<String> found = new ArrayList<>();
        for (Path file : files) {
            for (String hole : holesIn(Files.readString(file))) found.add(file + ": /" + hole + "/");
        }
        assertThat(found).isEmpty();
    }
}
