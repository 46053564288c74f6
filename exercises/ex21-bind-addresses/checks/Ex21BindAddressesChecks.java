import grading.Answers;
import grading.Check;
import grading.Expect;
import grading.Lab;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/// The checked exercises of chapter 21, on loopback addresses (127.0.0.0/8 is all this machine's,
/// no root needed): who reaches a server bound to one address, what a wildcard bind answers and
/// forbids, and a client that does not wait for an address that never answers.
public final class Ex21BindAddressesChecks implements Lab {

    static final String FILE = "predictions.txt";

    @Override
    public String title() {
        return "Bind addresses";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts a connect to another loopback address than the one bound", 10,
                        "a server bound to one address receives only connections to that address: the kernel looks for a listener by address AND port",
                        Ex21BindAddressesChecks::otherAddress),
                Check.core("predicts what a wildcard bind answers, and forbids", 10,
                        "an accepted socket's local address comes from the SYN that made it: which address did the client dial? And who already owns 127.0.0.1:P while the wildcard listens?",
                        Ex21BindAddressesChecks::wildcard),
                Check.core("HappyEyeballs connects past an address that never answers, in well under its timeout", 10,
                        "start each attempt on a thread of its own; wait for the first success or HEAD_START, whichever comes first, before starting the next",
                        Ex21BindAddressesChecks::happyEyeballs).within(Duration.ofSeconds(40)));
    }

    static String outcome(Check.Body body, String success) {
        try {
            body.run();
            return success;
        } catch (Exception e) {
            return e.getClass().getSimpleName() + " (\"" + e.getMessage() + "\")";
        }
    }

    static boolean matches(String observed, String predicted) {
        return observed.equals(predicted) || observed.startsWith(predicted + " ");
    }

    static void otherAddress() throws Exception {
        String predicted = Answers.prediction(FILE, "other-loopback-address");
        try (var server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            int port = server.getLocalPort();
            String observed = outcome(() -> {
                try (var socket = new Socket()) {
                    socket.connect(new InetSocketAddress("127.0.0.2", port), 3_000);
                }
            }, "connects");
            Expect.that(matches(observed, predicted), "you predicted " + predicted + "; with a server on 127.0.0.1:" + port
                    + ", connect to 127.0.0.2:" + port + " gave " + observed);
        }
    }

    static void wildcard() throws Exception {
        String local = Answers.prediction(FILE, "accepted-local-address");
        String beside = Answers.prediction(FILE, "specific-beside-wildcard");
        try (var server = new ServerSocket(0, 50, InetAddress.getByName("0.0.0.0"))) {
            int port = server.getLocalPort();
            server.setSoTimeout(3_000);
            String observedLocal;
            try (var client = new Socket()) {
                client.connect(new InetSocketAddress("127.0.0.5", port), 3_000);
                try (Socket accepted = server.accept()) {
                    observedLocal = accepted.getLocalAddress().getHostAddress();
                }
            }
            String observedBeside = outcome(() -> {
                try (var second = new ServerSocket()) {
                    second.setReuseAddress(true);
                    second.bind(new InetSocketAddress("127.0.0.1", port));
                }
            }, "binds");
            Expect.that(local.equals(observedLocal) || local.equals("/" + observedLocal), "you predicted accepted-local-address: " + local
                    + "; a server on 0.0.0.0:" + port + " accepted a connection to 127.0.0.5 whose local address is " + observedLocal);
            Expect.that(matches(observedBeside, beside), "you predicted specific-beside-wildcard: " + beside
                    + "; binding 127.0.0.1:" + port + " beside a listener on 0.0.0.0:" + port + " gave " + observedBeside);
        }
    }

    /// A listener on `address` whose accept queue is full: a SYN to it is dropped, so a connect
    /// waits without an answer, like one to a host behind a firewall that drops.
    record Silent(ServerSocket listener, List<Socket> filling) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            for (Socket s : filling) s.close();
            listener.close();
        }
    }

    static Silent silent(String address) throws IOException {
        var listener = new ServerSocket(0, 1, InetAddress.getByName(address));
        var filling = new ArrayList<Socket>();
        // Connect until one connect gets no answer: the queue is full, nothing is ever accepted.
        for (int i = 0; i < 20; i++) {
            var socket = new Socket();
            try {
                socket.connect(listener.getLocalSocketAddress(), 500);
                filling.add(socket);
            } catch (SocketTimeoutException full) {
                socket.close();
                return new Silent(listener, filling);
            }
        }
        for (Socket s : filling) s.close();
        listener.close();
        throw new AssertionError("could not fill an accept queue on " + address + " to make an address that never answers");
    }

    static void happyEyeballs() throws Exception {
        Duration timeout = Duration.ofSeconds(3);
        try (var silent = silent("127.0.0.2");
                var good = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.3"))) {
            var addresses = List.of((InetSocketAddress) silent.listener().getLocalSocketAddress(),
                    new InetSocketAddress("127.0.0.3", good.getLocalPort()));
            long start = System.nanoTime();
            var attempt = CompletableFuture.supplyAsync(() -> {
                try {
                    return HappyEyeballs.connect(addresses, timeout);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Socket socket;
            try {
                socket = attempt.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new AssertionError("connect(" + addresses + ", 3 s), the first never answering, the second listening, threw "
                        + e.getCause(), e);
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            try (socket) {
                Expect.equal(addresses.get(1), socket.getRemoteSocketAddress(), "the address connected to");
                Expect.that(socket.isConnected() && !socket.isClosed(), "connect returned a socket that is not connected");
                Expect.that(millis < 1_500, "connect(" + addresses + ", 3 s), the first never answering, the second listening, took "
                        + millis + " ms: the second attempt should start " + HappyEyeballs.HEAD_START.toMillis() + " ms after the first");
            }
        }
        // Where every address refuses, it fails, and fast: refusals need no timeout.
        int refusing;
        try (var probe = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.4"))) {
            refusing = probe.getLocalPort();
        }
        var none = List.of(new InetSocketAddress("127.0.0.4", refusing), new InetSocketAddress("127.0.0.6", refusing));
        Expect.throwsA(IOException.class, () -> HappyEyeballs.connect(none, timeout).close(),
                "connect(" + none + ", 3 s), where nothing listens");
    }
}
