import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;

/// The checked exercises of chapter 16: what one record costs on the wire, what a TLS server
/// makes of plain text, and a client that trusts one certificate for one name.
public final class Ex16TlsEchoChecks implements Lab {

    static final String FILE = "predictions.txt";

    @Override
    public String title() {
        return "TLS echo";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts the bytes of one TLS 1.3 record from the JDK carrying 6 bytes", 10,
                        "a record is a header in clear, then the encrypted data with one more byte that says what it is, then the AEAD's tag; and the JDK pads inside the encryption: the chapter's tap shows both",
                        Ex16TlsEchoChecks::recordBytes).within(Duration.ofSeconds(40)),
                Check.core("predicts what a TLS server throws when a client speaks plain text", 10,
                        "the server expects a TLS record (a ClientHello) and gets the letters of \"hello\": which exception of javax.net.ssl reports that?",
                        Ex16TlsEchoChecks::plainText).within(Duration.ofSeconds(40)),
                Check.core("TlsClient trusts one certificate, for its name, over TLS 1.3 only", 10,
                        "a trust store with the one certificate (lesson 16's clientContext); SSLParameters with setProtocols and setEndpointIdentificationAlgorithm(\"HTTPS\")",
                        Ex16TlsEchoChecks::client).within(Duration.ofSeconds(40)));
    }

    static void recordBytes() throws Exception {
        long predicted = Answers.number(FILE, "record-bytes");
        try (var server = Ex16Tls.echoServer("localhost", "TLSv1.3");
                var relay = Ex16Tls.relay(server.port());
                var socket = (SSLSocket) Ex16Tls.clientContext("localhost").getSocketFactory()
                        .createSocket(InetAddress.getLoopbackAddress(), relay.port())) {
            socket.setSoTimeout(5_000);
            socket.startHandshake();
            // The echo of a first line proves the server's handshake is over and every byte before it relayed.
            socket.getOutputStream().write("warm up\n".getBytes(StandardCharsets.UTF_8));
            Expect.that(socket.getInputStream().readNBytes(8).length == 8, "the TLS echo server did not echo \"warm up\"");
            long before = relay.toServer().get();
            socket.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
            Expect.that(socket.getInputStream().readNBytes(6).length == 6, "the TLS echo server did not echo \"hello\"");
            long bytes = relay.toServer().get() - before;
            Expect.that(bytes == predicted, "you predicted " + predicted + "; with " + socket.getSession().getCipherSuite()
                    + ", the 6 bytes \"hello\\n\" took " + bytes + " bytes on the wire");
        }
    }

    static void plainText() throws Exception {
        String predicted = Answers.prediction(FILE, "plain-text-exception");
        try (var server = Ex16Tls.echoServer("localhost", "TLSv1.3");
                var plain = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            plain.setSoTimeout(5_000);
            plain.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
            Exception failure = server.failures().poll(10, TimeUnit.SECONDS);
            Expect.that(failure != null, "the TLS server neither failed nor answered within 10 s after a plain \"hello\\n\"");
            String observed = failure.getClass().getSimpleName();
            Expect.that(observed.equals(predicted), "you predicted " + predicted + "; after a plain \"hello\\n\", the server's handshake threw "
                    + observed + ": " + failure.getMessage());
        }
    }

    static void client() throws Exception {
        var folder = Ex16Tls.folder();
        try (var server = Ex16Tls.echoServer("localhost", "TLSv1.3", "TLSv1.2")) {
            SSLSocket socket;
            try {
                socket = TlsClient.connect("localhost", server.port(), folder.resolve("localhost.crt"));
            } catch (Exception e) {
                throw new AssertionError("connect(\"localhost\", port, localhost.crt) to a server proving that very certificate threw "
                        + e, e);
            }
            try (socket) {
                Expect.equal("TLSv1.3", socket.getSession().getProtocol(), "the protocol with a server that speaks TLS 1.3 and 1.2");
                socket.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
                socket.getOutputStream().flush();
                Expect.equal("hello\n", new String(socket.getInputStream().readNBytes(6), StandardCharsets.UTF_8),
                        "the echo of \"hello\\n\" through the socket connect() returned");
            }
        }
        try (var server = Ex16Tls.echoServer("other", "TLSv1.3")) {
            refused(() -> TlsClient.connect("localhost", server.port(), folder.resolve("other.crt")),
                    "connect(\"localhost\", ...) trusting other.crt, to a server proving other.crt, a certificate for other.example only");
        }
        try (var server = Ex16Tls.echoServer("localhost", "TLSv1.2")) {
            refused(() -> TlsClient.connect("localhost", server.port(), folder.resolve("localhost.crt")),
                    "connect(\"localhost\", ...) to a server that proves localhost.crt but speaks TLS 1.2 only");
        }
    }

    static void refused(java.util.concurrent.Callable<SSLSocket> connect, String what) {
        SSLSocket socket;
        try {
            socket = connect.call();
        } catch (javax.net.ssl.SSLException expected) {
            return;                              // refused, as it must be
        } catch (Exception e) {
            throw new AssertionError(what + ": expected an SSLException from the handshake, got " + e, e);
        }
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closed.
        }
        throw new AssertionError(what + ": the handshake succeeded (" + socket.getSession().getProtocol() + "); it must fail");
    }
}
