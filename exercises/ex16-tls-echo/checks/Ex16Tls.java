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
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/// Certificates and a TLS echo server for chapter 16's checks: made once per grading, with the
/// JDK's keytool, in a fresh folder under target/.
final class Ex16Tls {

    static final char[] PASSWORD = "socket-lab".toCharArray();
    private static Path folder;

    private Ex16Tls() {
    }

    /// The folder with `localhost.p12`/`.crt` (names localhost and 127.0.0.1) and
    /// `other.p12`/`.crt` (names other.example only).
    static synchronized Path folder() throws Exception {
        if (folder != null) return folder;
        Files.createDirectories(Path.of("target"));
        Path dir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "ex16-certificates-");
        var keytools = new ArrayList<Process>();
        keytools.add(keytool(dir, "localhost", "CN=localhost", "SAN=dns:localhost,ip:127.0.0.1"));
        keytools.add(keytool(dir, "other", "CN=other.example", "SAN=dns:other.example"));
        for (Process p : keytools) {
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) throw new IOException("keytool failed: " + output);
        }
        for (String name : List.of("localhost", "other")) {
            Files.writeString(dir.resolve(name + ".crt"), pem(keys(dir, name).getCertificate(name)));
        }
        folder = dir;
        return dir;
    }

    static Process keytool(Path dir, String alias, String dname, String names) throws IOException {
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", dname,
                "-ext", names, "-validity", "2", "-storetype", "PKCS12",
                "-keystore", dir.resolve(alias + ".p12").toString(), "-storepass", new String(PASSWORD))
                .redirectErrorStream(true).start();
    }

    static KeyStore keys(Path dir, String name) throws IOException {
        try {
            return KeyStore.getInstance(dir.resolve(name + ".p12").toFile(), PASSWORD);
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
