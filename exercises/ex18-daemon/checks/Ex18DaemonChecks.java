import grading.Answers;
import grading.Check;
import grading.Client;
import grading.Expect;
import grading.Lab;
import grading.TcpQueues;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/// The checked exercises of chapter 18: a JVM's exit status after SIGTERM, what clients see of a
/// server killed with SIGKILL, and a stop that drains.
public final class Ex18DaemonChecks implements Lab {

    static final String FILE = "predictions.txt";

    @Override
    public String title() {
        return "Daemon";
    }

    @Override
    public List<Check> checks() {
        return List.of(
                Check.core("predicts a JVM's exit status after SIGTERM", 10,
                        "a process ended by a signal it did not handle reports 128 + the signal's number; the JVM's hooks run, then it ends the way the signal says",
                        Ex18DaemonChecks::exitStatus).within(Duration.ofSeconds(60)),
                Check.core("predicts what clients read after the server is killed", 10,
                        "a killed process cannot close anything, so the kernel closes its sockets for it: in the normal way, unless bytes were left unread",
                        Ex18DaemonChecks::killed).within(Duration.ofSeconds(60)),
                Check.core("Draining: a stop finishes each line, says BYE, and accepts no one new", 10,
                        "close the listener first; a handler whose read times out sees `stopping` and, between two lines, says GOODBYE; stop() waits for the handlers (Thread.join with what is left of DRAIN_LIMIT)",
                        Ex18DaemonChecks::drains).within(Duration.ofSeconds(30)));
    }

    record Child(Process process, BufferedReader out, int port) implements AutoCloseable {
        String nextLine() throws IOException {
            return out.readLine();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    static Child child(String mode) throws IOException {
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Ex18Child.class.getName(), mode)
                .redirectErrorStream(true).start();
        var out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String ready = out.readLine();
        if (ready == null || !ready.startsWith("ready ")) {
            process.destroyForcibly();
            throw new AssertionError("the server process did not start: " + ready);
        }
        return new Child(process, out, Integer.parseInt(ready.substring(6)));
    }

    static void exitStatus() throws Exception {
        long predicted = Answers.number(FILE, "exit-after-sigterm");
        try (var server = child("hook")) {
            server.process().toHandle().destroy();               // SIGTERM, as kill PID sends (Process.destroy would also close our end of its output)
            String said = server.nextLine();
            Expect.that(server.process().waitFor(30, TimeUnit.SECONDS), "the server process did not end within 30 s of SIGTERM");
            int status = server.process().exitValue();
            Expect.that(status == predicted, "you predicted " + predicted + "; after SIGTERM the JVM ran its hook (it said "
                    + Expect.show(said) + ") and its exit status was " + status);
        }
    }

    static String read(Socket socket) {
        try {
            return String.valueOf(socket.getInputStream().read());
        } catch (IOException e) {
            return e.getClass().getSimpleName() + " (\"" + e.getMessage() + "\")";
        }
    }

    static void killed() throws Exception {
        String idle = Answers.prediction(FILE, "read-after-kill-idle");
        String unread = Answers.prediction(FILE, "read-after-kill-unread");
        try (var server = child("serve");
                var quiet = new Socket(InetAddress.getLoopbackAddress(), server.port());
                var talker = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            quiet.setSoTimeout(5_000);
            talker.setSoTimeout(5_000);
            Expect.equal("accepted 1", server.nextLine(), "the server process's output");
            Expect.equal("accepted 2", server.nextLine(), "the server process's output");
            talker.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
            // Wait until the 6 bytes sit in the server's receive queue, unread.
            Expect.eventually(Duration.ofSeconds(5), () -> queued(server.port(), talker.getLocalPort()) == 6,
                    "the 6 bytes of \"hello\\n\" did not reach the server's receive queue");
            server.process().destroyForcibly();                  // SIGKILL: no hook, no close()
            server.process().waitFor(10, TimeUnit.SECONDS);
            String quietRead = read(quiet);
            String talkerRead = read(talker);
            Expect.that(quietRead.equals(idle) || quietRead.startsWith(idle + " "),
                    "you predicted read-after-kill-idle: " + idle + "; the client that sent nothing read " + quietRead);
            Expect.that(talkerRead.equals(unread) || talkerRead.startsWith(unread + " "),
                    "you predicted read-after-kill-unread: " + unread + "; the client whose \"hello\\n\" was never read got " + talkerRead);
        }
    }

    static long queued(int localPort, int remotePort) {
        try {
            return TcpQueues.of(localPort, remotePort).map(TcpQueues.Queues::receive).orElse(-1L);
        } catch (IOException e) {
            return -1;
        }
    }

    static void drains() throws Exception {
        var server = Draining.start(0);
        try (var writing = Client.connect(server.port());
                var idle = Client.connect(server.port())) {
            writing.echo("first");
            idle.echo("hello");
            writing.send("hal");
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> {
                try {
                    server.stop();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Expect.eventually(Duration.ofSeconds(5), () -> refused(server.port()),
                    "after stop() began, a new client could still connect: stop accepting first");
            Expect.equal(Draining.GOODBYE, idle.readLine(), "what an idle client reads after stop() began");
            idle.expectClosed("after GOODBYE to an idle client");
            writing.send("f\n");
            Expect.equal("half", writing.readLine(), "after stop() began with \"hal\" half sent, then \"f\\n\": the echo of the line in progress");
            Expect.equal(Draining.GOODBYE, writing.readLine(), "what that client reads after its line's echo");
            writing.expectClosed("after GOODBYE");
            stopped.get(Draining.DRAIN_LIMIT.toMillis() + 3_000, TimeUnit.MILLISECONDS);
        } finally {
            server.listener.close();
            for (Socket s : server.connections) s.close();
        }
    }

    static boolean refused(int port) {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1_000);
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
