///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/// Lesson 17 · TLS chat — the chat over TLS; with mutual TLS, the client's certificate is its name.
///
/// Run it: `./jbang lessons/17_TlsChat.java [--port 1234] [--require-client-cert]`; talk to it:
/// `openssl s_client -connect localhost:1234 -CAfile lessons/.local/tls-chat/ca.crt -verify_hostname localhost -quiet`.
/// Chapter: docs/chapters/17-tls-chat.adoc · Test: lessons/test/TlsChatTest.java ·
/// Lab: labs/07-tls-chat
/// Not here: the chat's limits and crowds (lesson 14); one certificate, the handshake and the bytes
/// on the wire (lesson 16); revoking a certificate (an exercise); a client of its own (openssl is one).
class TlsChat {
    static final int DEFAULT_PORT = 1234;
    /// Finished connections the kernel may hold before accept(): a crowd waits here while handshakes
    /// take their milliseconds of CPU, not in SYN retries (the JDK's default is 50). Capped by somaxconn.
    static final int BACKLOG = 1024;
    static final int MAX_LINE = 1024;
    static final int OUTBOX = 256;          // lines waiting for a slow reader; one more and it is disconnected
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    static final Path FOLDER = Path.of("lessons", ".local", "tls-chat");
    static final List<String> USERS = List.of("alice", "bob");     // client certificates made on first run
    static final char[] PASSWORD = "socket-lab".toCharArray();     // protects nothing: it is in the source
    static final String[] PROTOCOLS = {"TLSv1.3"};
    static final String[] AEAD_SUITES = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"};
    static final String END = "\0end";                              // tells a writer thread to stop

    // Refuse a client's renegotiation (TLS 1.2 has it, 1.3 not); read at the first handshake, so set it first.
    static { System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true"); }

    // tag::authority[]
    /// Makes a certificate authority once, and with it certificates for the server and the users.
    static synchronized Path certificates() throws IOException {
        if (Files.isDirectory(FOLDER)) return FOLDER;
        Files.createDirectories(FOLDER.getParent());
        // Work in a fresh private folder (mode 700), renamed when complete: nobody sees half of it.
        Path fresh = Files.createTempDirectory(FOLDER.getParent(), "new-");
        log("first run: making a certificate authority and certificates with keytool");
        String ca = fresh.resolve("ca.p12").toString(), crt = fresh.resolve("ca.crt").toString();
        // The authority: a self-signed certificate allowed to sign others (basic constraints: CA).
        keytool("-genkeypair", "-keystore", ca, "-alias", "ca", "-dname", "CN=Socket Lab chat CA", "-ext", "bc:c");
        issue(ca, fresh, "server", "CN=localhost", "SAN=dns:localhost,ip:127.0.0.1");   // the names it serves
        for (String user : USERS) issue(ca, fresh, user, "CN=" + user, "EKU=clientAuth");  // for clients only
        // The authority's certificate, public, for everybody to trust: PEM for openssl, a store for Java.
        keytool("-exportcert", "-rfc", "-keystore", ca, "-alias", "ca", "-file", crt);
        keytool("-importcert", "-noprompt", "-keystore", fresh.resolve("trust.p12").toString(), "-alias", "ca", "-file", crt);
        Files.move(fresh, FOLDER, StandardCopyOption.ATOMIC_MOVE);     // two first runs at once: one fails here
        return FOLDER;
    }

    /// A key pair made in the authority's store and signed by its key (-signer), then copied to a
    /// store of its own, `owner.p12`: what you would hand to that server or user.
    static void issue(String ca, Path folder, String owner, String subject, String extension) throws IOException {
        keytool("-genkeypair", "-keystore", ca, "-alias", owner, "-dname", subject, "-ext", extension,
                "-signer", "ca", "-signerkeypass", new String(PASSWORD));
        keytool("-importkeystore", "-srckeystore", ca, "-srcstorepass", new String(PASSWORD), "-srcalias", owner,
                "-destkeystore", folder.resolve(owner + ".p12").toString(), "-deststorepass", new String(PASSWORD));
    }
    // end::authority[]

    /// Runs the JDK's keytool, a program in the JDK's bin/, and says what it said if it fails. A key
    /// pair is EC (P-256), its certificate valid for a year; every store is protected by PASSWORD.
    static void keytool(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        command.addAll(List.of(args));
        if (args[0].equals("-genkeypair")) command.addAll(List.of("-keyalg", "EC", "-groupname", "secp256r1", "-validity", "365"));
        if (!args[0].equals("-importkeystore")) command.addAll(List.of("-storepass", new String(PASSWORD)));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.onExit().join().exitValue() != 0) throw new IOException("keytool " + args[0] + " failed: " + output.strip());
    }

