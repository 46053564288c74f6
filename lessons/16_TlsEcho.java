///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/// Lesson 16 · TLS echo — the echo server inside TLS 1.3: a certificate, a handshake, ciphertext on the wire.
///
/// Run it: `./jbang lessons/16_TlsEcho.java [--port 1234]`; talk to it:
/// `openssl s_client -connect localhost:1234 -CAfile lessons/.local/tls-echo/localhost.crt -verify_hostname localhost`.
/// Chapter: docs/chapters/16-tls-echo.adoc · Test: lessons/test/TlsEchoTest.java ·
/// Lab: labs/07-tls-chat
/// Not here: a certificate authority and client certificates (lesson 17); certificates from a
/// public authority, their renewal and revocation; TLS on a non-blocking socket (SSLEngine); an
/// interactive client of its own (`openssl s_client` is one; `connect` is the Java client's code).
class TlsEcho {
    static final int DEFAULT_PORT = 1234;
    /// Finished connections the kernel may hold before accept() takes them, as in lesson 05. A TLS
    /// handshake costs milliseconds of CPU, so a crowd waits here while the handshakes run; with the
    /// JDK's default of 50 the rest would wait in SYN retries. Linux caps it at net.core.somaxconn.
    static final int BACKLOG = 1024;
    static final int MAX_LINE = 8192;
    /// How long a client may take to finish the handshake before the server gives up on it.
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /// Made on first run, ignored by git: the private key never leaves this machine.
    static final Path FOLDER = Path.of("lessons", ".local", "tls-echo");
    static final String KEYSTORE = "localhost.p12";      // private key + certificate: the server's secret
    static final String CERTIFICATE = "localhost.crt";   // the certificate alone: public, for clients
    static final char[] PASSWORD = "socket-lab".toCharArray();   // protects nothing: it is in the source
    static final String[] PROTOCOLS = {"TLSv1.3"};
    /// TLS 1.3's suites: every one is an AEAD cipher (encryption and integrity in one step).
    static final String[] AEAD_SUITES = {
            "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"};

    static {
        // Read once, at the first TLS handshake of this JVM: set it before any.
        System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
    }

