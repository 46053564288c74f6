import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NettyEchoTest {
    static NettyEcho.Server start(String transport, int idleSeconds) throws Exception {
        return NettyEcho.start(new NettyEcho.Options(0, 1, transport, idleSeconds));
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "nio"})
    void echoesLinesForSeveralClientsOnOneEventLoop(String transport) throws Exception {
        try (var server = start(transport, 60)) {
            List<LineClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 20; i++) clients.add(new LineClient(server.port()));
                for (int round = 0; round < 3; round++) {
                    for (int i = 0; i < clients.size(); i++) {
                        assertThat(clients.get(i).ask("c" + i + " r" + round)).isEqualTo("c" + i + " r" + round);
                    }
                }
            } finally {
                for (LineClient c : clients) c.close();
            }
        }
    }

    @Test
    void usesTheNativeTransportWhereLinuxHasIt() throws Exception {
        try (var server = start("epoll", 60)) {
            String expected = System.getProperty("os.name").equals("Linux")
                    && System.getProperty("os.arch").equals("amd64") ? "epoll" : "nio";
            assertThat(server.transport()).isEqualTo(expected);
        }
    }

    @Test
    void putsALineSentInPiecesBackTogether() throws Exception {
        try (var server = start("nio", 60); var client = new LineClient(server.port())) {
            for (char c : "one byte at a time".toCharArray()) client.send(String.valueOf(c));
            client.send("\n");
            assertThat(client.readLine()).isEqualTo("one byte at a time");
        }
    }

    @Test
    void refusesAnOversizeLineAndKeepsServingOthers() throws Exception {
        try (var server = start("epoll", 60);
             var bystander = new LineClient(server.port());
             var offender = new LineClient(server.port())) {
            assertThat(bystander.ask("before")).isEqualTo("before");
            offender.send("x".repeat(NettyEcho.MAX_LINE + 100));
            assertThat(offender.readLine()).isEqualTo("ERROR line longer than 8192 bytes; closing");
            assertThat(offender.readLine()).isNull();
            assertThat(bystander.ask("after")).isEqualTo("after");
        }
    }

    @Test
    void closesAnIdleConnectionWithAMessage() throws Exception {
        try (var server = start("epoll", 1); var idle = new LineClient(server.port())) {
            assertThat(idle.ask("one line, then silence")).isEqualTo("one line, then silence");
            assertThat(idle.readLine()).isEqualTo("ERROR idle for too long; closing");
            assertThat(idle.readLine()).isNull();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "nio"})
    void listensWithTheBacklogItStates(String transport) throws Exception {
        try (var server = start(transport, 60)) {
            assertThat(Listeners.backlog(server.port())).isEqualTo(Math.min(NettyEcho.BACKLOG, Listeners.somaxconn()));
        }
    }

    @Test
    void mainPrintsThePortItGot() throws Exception {
        try (var run = LessonRun.start("NettyEcho", "--port", "0");
             var client = new LineClient(run.awaitListeningPort())) {
            assertThat(client.ask("through main")).isEqualTo("through main");
        }
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (var run = LessonRun.start("NettyEcho", "--port", String.valueOf(taken.getLocalPort()))) {
                assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(1);
                assertThat(run.stderr()).contains("already in use").contains("--port 0");
            }
        }
    }

    @Test
    void anUnknownTransportIsAUsageError() throws IOException, InterruptedException {
        try (var run = LessonRun.start("NettyEcho", "--transport", "carrier-pigeon")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(2);
            assertThat(run.stderr()).contains("epoll or nio").contains("Usage:");
        }
    }
}