    // tag::contexts[]
    /// Both sides trust the authority, and only it. `owner` is whose key and certificate we show (or null).
    static SSLContext context(String owner) throws IOException, GeneralSecurityException {
        Path folder = certificates();
        var trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(KeyStore.getInstance(folder.resolve("trust.p12").toFile(), PASSWORD));
        var keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(owner == null ? null : KeyStore.getInstance(folder.resolve(owner + ".p12").toFile(), PASSWORD),
                PASSWORD);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
        return context;
    }

    /// The common name (CN) in the certificate the client showed, or null if it showed none.
    static String certificateName(SSLSession session) throws SSLException {
        try {
            var subject = new LdapName(session.getPeerPrincipal().getName());   // "CN=alice", checked already
            return subject.getRdns().stream().filter(part -> part.getType().equalsIgnoreCase("CN"))
                    .map(part -> part.getValue().toString()).findFirst()
                    .orElseThrow(() -> new SSLException("a certificate without a CN"));
        } catch (SSLPeerUnverifiedException e) {
            return null;                                                        // no certificate: a guest
        } catch (InvalidNameException e) {
            throw new SSLException("an unreadable certificate subject", e);
        }
    }
    // end::contexts[]

    /// A member of the chat: its TLS socket, the TCP socket under it, the lines waiting for it.
    record Member(SSLSocket socket, Socket tcp, ArrayBlockingQueue<String> outbox) {}

