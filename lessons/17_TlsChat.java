///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
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
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/// Lesson 17 · TLS chat — the chat over TLS; with mutual TLS, the client's certificate is its name.
///
/// Run it: `./jbang lessons/17_TlsChat.java [--port 1234] [--require-client-cert]`;
/// talk to it: `./jbang lessons/17_TlsChat.java --client [--as alice]` in two terminals.
/// Read: docs/chapters/17-tls-chat.adoc
class TlsChat {
    static final int DEFAULT_PORT = 1234;
    static final int MAX_LINE = 1024;
    /// Lines waiting for a slow reader; a client that lets more pile up is disconnected.
    static final int OUTBOX = 256;
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    static final Path FOLDER = Path.of("lessons", ".local", "tls-chat");
    static final List<String> USERS = List.of("alice", "bob");     // client certificates made on first run
    static final char[] PASSWORD = "socket-lab".toCharArray();     // protects nothing: it is in the source
    static final String[] PROTOCOLS = {"TLSv1.3"};
    static final String[] AEAD_SUITES = {
            "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"};
    static final String END = "\0end";                              // tells a writer thread to stop

    static {
        System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
    }

    /// WANT: a client may show a certificate (then it names the client). NEED: it must.
    enum ClientAuth { WANT, NEED }

    static final String USAGE = """
            Usage: ./jbang lessons/17_TlsChat.java [--port N] [--require-client-cert] [--help]
                   ./jbang lessons/17_TlsChat.java --client [--as NAME] [--host H] [--port N]

            A chat server over TLS 1.3. On first run it makes a small certificate authority in
            lessons/.local/tls-chat/, a certificate for the server (localhost) and one for each of
            %s. A client that shows its certificate is named by it; others choose a name with /nick.

              --port N                the port (default %d; 0 picks any free port)
              --require-client-cert   mutual TLS: refuse clients without a certificate
              --client                be a chat client: stdin to the chat, the chat to stdout
              --as NAME               with --client: show NAME's certificate
              --host H                with --client: the server's name (default localhost)
              --help                  print this help and exit

            In the chat: /nick NAME, /who, /quit; anything else goes to everyone.
            """.formatted(USERS, DEFAULT_PORT);

