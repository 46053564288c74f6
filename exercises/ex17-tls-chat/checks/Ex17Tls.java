import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/// Certificates for chapter 17's checks, made once per grading with the JDK's keytool in a fresh
/// folder under target/ kept for a day: the server's (localhost) and three members' (self-signed; the server
/// trusts each of them, and each trusts the server's).
final class Ex17Tls {

    static final char[] PASSWORD = "socket-lab".toCharArray();
    /// Each certificate's alias and subject.
    static final Map<String, String> SUBJECTS = Map.of(
            "localhost", "CN=localhost",
            "alice", "CN=alice",
            "bob", "CN=bob, OU=Chat, O=Socket Lab",
            "carol", "OU=Chat, CN=carol, O=Socket Lab");
    static final List<String> MEMBERS = List.of("alice", "bob", "carol");
    private static Path folder;

    private Ex17Tls() {
    }

    /// The certificates' folder: kept in target/ between gradings (for a day), since keytool is slow to start.
    static synchronized Path folder() throws Exception {
        if (folder != null) return folder;
        Path kept = Path.of("target", "ex17-certificates").toAbsolutePath();
        if (!Files.isDirectory(kept) || Files.getLastModifiedTime(kept).toInstant().isBefore(java.time.Instant.now().minus(java.time.Duration.ofDays(1)))) {
            Files.createDirectories(kept.getParent());
            Path fresh = Files.createTempDirectory(kept.getParent(), "ex17-new-");
            // One JVM runs keytool once per certificate (a JVM per run is slow to start).
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--add-exports=java.base/sun.security.tools.keytool=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), Ex17Tls.class.getName(), fresh.toString())
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) throw new IOException("keytool failed: " + output);
            deleteTree(kept);
            Files.move(fresh, kept, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        folder = kept;
        return kept;
    }

    /// Makes every certificate of SUBJECTS in the folder args[0], with keytool's own code.
    public static void main(String[] args) throws Exception {
        var keytool = Class.forName("sun.security.tools.keytool.Main").getMethod("main", String[].class);
        for (var entry : SUBJECTS.entrySet()) {
            keytool.invoke(null, (Object) new String[] {"-genkeypair", "-alias", entry.getKey(), "-keyalg", "EC",
                    "-groupname", "secp256r1", "-dname", entry.getValue(), "-validity", "2", "-storetype", "PKCS12",
                    "-keystore", Path.of(args[0], entry.getKey() + ".p12").toString(), "-storepass", new String(PASSWORD)});
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    private static final Map<String, KeyStore> LOADED = new java.util.concurrent.ConcurrentHashMap<>();

    /// A key store, loaded once (loading one derives its key from the password: slow on purpose).
    static KeyStore keys(String name) throws Exception {
        Path file = folder().resolve(name + ".p12");
        KeyStore keys = LOADED.get(name);
        if (keys == null) {
            keys = KeyStore.getInstance(file.toFile(), PASSWORD);
            LOADED.put(name, keys);
        }
        return keys;
    }

    /// A context that proves `me` (null: no certificate) and trusts the certificates of `trusted`.
    static SSLContext context(String me, List<String> trusted) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        for (String name : trusted) trust.setCertificateEntry(name, keys(name).getCertificate(name));
        var trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        var keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(me == null ? null : keys(me), PASSWORD);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(me == null ? null : keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
        return context;
    }

    static SSLContext serverContext() throws Exception {
        return context("localhost", MEMBERS);
    }

    static SSLContext memberContext(String member) throws Exception {
        return context(member, List.of("localhost"));
    }

    /// A plain TCP relay from a loopback port to `target`, keeping every byte from the client.
    record Relay(ServerSocket listener, ByteArrayOutputStream fromClient) implements AutoCloseable {
        int port() {
            return listener.getLocalPort();
        }

        byte[] captured() {
            synchronized (fromClient) {
                return fromClient.toByteArray();
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    static Relay relay(int target) throws IOException {
        var listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        var relay = new Relay(listener, new ByteArrayOutputStream());
        Thread.ofPlatform().daemon().name("relay").start(() -> {
            try (Socket client = listener.accept(); var server = new Socket(InetAddress.getLoopbackAddress(), target)) {
                Thread up = Thread.ofPlatform().daemon().start(() -> pump(client, server, relay.fromClient()));
                pump(server, client, null);
                up.join();
            } catch (IOException | InterruptedException e) {
                // Closed.
            }
        });
        return relay;
    }

    static void pump(Socket from, Socket to, ByteArrayOutputStream keep) {
        byte[] buffer = new byte[16 * 1024];
        try {
            for (int n; (n = from.getInputStream().read(buffer)) > 0; ) {
                if (keep != null) {
                    synchronized (keep) {
                        keep.write(buffer, 0, n);
                    }
                }
                to.getOutputStream().write(buffer, 0, n);
            }
            to.shutdownOutput();
        } catch (IOException e) {
            // One side went away.
        }
    }
}
