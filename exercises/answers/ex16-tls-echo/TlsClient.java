import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/// Chapter 16, exercise 3: a TLS client that trusts exactly one certificate, speaks TLS 1.3
/// only, and checks that the server's certificate names the host it dialled.
///
/// Run it against lesson 16: `java TlsClient.java localhost 1234 lessons/.local/tls-echo/localhost.crt`.
/// Check it: `./jbang labs/Grade.java ex16`.
class TlsClient {

    /// Connects to `host` and completes the handshake (or throws): the server must prove a
    /// certificate that `certificate` (a PEM file) is, for the name `host`, over TLS 1.3.
    static SSLSocket connect(String host, int port, Path certificate) throws Exception {
        // Trust exactly one certificate: the one in the file, and no public authority.
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        try (InputStream in = Files.newInputStream(certificate)) {
            trusted.setCertificateEntry("server", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        var trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trusted);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(null, trustManagers.getTrustManagers(), null);
        var socket = (SSLSocket) context.getSocketFactory().createSocket(host, port);
        // TLS 1.3 only, and the certificate must name the host we dialled.
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setProtocols(new String[] {"TLSv1.3"});
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(parameters);
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        return socket;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3 || !args[1].matches("\\d{1,5}")) {
            System.err.println("Usage: java TlsClient.java HOST PORT CERTIFICATE.crt");
            System.exit(2);
        }
        try (SSLSocket socket = connect(args[0], Integer.parseInt(args[1]), Path.of(args[2]))) {
            System.out.println("connected with " + socket.getSession().getProtocol() + ", " + socket.getSession().getCipherSuite());
            socket.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
            var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            System.out.println("the server says: " + in.readLine());
        }
    }
}