    /// A running server: the port it got, and `close()` to stop it and every connection it holds.
    record Server(ServerSocket listener, Set<Socket> connections, Thread acceptor) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        /// Closes the TCP sockets under TLS: closing a TLS socket would first send close_notify,
        /// and wait for a handler stuck writing to a client that does not read.
        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket connection : connections) connection.close();
        }
    }

    // tag::certificate[]
    /// Makes the key pair and its self-signed certificate once, with the JDK's keytool.
    static synchronized Path certificateFolder() throws IOException {
        if (Files.isDirectory(FOLDER)) return FOLDER;
        Files.createDirectories(FOLDER.getParent());
        // Work in a fresh private folder (mode 700), then rename it: nobody ever sees half of it.
        // (Two first runs at the same moment: one rename fails, and that run says so; run it again.)
        Path fresh = Files.createTempDirectory(FOLDER.getParent(), "new-");
        log("first run: making a key pair and a self-signed certificate for localhost with keytool");
        keytool("-genkeypair", "-alias", "localhost", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "365",
                "-keystore", fresh.resolve(KEYSTORE).toString(), "-storepass", new String(PASSWORD));
        keytool("-exportcert", "-rfc", "-alias", "localhost", "-file", fresh.resolve(CERTIFICATE).toString(),
                "-keystore", fresh.resolve(KEYSTORE).toString(), "-storepass", new String(PASSWORD));
        Files.move(fresh, FOLDER, StandardCopyOption.ATOMIC_MOVE);
        log("kept in %s: %s (secret) and %s (public)", FOLDER, KEYSTORE, CERTIFICATE);
        return FOLDER;
    }

    static void keytool(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.onExit().join().exitValue() != 0) throw new IOException("keytool " + args[0] + " failed: " + output.strip());
    }
    // end::certificate[]

    // tag::contexts[]
    /// The server's side: prove who we are with the private key that matches the certificate.
    static SSLContext serverContext() throws IOException, GeneralSecurityException {
        KeyStore keys = KeyStore.getInstance(certificateFolder().resolve(KEYSTORE).toFile(), PASSWORD);
        var keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, PASSWORD);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(keyManagers.getKeyManagers(), null, null);
        return context;
    }

    /// The client's side: a trust store holding exactly one certificate, ours, and nothing else.
    static SSLContext clientContext() throws IOException, GeneralSecurityException {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        try (InputStream pem = Files.newInputStream(certificateFolder().resolve(CERTIFICATE))) {
            trusted.setCertificateEntry("localhost", CertificateFactory.getInstance("X.509").generateCertificate(pem));
        }
        var trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trusted);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(null, trustManagers.getTrustManagers(), null);
        return context;
    }
    // end::contexts[]

    // tag::start[]
    static Server start(int port) throws IOException, GeneralSecurityException {
        return start(port, HANDSHAKE_TIMEOUT);
    }

    static Server start(int port, Duration handshakeTimeout) throws IOException, GeneralSecurityException {
        SSLContext context = serverContext();
        // An ordinary TCP listener: TLS is a layer the server puts on each accepted connection.
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        Set<Socket> connections = ConcurrentHashMap.newKeySet();
        Thread acceptor = Thread.ofPlatform().name("acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket tcp = listener.accept();       // plain TCP: no handshake yet
                    connections.add(tcp);
                    log("accepted %s; the TLS handshake comes next", tcp.getRemoteSocketAddress());
                    Thread.ofVirtual().name("client " + tcp.getPort()).start(() -> {
                        try {
                            serve(overTls(context, tcp), handshakeTimeout);
                        } catch (IOException e) {
                            log("cannot start TLS: %s", e.getMessage());
                        } finally {
                            connections.remove(tcp);
                        }
                    });
                } catch (IOException e) {
                    if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
                }
            }
        });
        return new Server(listener, connections, acceptor);
    }

    /// The server's side of TLS over a connected TCP socket.
    static SSLSocket overTls(SSLContext context, Socket tcp) throws IOException {
        var tls = (SSLSocket) context.getSocketFactory().createSocket(tcp, null, true);   // server mode
        // Offer TLS 1.3 and its AEAD suites only: nothing older, nothing weaker to negotiate down to.
        tls.setEnabledProtocols(PROTOCOLS);
        tls.setEnabledCipherSuites(AEAD_SUITES);
        return tls;
    }
    // end::start[]

    // tag::serve[]
    static void serve(SSLSocket client, Duration handshakeTimeout) {
        try (client) {
            // Give the handshake a deadline: a client that connects and says nothing must not hold us.
            client.setSoTimeout((int) handshakeTimeout.toMillis());
            client.startHandshake();
            client.setSoTimeout(0);
            log("handshake done: %s", describe(client.getSession()));
            echoLines(client);
        } catch (SocketTimeoutException e) {
            log("no handshake within %d ms: closing", handshakeTimeout.toMillis());
        } catch (SSLException e) {
            log("TLS failed: %s", e.getMessage());       // plain text on a TLS port, an untrusted peer...
        } catch (IOException e) {
            log("connection ended: %s", e.getMessage());
        }
    }

    static void echoLines(SSLSocket client) throws IOException {
        InputStream in = client.getInputStream();         // decrypts and checks each record
        OutputStream out = client.getOutputStream();      // encrypts each write into records
        try {
            for (String line; (line = readLine(in)) != null; ) {
                trace("read \"%s\"; echoing it", line);
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            log("end of stream: the client closed its side");
        } catch (LineTooLongException e) {
            log("refused: %s", e.getMessage());
            out.write(("ERROR " + e.getMessage() + "; closing\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            // As in lesson 05: send our end (TLS close_notify, then TCP FIN) and let the client read
            // it before the rest of its line arrives, so that no reset destroys the error line.
            client.shutdownOutput();
            client.setSoTimeout(2_000);
            in.skip(1 << 20);
        }
    }
    // end::serve[]

    // tag::describe[]
    /// What the handshake agreed on, and who the peer proved to be (if it showed a certificate).
    static String describe(SSLSession session) {
        String peer;
        try {
            var certificate = (X509Certificate) session.getPeerCertificates()[0];
            List<String> names = new ArrayList<>();
            for (List<?> name : certificate.getSubjectAlternativeNames()) names.add(String.valueOf(name.get(1)));
            peer = "peer certificate %s, names %s, issued by %s, valid until %tF".formatted(
                    certificate.getSubjectX500Principal().getName(), names,
                    certificate.getIssuerX500Principal().getName(), certificate.getNotAfter());
        } catch (GeneralSecurityException | IOException e) {
            peer = "the peer showed no certificate";
        }
        return "%s, %s, %s".formatted(session.getProtocol(), session.getCipherSuite(), peer);
    }
    // end::describe[]

    // tag::connect[]
    /// Connects with TCP, then runs TLS over that socket, checking that the certificate names `serverName`.
    static SSLSocket connect(SSLContext context, InetSocketAddress server, String serverName) throws IOException {
        var tcp = new Socket();
        tcp.connect(server, 5_000);
        tcp.setSoTimeout(10_000);
        var tls = (SSLSocket) context.getSocketFactory().createSocket(tcp, serverName, server.getPort(), true);
        SSLParameters parameters = tls.getSSLParameters();
        // Without this a raw SSLSocket checks the chain but not the name: any trusted certificate would do.
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        parameters.setProtocols(PROTOCOLS);
        parameters.setCipherSuites(AEAD_SUITES);
        tls.setSSLParameters(parameters);
        try {
            tls.startHandshake();
        } catch (IOException e) {
            tls.close();
            throw e;
        }
        return tls;
    }
    // end::connect[]

    static String readLine(InputStream in) throws IOException {
        var line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; ) {
            if (b == -1) return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            if (line.size() == MAX_LINE) throw new LineTooLongException("line longer than " + MAX_LINE + " bytes");
            line.write(b);
        }
        String s = line.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    static final class LineTooLongException extends IOException {
        LineTooLongException(String message) {
            super(message);
        }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/16_TlsEcho.java [--port N] [--help]

            A line echo server over TLS 1.3. On first run it makes a self-signed certificate
            for localhost in lessons/.local/tls-echo/ (with the JDK's keytool).

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal (-quiet: no handshake details; Ctrl-C ends it):
              openssl s_client -connect localhost:1234 -CAfile lessons/.local/tls-echo/localhost.crt \\
                  -verify_hostname localhost -quiet
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try (Server server = start(port)) {
            log("listening on %s:%d (TLS 1.3); try: openssl s_client -connect localhost:%d -CAfile %s "
                    + "-verify_hostname localhost -quiet",
                    server.listener().getInetAddress().getHostAddress(), server.port(), server.port(),
                    FOLDER.resolve(CERTIFICATE));
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
