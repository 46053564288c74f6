///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.time.LocalTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import java.net.BindException;
import java.util.ArrayList;

/// Lab 07 · TLS chat — the chat on TLS 1.3, a client that checks whose server it reached, and a
/// plain-TCP client refused cleanly.
///
/// Run it: `./jbang labs/07-tls-chat/TlsChat.java [--port 1234]`; talk to it:
/// `openssl s_client -quiet -tls1_3 -connect localhost:1234` (then type a nickname).
/// Read: labs/07-tls-chat/README.adoc
class TlsChat implements AutoCloseable {
    /// The password of the lab's key stores (they hold a throwaway key made on this machine).
    static final char[] PASSWORD = "changeit".toCharArray();
    static final String TLS_1_3 = "TLSv1.3";
    /// How long a client may take to finish its handshake.
    static final Duration HANDSHAKE_LIMIT = Duration.ofSeconds(2);

    /// A key store holding a key pair and a self-signed certificate for one host name, and a trust
    /// store holding only that certificate: what a client needs to trust this server.
    record LabCertificate(Path keyStore, Path trustStore) {

        /// Makes both in `dir`, running the JDK's keytool for the key pair.
        static LabCertificate create(Path dir, String hostName) throws IOException, GeneralSecurityException {
            Files.createDirectories(dir);
            Path keyStore = dir.resolve(hostName + ".p12");
            Path trustStore = dir.resolve(hostName + "-trust.p12");
            Files.deleteIfExists(keyStore);
            String names = "dns:" + hostName + (hostName.equals("localhost") ? ",ip:127.0.0.1" : "");
            var keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                    "-genkeypair", "-alias", "chat", "-keyalg", "EC", "-groupname", "secp256r1",
                    "-dname", "CN=" + hostName, "-ext", "SAN=" + names, "-validity", "30",
                    "-keystore", keyStore.toString(), "-storetype", "PKCS12",
                    "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD))
                    .redirectErrorStream(true).start();
            try {
                String output = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!keytool.waitFor(60, TimeUnit.SECONDS) || keytool.exitValue() != 0) {
                    throw new IOException("keytool failed: " + output.strip());
                }
            } catch (InterruptedException e) {
                keytool.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while keytool ran", e);
            }
            KeyStore keys = load(keyStore);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, PASSWORD);
            trust.setCertificateEntry("chat", keys.getCertificate("chat"));
            try (OutputStream out = Files.newOutputStream(trustStore)) {
                trust.store(out, PASSWORD);
            }
            return new LabCertificate(keyStore, trustStore);
        }
    }

    static KeyStore load(Path store) throws IOException, GeneralSecurityException {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keys.load(in, PASSWORD);
        }
        return keys;
    }

    /// The server's TLS context: it proves its identity with the key and certificate in `keyStore`.
    static SSLContext serverContext(Path keyStore) throws IOException, GeneralSecurityException {
        // TODO(lab): a KeyManagerFactory initialised with the key store (load(keyStore)) and
        //  PASSWORD; an SSLContext for TLS 1.3 initialised with its key managers.
        throw new UnsupportedOperationException("TODO(lab): the server's TLS context");
    }

    /// A client's TLS context: it trusts the certificates in `trustStore`, and no others.
    static SSLContext clientContext(Path trustStore) throws IOException, GeneralSecurityException {
        // TODO(lab): a TrustManagerFactory initialised with the trust store; an SSLContext for
        //  TLS 1.3 initialised with its trust managers. Never a trust manager that trusts anything.
        throw new UnsupportedOperationException("TODO(lab): the client's TLS context");
    }

    /// A listening TLS socket on loopback, `port` (0: any free port), that speaks TLS 1.3 only.
    static SSLServerSocket listen(int port, SSLContext context) throws IOException {
        // TODO(lab): a server socket from the context's server socket factory, speaking TLS 1.3
        //  only, bound to loopback on `port`.
        throw new UnsupportedOperationException("TODO(lab): listen on TLS");
    }

    /// Runs the handshake of an accepted client, giving it HANDSHAKE_LIMIT to finish.
    static void handshake(SSLSocket client) throws IOException {
        // TODO(lab): give the client HANDSHAKE_LIMIT to finish the handshake (a read timeout),
        //  run it, then lift the limit for the chat. A client that does not speak TLS, or says
        //  nothing, ends here with an exception; the acceptor's thread never waits for it.
        throw new UnsupportedOperationException("TODO(lab): the server's handshake");
    }

    /// Connects to a TLS chat server and finishes the handshake: TLS 1.3 only, and the server's
    /// certificate must be trusted by `context` and issued for `host`.
    static SSLSocket connect(String host, int port, SSLContext context) throws IOException {
        // TODO(lab): a socket from the context's socket factory; TLS 1.3 only; endpoint
        //  identification "HTTPS", so that the certificate must be issued for `host`; run the
        //  handshake; on failure close the socket and let the exception out.
        throw new UnsupportedOperationException("TODO(lab): connect with TLS");
    }

    private final SSLServerSocket listener;
    private final Map<String, OutputStream> members = new ConcurrentHashMap<>();
    private final Map<Socket, Boolean> sockets = new ConcurrentHashMap<>();

    private TlsChat(SSLServerSocket listener) {
        this.listener = listener;
    }

    /// Starts the chat on TLS: `listen`, then a thread that accepts clients.
    static TlsChat start(int port, SSLContext context) throws IOException {
        var server = new TlsChat(listen(port, context));
        Thread.ofPlatform().name("acceptor").start(server::acceptLoop);
        return server;
    }

    int port() {
        return listener.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket socket : sockets.keySet()) {
            socket.close();
        }
    }

    private void acceptLoop() {
        try {
            while (true) {
                var client = (SSLSocket) listener.accept();
                sockets.put(client, true);
                // Handshake on the client's own thread: a slow or silent client holds up nobody.
                Thread.ofVirtual().start(() -> {
                    try {
                        handshake(client);
                        log("TLS handshake with " + client.getRemoteSocketAddress() + ": " + client.getSession().getProtocol());
                    } catch (IOException | RuntimeException e) {
                        log("refused " + client.getRemoteSocketAddress() + ": " + e.getMessage());
                        sockets.remove(client);
                        closeQuietly(client);
                        return;
                    }
                    try (client) {
                        serve(client);
                    } catch (IOException | RuntimeException e) {
                        log("connection failed: " + e.getMessage());
                    } finally {
                        sockets.remove(client);
                    }
                });
            }
        } catch (IOException e) {
            log("stopped accepting: " + e.getMessage());
        }
    }

    /// The chat itself, the same over TLS as over TCP: a nickname, then lines to everyone else.
    private void serve(Socket client) throws IOException {
        var in = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = client.getOutputStream();
        String nick = in.readLine();
        if (nick == null || !nick.matches("\\w{1,16}") || members.putIfAbsent(nick, out) != null) {
            send(out, "ERROR a nickname is 1 to 16 letters, digits or _, and not in use");
            return;
        }
        try {
            send(out, "WELCOME " + nick);
            for (String line = in.readLine(); line != null && !line.equals("/quit"); line = in.readLine()) {
                for (var member : List.copyOf(members.entrySet())) {
                    if (!member.getKey().equals(nick)) {
                        send(member.getValue(), "MSG " + nick + " " + line);
                    }
                }
            }
        } finally {
            members.remove(nick);
        }
    }

    private static void send(OutputStream out, String line) {
        synchronized (out) {
            try {
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                log("could not send: " + e.getMessage());
            }
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }

    static void log(String message) {
        System.out.printf("%s [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(), message);
    }

    // ---- The command line: the same block as in the lessons; read it once. ----

    static final int DEFAULT_PORT = 1234;

    static final String USAGE = """
            Usage: ./jbang labs/07-tls-chat/TlsChat.java [--port N] [--help]

            Lab 07's chat on TLS 1.3 (it makes its certificate in labs/.local on first run).

              --port N   the TCP port to listen on (default %d; 0 picks any free port)
              --help     print this help and exit

            Then, in another terminal:  openssl s_client -quiet -tls1_3 -connect localhost:1234
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        commandLine.done();
        try {
            // The lab's certificate, made on first run in an ignored folder.
            var certificate = LabCertificate.create(Path.of("labs", ".local", "07-tls-chat"), "localhost");
            var server = start(port, serverContext(certificate.keyStore()));
            log("listening on " + InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.port() + " (TLS 1.3)");
        } catch (BindException e) {
            CommandLine.exitPortInUse(port, e);
        }
    }

    /// Reads `--help` and the options a lab asks for. Anything else is a learner's mistake:
    /// say what, print the usage, exit with status 2; never a stack trace.
    static final class CommandLine {
        private final String usage;
        private final List<String> args;

        CommandLine(String usage, String[] args) {
            this.usage = usage;
            this.args = new ArrayList<>(List.of(args));
            if (this.args.contains("--help") || this.args.contains("-h")) {
                System.out.print(usage);
                System.exit(0);
            }
        }

        /// `--port N`: 0 to 65535; 0 asks the kernel for any free port.
        int port(int otherwise) {
            return number("--port", otherwise, 0, 65_535);
        }

        /// `--name N` or `--name=N`, a whole number from `min` to `max`.
        int number(String name, int otherwise, int min, int max) {
            String text = text(name, null);
            if (text == null) return otherwise;
            if (text.matches("-?\\d{1,9}") && Integer.parseInt(text) >= min && Integer.parseInt(text) <= max) {
                return Integer.parseInt(text);
            }
            throw fail("%s needs a whole number from %d to %d, not '%s'".formatted(name, min, max, text));
        }

        /// `--name TEXT` or `--name=TEXT`.
        String text(String name, String otherwise) {
            for (int i = 0; i < args.size(); i++) {
                if (args.get(i).startsWith(name + "=")) return args.remove(i).substring(name.length() + 1);
                if (!args.get(i).equals(name)) continue;
                if (i + 1 == args.size()) throw fail(name + " needs a value");
                args.remove(i);
                return args.remove(i);
            }
            return otherwise;
        }

        /// `--name`, present or not.
        boolean flag(String name) {
            return args.remove(name);
        }

        /// After the last option: whatever is left is a mistake.
        void done() {
            if (!args.isEmpty()) throw fail("unknown argument: " + args.getFirst());
        }

        RuntimeException fail(String problem) {
            System.err.println("error: " + problem);
            System.err.print(usage);
            System.exit(2);
            return new IllegalStateException(problem);
        }

        /// A port in use is an ordinary mistake too: one line with a hint, exit status 1.
        static void exitPortInUse(int port, BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lab or lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        }
    }
}