    // tag::authority[]
    /// Makes a certificate authority once, and with it certificates for the server and the users.
    static synchronized Path certificates() throws IOException, GeneralSecurityException {
        if (Files.isDirectory(FOLDER)) return FOLDER;
        Files.createDirectories(FOLDER.getParent());
        Path fresh = Files.createTempDirectory(FOLDER.getParent(), "new-");     // mode 700: private
        log("first run: making a certificate authority and certificates with keytool");
        Path ca = fresh.resolve("ca.p12");
        // The authority: a self-signed certificate allowed to sign others (basic constraints: CA).
        genkeypair(ca, "ca", "CN=Socket Lab chat CA", "-ext", "bc:c");
        // Each key pair is made in the authority's store and signed by its key (-signer)...
        genkeypair(ca, "server", "CN=localhost", "-signer", "ca", "-ext", "SAN=dns:localhost,ip:127.0.0.1");
        for (String user : USERS) genkeypair(ca, user, "CN=" + user, "-signer", "ca");
        // ...then copied to a store of its own: what you would hand to that server or user.
        KeyStore authority = KeyStore.getInstance(ca.toFile(), PASSWORD);
        var protection = new KeyStore.PasswordProtection(PASSWORD);
        List<String> owners = new ArrayList<>(USERS);
        owners.addFirst("server");
        for (String owner : owners) {
            KeyStore own = KeyStore.getInstance("PKCS12");
            own.load(null, null);
            own.setEntry(owner, authority.getEntry(owner, protection), protection);
            try (OutputStream out = Files.newOutputStream(fresh.resolve(owner + ".p12"))) {
                own.store(out, PASSWORD);
            }
        }
        Files.writeString(fresh.resolve("ca.crt"), "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(authority.getCertificate("ca").getEncoded())
                + "\n-----END CERTIFICATE-----\n");
        try {
            Files.move(fresh, FOLDER, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileSystemException e) {
            if (!Files.isDirectory(FOLDER)) throw e;
            try (var files = Files.list(fresh)) {                            // another process was quicker
                for (Path file : files.toList()) Files.delete(file);
            }
            Files.delete(fresh);
        }
        return FOLDER;
    }
    // end::authority[]

    /// Runs the JDK's keytool: an EC key pair (P-256) and a certificate for it, valid for a year.
    static void genkeypair(Path keystore, String alias, String subject, String... options) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", alias, "-dname", subject, "-keyalg", "EC", "-groupname", "secp256r1",
                "-validity", "365", "-keystore", keystore.toString(), "-storepass", new String(PASSWORD)));
        command.addAll(List.of(options));
        if (command.contains("-signer")) command.addAll(List.of("-signerkeypass", new String(PASSWORD)));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (process.waitFor() != 0) throw new IOException("keytool failed: " + output.strip());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while keytool ran", e);
        }
    }

    // tag::contexts[]
    /// Both sides trust the authority, and only it. `owner` is whose key and certificate we show (or null).
    static SSLContext context(String owner) throws IOException, GeneralSecurityException {
        Path folder = certificates();
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        try (InputStream pem = Files.newInputStream(folder.resolve("ca.crt"))) {
            trusted.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(pem));
        }
        var trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trusted);
        var keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(owner == null ? null : KeyStore.getInstance(folder.resolve(owner + ".p12").toFile(), PASSWORD),
                PASSWORD);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
        return context;
    }

    /// The common name (CN) of the certificate the client showed, or null if it showed none.
    static String certificateName(SSLSession session) throws SSLException {
        try {
            var certificate = (X509Certificate) session.getPeerCertificates()[0];
            for (Rdn part : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
                if (part.getType().equalsIgnoreCase("CN")) return part.getValue().toString();
            }
            throw new SSLException("a certificate without a CN");
        } catch (SSLPeerUnverifiedException e) {
            return null;
        } catch (javax.naming.InvalidNameException e) {
            throw new SSLException("an unreadable certificate subject", e);
        }
    }
    // end::contexts[]

    /// A member of the chat: its TLS socket, the TCP socket under it, the lines waiting for it.
    record Member(SSLSocket socket, Socket tcp, BlockingQueue<String> outbox) {}

    /// A running chat: the port, who is in, and `close()` to stop it and every connection.
    record Server(ServerSocket listener, Map<String, Member> members, Set<Socket> connections, Thread acceptor)
            implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket connection : connections) connection.close();
        }
    }

    // tag::start[]
    static Server start(int port, ClientAuth clientAuth) throws IOException, GeneralSecurityException {
        SSLContext context = context("server");
        // A plain TCP listener: TLS goes on top of each accepted connection, and the TCP socket
        // underneath stays ours, to cut off a client at once (see broadcast).
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        Map<String, Member> members = new ConcurrentHashMap<>();
        Set<Socket> connections = ConcurrentHashMap.newKeySet();
        var guests = new AtomicInteger();
        Thread acceptor = Thread.ofPlatform().name("acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket tcp = listener.accept();
                    connections.add(tcp);
                    Thread.ofVirtual().name("client " + tcp.getPort()).start(() -> {
                        try {
                            serve(overTls(context, tcp, clientAuth), tcp, members, "~guest" + guests.incrementAndGet());
                        } catch (IOException e) {
                            log("%s: %s", tcp.getRemoteSocketAddress(), e.getMessage());
                        }
                        connections.remove(tcp);
                    });
                } catch (IOException e) {
                    if (!listener.isClosed()) log("accept failed: %s", e.getMessage());
                }
            }
        });
        return new Server(listener, members, connections, acceptor);
    }

    /// The server's side of TLS over an accepted TCP connection: TLS 1.3, AEAD suites, and a
    /// request for the client's certificate, optional (want) or required (need).
    static SSLSocket overTls(SSLContext context, Socket tcp, ClientAuth clientAuth) throws IOException {
        var tls = (SSLSocket) context.getSocketFactory().createSocket(tcp, null, true);   // server mode
        SSLParameters parameters = tls.getSSLParameters();
        parameters.setProtocols(PROTOCOLS);
        parameters.setCipherSuites(AEAD_SUITES);
        if (clientAuth == ClientAuth.NEED) parameters.setNeedClientAuth(true); else parameters.setWantClientAuth(true);
        tls.setSSLParameters(parameters);
        return tls;
    }
    // end::start[]

    // tag::serve[]
    static void serve(SSLSocket client, Socket tcp, Map<String, Member> members, String guestName) {
        var me = new Member(client, tcp, new ArrayBlockingQueue<>(OUTBOX));
        try {
            client.setSoTimeout((int) HANDSHAKE_TIMEOUT.toMillis());
            client.startHandshake();
            client.setSoTimeout(0);
            // The name: proven by a certificate, or a guest's name to be replaced with /nick.
            String proven = certificateName(client.getSession());
            log("handshake with %s: %s, %s", client.getRemoteSocketAddress(), client.getSession().getProtocol(),
                    proven == null ? "no client certificate" : "client certificate CN=" + proven);
            String name = proven != null ? proven : guestName;
            if (members.putIfAbsent(name, me) != null) {
                say(client, "* " + name + " is already here; closing");
                closePolitely(client);
                return;
            }
            Thread writer = Thread.ofVirtual().name("writer " + client.getPort()).start(() -> write(me));
            me.outbox().add("* welcome, " + name + (proven != null ? " (the name in your certificate)"
                    : "; choose a name with /nick NAME") + ". /who lists who is here, /quit leaves");
            log("%s joined", name);
            broadcast(members, name, "* " + name + " joined");
            try {
                chat(client, members, me, name, proven != null);
            } catch (LineTooLongException e) {
                me.outbox().offer("* " + e.getMessage() + "; closing");
            }
            me.outbox().offer(END);
            writer.join(Duration.ofSeconds(2));
            if (!writer.isAlive()) closePolitely(client);    // else it is stuck writing: the TCP close cuts it
        } catch (SSLException e) {
            log("%s: TLS failed: %s", client.getRemoteSocketAddress(), e.getMessage());
        } catch (IOException | InterruptedException e) {
            log("%s: connection ended: %s", client.getRemoteSocketAddress(), e.getMessage());
        } finally {
            closeQuietly(tcp);              // the TCP socket under TLS: closing it never waits for a writer
            for (var member : members.entrySet()) {
                if (member.getValue() == me && members.remove(member.getKey(), me)) {
                    log("%s left", member.getKey());
                    broadcast(members, member.getKey(), "* " + member.getKey() + " left");
                }
            }
        }
    }

    /// Reads the client's lines until it leaves or says /quit.
    static void chat(SSLSocket client, Map<String, Member> members, Member me, String name, boolean proven)
            throws IOException {
        for (String raw; (raw = readLine(client.getInputStream())) != null; ) {
            // Strip control characters: nobody may ring bells or recolour other people's terminals.
            String line = raw.replaceAll("\\p{Cc}", "").strip();
            if (line.isEmpty()) continue;
            String[] words = line.split("\\s+", 2);
            switch (words[0]) {
                case "/quit" -> {
                    me.outbox().offer("* bye");
                    return;
                }
                case "/who" -> me.outbox().offer("* here: " + String.join(", ", new TreeSet<>(members.keySet())));
                case "/nick" -> {
                    if (proven) {
                        me.outbox().offer("* your name comes from your certificate: " + name);
                    } else if (words.length < 2 || !words[1].matches("[A-Za-z0-9_-]{1,16}")) {
                        me.outbox().offer("* a name is 1 to 16 letters, digits, _ or -");
                    } else if (members.putIfAbsent("~" + words[1], me) != null) {
                        me.outbox().offer("* ~" + words[1] + " is taken");
                    } else {
                        members.remove(name, me);
                        broadcast(members, null, "* " + name + " is now ~" + words[1]);
                        name = "~" + words[1];
                    }
                }
                default -> {
                    if (line.startsWith("/")) me.outbox().offer("* unknown command " + words[0]);
                    else broadcast(members, name, name + ": " + line);
                }
            }
        }
    }
    // end::serve[]

    // tag::outbox[]
    /// Gives the line to every member but `from`. A member whose outbox is full is too slow: it goes.
    static void broadcast(Map<String, Member> members, String from, String line) {
        members.forEach((name, member) -> {
            if (name.equals(from)) return;
            if (!member.outbox().offer(line) && !member.tcp().isClosed()) {
                log("%s is not reading: %d lines waiting; disconnecting it", name, OUTBOX);
                // Close the TCP socket, not the TLS one: a TLS close would first send close_notify,
                // and wait for the writer that is stuck on this very client.
                closeQuietly(member.tcp());
            }
        });
    }

    /// One writer per member: a slow network or a stalled client blocks only its own writer.
    static void write(Member member) {
        try {
            OutputStream out = member.socket().getOutputStream();
            for (String line; !(line = member.outbox().take()).equals(END); ) {
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                if (member.outbox().isEmpty()) out.flush();
            }
            out.flush();
        } catch (IOException | InterruptedException e) {
            closeQuietly(member.tcp());
        }
    }
    // end::outbox[]

    static String readLine(InputStream in) throws IOException {
        var line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; ) {
            if (b == -1) return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            if (line.size() == MAX_LINE) throw new LineTooLongException("line longer than " + MAX_LINE + " bytes");
            line.write(b);
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    static final class LineTooLongException extends IOException {
        LineTooLongException(String message) {
            super(message);
        }
    }

    static void say(Socket socket, String line) throws IOException {
        socket.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
    }

    /// Sends our end first (TLS close_notify, TCP FIN) and reads what is still coming for a moment:
    /// closing with unread bytes would make the kernel send a reset, which can eat our last line.
    static void closePolitely(SSLSocket socket) {
        try {
            socket.shutdownOutput();
            socket.setSoTimeout(1_000);
            socket.getInputStream().skip(1 << 16);
        } catch (IOException e) {
            // The client closed already, or stayed quiet: either way we are done.
        }
    }

    static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // Closing is all we wanted.
        }
    }

    static void log(String format, Object... args) {
        System.out.printf("%tT [%s] %s%n", LocalTime.now(), Thread.currentThread().getName(),
                args.length == 0 ? format : format.formatted(args));
    }

    // tag::connect[]
    /// Connects with TCP, then TLS, checking that the server's certificate names `serverName`.
    static SSLSocket connect(SSLContext context, InetSocketAddress server, String serverName) throws IOException {
        var tcp = new Socket();
        tcp.connect(server, 5_000);
        tcp.setSoTimeout(10_000);
        var tls = (SSLSocket) context.getSocketFactory().createSocket(tcp, serverName, server.getPort(), true);
        SSLParameters parameters = tls.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        parameters.setProtocols(PROTOCOLS);
        parameters.setCipherSuites(AEAD_SUITES);
        tls.setSSLParameters(parameters);
        return tls;
    }
    // end::connect[]

    static void runClient(String host, int port, String owner) throws Exception {
        try (SSLSocket tls = connect(context(owner), new InetSocketAddress(host, port), host)) {
            tls.startHandshake();
            tls.setSoTimeout(0);
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    for (String line; (line = readLine(tls.getInputStream())) != null; ) System.out.println(line);
                } catch (IOException e) {
                    System.err.println("connection ended: " + e.getMessage());
                }
            });
            var stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = stdin.readLine()) != null && reader.isAlive(); ) say(tls, line);
            if (reader.isAlive()) say(tls, "/quit");
            reader.join(Duration.ofSeconds(5));
        }
    }

    public static void main(String[] args) throws Exception {
        int port = DEFAULT_PORT;
        String host = null, owner = null;
        boolean client = false;
        ClientAuth clientAuth = ClientAuth.WANT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    System.exit(0);
                }
                case "--client" -> client = true;
                case "--require-client-cert" -> clientAuth = ClientAuth.NEED;
                case "--as" -> owner = i + 1 < args.length ? args[++i] : usageError("--as needs a name");
                case "--host" -> host = i + 1 < args.length ? args[++i] : usageError("--host needs a name");
                case "--port" -> port = parsePort(i + 1 < args.length ? args[++i] : usageError("--port needs a number"));
                default -> usageError("unknown argument: " + args[i]);
            }
        }
        if (owner != null && !USERS.contains(owner)) usageError("--as takes one of " + USERS);
        if (client) {
            try {
                runClient(host == null ? "localhost" : host, port, owner);
            } catch (IOException e) {
                System.err.println("Cannot chat on port " + port + ": " + e.getMessage());
                System.exit(1);
            }
            return;
        }
        try (Server server = start(port, clientAuth)) {
            log("listening on %s:%d (TLS 1.3, client certificates %s); try: ./jbang lessons/17_TlsChat.java --client --as alice --port %d",
                    server.listener().getInetAddress().getHostAddress(), server.port(),
                    clientAuth == ClientAuth.NEED ? "required" : "optional", server.port());
            server.acceptor().join();
        } catch (BindException e) {
            System.err.printf("Port %d is already in use (%s). Is another lesson still running? "
                    + "Stop it, or choose another port: --port 0 picks a free one.%n", port, e.getMessage());
            System.exit(1);
        } catch (SocketException e) {
            System.err.println("Cannot listen on port " + port + ": " + e.getMessage());
            System.exit(1);
        }
    }

    static int parsePort(String text) {
        try {
            int port = Integer.parseInt(text);
            return port >= 0 && port <= 65_535 ? port : usageError("a port is a number from 0 to 65535, not " + port);
        } catch (NumberFormatException e) {
            return usageError("not a number: " + text);
        }
    }

    static <T> T usageError(String problem) {
        System.err.println("error: " + problem);
        System.err.print(USAGE);
        System.exit(2);
        return null;
    }
}
