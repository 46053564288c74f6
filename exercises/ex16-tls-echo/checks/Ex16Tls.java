import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/// Certificates and a TLS echo server for chapter 16's checks: made with the JDK's keytool, in
/// a folder under target/.
final class Ex16Tls {

    static final char[] PASSWORD = "socket-lab".toCharArray();
    private static Path folder;

    private Ex16Tls() {
    }

    /// Each certificate's alias, subject and names.
    static final String[][] CERTIFICATES = {
            {"localhost", "CN=localhost", "SAN=dns:localhost,ip:127.0.0.1"},
            {"other", "CN=other.example", "SAN=dns:other.example"}};

    /// The folder with `localhost.p12`/`.crt` (names localhost and 127.0.0.1) and
    /// `other.p12`/`.crt` (names other.example only); made once a day under target/, since
    /// keytool is slow to start. Gradings running side by side share it: the first to finish
    /// making it renames its folder into place, the others use that one and drop their own, and
    /// a folder in use is never replaced.
    static synchronized Path folder() throws Exception {
        if (folder != null) return folder;
        Path all = Path.of("target", "ex16-certificates").toAbsolutePath();
        Path today = all.resolve(java.time.LocalDate.now().toString());
        if (!Files.isDirectory(today)) {
            Files.createDirectories(all);
            Path fresh = Files.createTempDirectory(all, "new-");
            // One JVM runs keytool once per certificate (a JVM per run is slow to start).
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--add-exports=java.base/sun.security.tools.keytool=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), Ex16Tls.class.getName(), fresh.toString())
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) throw new IOException("keytool failed: " + output);
            for (String[] c : CERTIFICATES) {
                Files.writeString(fresh.resolve(c[0] + ".crt"), pem(KeyStore.getInstance(fresh.resolve(c[0] + ".p12").toFile(), PASSWORD)
                        .getCertificate(c[0])));
            }
            try {
                Files.move(fresh, today, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (java.nio.file.FileSystemException another) {
                if (!Files.isDirectory(today)) throw another;
                deleteTree(fresh);                   // another grading made today's first: use that one
            }
        }
        folder = today;
        return today;
    }

    /// Makes every certificate of CERTIFICATES in the folder args[0], with keytool's own code.
    public static void main(String[] args) throws Exception {
        var keytool = Class.forName("sun.security.tools.keytool.Main").getMethod("main", String[].class);
        for (String[] c : CERTIFICATES) {
            keytool.invoke(null, (Object) new String[] {"-genkeypair", "-alias", c[0], "-keyalg", "EC", "-groupname", "secp256r1",
                    "-dname", c[1], "-ext", c[2], "-validity", "2", "-storetype", "PKCS12",
                    "-keystore", Path.of(args[0], c[0] + ".p12").toString(), "-storepass", new String(PASSWORD)});
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    private static final java.util.Map<Path, KeyStore> LOADED = new java.util.concurrent.ConcurrentHashMap<>();

    /// A key store, loaded once (loading one derives its key from the password: slow on purpose).
    static KeyStore keys(Path dir, String name) throws IOException {
        try {
            Path file = dir.resolve(name + ".p12");
            KeyStore keys = LOADED.get(file);
            if (keys == null) {
                keys = KeyStore.getInstance(file.toFile(), PASSWORD);
                LOADED.put(file, keys);
            }
            return keys;
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    static String pem(Certificate certificate) throws IOException {
        try {
            return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(certificate.getEncoded())
                    + "\n-----END CERTIFICATE-----\n";
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IOException(e);
        }
    }

    /// A server context proving the name in `name.p12`.
    static SSLContext serverContext(String name) throws Exception {
        var keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys(folder(), name), PASSWORD);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers.getKeyManagers(), null, null);
        return context;
    }

    /// A client context trusting exactly the certificate in `name.p12`.
    static SSLContext clientContext(String name) throws Exception {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry(name, keys(folder(), name).getCertificate(name));
        var trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trusted);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(null, trustManagers.getTrustManagers(), null);
        return context;
    }

    /// A TLS line echo server on loopback, port 0, with the certificate `name` and only these
    /// protocols; what went wrong with each connection is put in `failures`.
    record Server(SSLServerSocket listener, LinkedBlockingQueue<Exception> failures) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    static Server echoServer(String name, String... protocols) throws Exception {
        var listener = (SSLServerSocket) serverContext(name).getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        listener.setEnabledProtocols(protocols);
        var server = new Server(listener, new LinkedBlockingQueue<>());
        Thread.ofPlatform().daemon().name("tls echo").start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket socket = listener.accept();
                    Thread.ofPlatform().daemon().start(() -> echo((SSLSocket) socket, server.failures()));
                } catch (IOException e) {
                    // Closed.
                }
            }
        });
        return server;
    }

    static void echo(SSLSocket socket, LinkedBlockingQueue<Exception> failures) {
        try (socket) {
            socket.setSoTimeout(5_000);
            socket.startHandshake();
            var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = socket.getOutputStream();
            for (String line; (line = in.readLine()) != null; ) {
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException e) {
            failures.add(e);
        }
    }

    /// A plain TCP relay from a loopback port to `target`, counting the bytes each way.
    record Relay(ServerSocket listener, java.util.concurrent.atomic.AtomicLong toServer,
            java.util.concurrent.atomic.AtomicLong toClient) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    static Relay relay(int target) throws IOException {
        var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        var relay = new Relay(listener, new java.util.concurrent.atomic.AtomicLong(), new java.util.concurrent.atomic.AtomicLong());
        Thread.ofPlatform().daemon().name("relay").start(() -> {
            try (Socket client = listener.accept(); var server = new Socket(InetAddress.getLoopbackAddress(), target)) {
                Thread up = Thread.ofPlatform().daemon().start(() -> pump(client, server, relay.toServer()));
                pump(server, client, relay.toClient());
                up.join();
            } catch (IOException | InterruptedException e) {
                // Closed.
            }
        });
        return relay;
    }

    /// Copies bytes, counting each before it goes on (so a count is complete once the peer read them).
    static void pump(Socket from, Socket to, java.util.concurrent.atomic.AtomicLong count) {
        byte[] buffer = new byte[16 * 1024];
        try {
            for (int n; (n = from.getInputStream().read(buffer)) > 0; ) {
                count.addAndGet(n);
                to.getOutputStream().write(buffer, 0, n);
            }
            to.shutdownOutput();
        } catch (IOException e) {
            // One side went away.
        }
    }
}
