import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/// Chapter 16, exercise 3: a TLS client that trusts exactly one certificate, speaks TLS 1.3
/// only, and checks that the server's certificate names the host it dialled.
///
/// Run it against lesson 16: `java TlsClient.java localhost 1234 lessons/.local/tls-echo/localhost.crt`.
/// Check it: `./jbang labs/Grade.java ex16`.
class TlsClient {

    /// Connects to `host` and completes the handshake (or throws): the server must prove a
    /// certificate that `certificate` (a PEM file) is, for the name `host`, over TLS 1.3.
    static SSLSocket connect(String host, int port, Path certificate) throws Exception {
        // TODO(exercise): make an SSLContext whose trust store holds the one certificate in
        //  `certificate` (lesson 16's clientContext), and use its socket factory instead of the
        //  default one, which trusts the JDK's public authorities and nothing of ours.
        SSLSocketFactory factory = (SSLSocketFactory) SSLSocketFactory.getDefault();
        var socket = (SSLSocket) factory.createSocket(host, port);
        // TODO(exercise): allow TLSv1.3 only, and make the handshake check the server's name
        //  against `host` (SSLParameters: an endpoint identification algorithm).
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