    /// A running chat: the port, who is in, and `close()` to stop it and every connection.
    record Server(ServerSocket listener, Map<String, Member> members, Set<Socket> connections, Thread acceptor)
            implements AutoCloseable {
        int port() { return listener.getLocalPort(); }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket connection : connections) connection.close();
        }
    }

    // tag::start[]
    /// `requireCertificate`: mutual TLS, a client without a certificate is refused. Otherwise a
    /// client may show one (then it names the client) or come as a guest.
    static Server start(int port, boolean requireCertificate) throws IOException, GeneralSecurityException {
        SSLContext context = context("server");
        // A plain TCP listener: TLS goes on top of each accepted connection, and the TCP socket
        // underneath stays ours, to cut off a client at once (see broadcast).
        var listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        Map<String, Member> members = new ConcurrentHashMap<>();
        Set<Socket> connections = ConcurrentHashMap.newKeySet();
        Thread acceptor = Thread.ofPlatform().name("acceptor").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket tcp = listener.accept();
                    connections.add(tcp);
                    SSLSocket tls = overTls(context, tcp, requireCertificate);      // no handshake yet
                    Thread.ofVirtual().name("client " + tcp.getPort()).start(() -> {
                        serve(tls, tcp, members);
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
    /// request for the client's certificate, required (need) or optional (want).
    static SSLSocket overTls(SSLContext context, Socket tcp, boolean requireCertificate) throws IOException {
        var tls = (SSLSocket) context.getSocketFactory().createSocket(tcp, null, true);   // server mode
        tls.setEnabledProtocols(PROTOCOLS);
        tls.setEnabledCipherSuites(AEAD_SUITES);
        if (requireCertificate) tls.setNeedClientAuth(true); else tls.setWantClientAuth(true);
        return tls;
    }
    // end::start[]

    // tag::serve[]
    static void serve(SSLSocket client, Socket tcp, Map<String, Member> members) {
        var me = new Member(client, tcp, new ArrayBlockingQueue<>(OUTBOX));
        String name = "~guest" + tcp.getPort();           // a guest's name, until a certificate or /nick
        try {
            client.setSoTimeout((int) HANDSHAKE_TIMEOUT.toMillis());
            client.startHandshake();
            client.setSoTimeout(0);
            String proven = certificateName(client.getSession());
            log("handshake with %s: %s, %s", client.getRemoteSocketAddress(), client.getSession().getProtocol(),
                    proven == null ? "no client certificate" : "client certificate CN=" + proven);
            if (proven != null) name = proven;
            if (members.putIfAbsent(name, me) != null) {
                client.getOutputStream().write(("* " + name + " is already here; closing\n").getBytes(StandardCharsets.UTF_8));
                name = null;          // not ours to remove below
                return;
            }
            Thread writer = Thread.ofVirtual().name("writer " + client.getPort()).start(() -> write(me));
            me.outbox().add("* welcome, " + name + (proven != null ? " (the name in your certificate)"
                    : "; choose a name with /nick NAME") + ". /who lists who is here, /quit leaves");
            log("%s joined", name);
            broadcast(members, name, "* " + name + " joined");
            try {
                for (String raw; (raw = readLine(client.getInputStream())) != null; ) {
                    // Strip control characters: nobody may ring bells or recolour other people's terminals.
                    String line = raw.replaceAll("\\p{Cc}", "").strip();
                    if (line.isEmpty()) continue;
                    String[] words = line.split("\\s+", 2);
                    String wanted = words.length < 2 ? "" : words[1];
                    if (words[0].equals("/quit")) { me.outbox().offer("* bye"); break; }
                    switch (words[0]) {
                        case "/who" -> me.outbox().offer("* here: " + String.join(", ", members.keySet().stream().sorted().toList()));
                        case "/nick" -> {
                            if (proven != null) me.outbox().offer("* your name comes from your certificate: " + name);
                            else if (!wanted.matches("[A-Za-z0-9_-]{1,16}")) me.outbox().offer("* a name is 1 to 16 letters, digits, _ or -");
                            else if (members.putIfAbsent("~" + wanted, me) != null) me.outbox().offer("* ~" + wanted + " is taken");
                            else {
                                members.remove(name, me);
                                broadcast(members, null, "* " + name + " is now ~" + wanted);
                                name = "~" + wanted;
                            }
                        }
                        default -> {
                            if (line.startsWith("/")) me.outbox().offer("* unknown command " + words[0]);
                            else broadcast(members, name, name + ": " + line);
                        }
                    }
                }
            } catch (ProtocolException e) {
                me.outbox().offer("* " + e.getMessage() + "; closing");
            }
            me.outbox().offer(END);
            writer.join(Duration.ofSeconds(2));
            if (!writer.isAlive()) client.close();      // close_notify, then FIN; else the writer is stuck: cut below
        } catch (SSLException e) {
            log("%s: TLS failed: %s", tcp.getRemoteSocketAddress(), e.getMessage());
        } catch (IOException | InterruptedException e) {
            log("%s: connection ended: %s", tcp.getRemoteSocketAddress(), e.getMessage());
        } finally {
            closeQuietly(tcp);              // the TCP socket under TLS: closing it never waits for a writer
            if (name != null && members.remove(name, me)) {
                log("%s left", name);
                broadcast(members, name, "* " + name + " left");
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
            var out = member.socket().getOutputStream();
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

    /// One line of at most MAX_LINE bytes, or null at end of stream.
    static String readLine(InputStream in) throws IOException {
        var line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; ) {
            if (b == -1) return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            if (line.size() == MAX_LINE) throw new ProtocolException("line longer than " + MAX_LINE + " bytes");
            line.write(b);
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    static void closeQuietly(Socket socket) {
        try { socket.close(); } catch (IOException e) { /* closing is all we wanted */ }
    }

    // ---- The command line. Below this line every lesson has the same block; read it once. ----

    static final String USAGE = """
            Usage: ./jbang lessons/17_TlsChat.java [--port N] [--require-client-cert] [--help]

              --port N                the TCP port to listen on (default %d; 0 picks any free port)
              --require-client-cert   mutual TLS: refuse clients without a certificate
              --help                  print this help and exit

            In the chat: /nick NAME, /who, /quit; anything else goes to everyone. Join it with
              openssl s_client -connect localhost:1234 -CAfile lessons/.local/tls-chat/ca.crt -quiet
            and, to be alice, -cert alice.pem -key alice.pem (chapter 17 makes them).
            """.formatted(DEFAULT_PORT);

    public static void main(String[] args) throws Exception {
        var commandLine = new CommandLine(USAGE, args);
        int port = commandLine.port(DEFAULT_PORT);
        boolean requireCertificate = commandLine.flag("--require-client-cert");
        commandLine.done();
        try (Server server = start(port, requireCertificate)) {
            log("listening on %s:%d (TLS 1.3, client certificates %s); try: openssl s_client -connect localhost:%d -CAfile %s -quiet",
                    server.listener().getInetAddress().getHostAddress(), server.port(),
                    requireCertificate ? "required" : "optional", server.port(), FOLDER.resolve("ca.crt"));
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
