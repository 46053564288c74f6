import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SocketsVsPortsTest {
    SocketsVsPorts.Server server;

    @BeforeEach
    void listen() throws IOException {
        server = SocketsVsPorts.listen(0);
        server.listener().setSoTimeout(10_000);
    }

    @AfterEach
    void close() throws IOException {
        server.close();
    }

    List<SocketsVsPorts.Connection> threeClients() throws IOException {
        List<SocketsVsPorts.Connection> connections = SocketsVsPorts.connectClients(server, 3);
        for (SocketsVsPorts.Connection c : connections) {
            c.client().setSoTimeout(10_000);
            c.accepted().setSoTimeout(10_000);
        }
        return connections;
    }

    @Test
    void threeConnectionsShareTheServersPortAndEachClientHasItsOwn() throws IOException {
        List<SocketsVsPorts.Connection> connections = threeClients();
        var serverEnd = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
        for (SocketsVsPorts.Connection c : connections) {
            assertThat(c.serverView().local()).as("accepted sockets keep the listening port").isEqualTo(serverEnd);
            assertThat(c.clientView().remote()).as("every client talks to the one server port").isEqualTo(serverEnd);
        }
        List<Integer> clientPorts = connections.stream().map(c -> c.clientView().local().getPort()).toList();
        assertThat(clientPorts).doesNotHaveDuplicates().doesNotContain(server.port(), 0);
    }

    @Test
    void eachConnectionSeenFromBothEndsIsTheSameTupleMirrored() throws IOException {
        for (SocketsVsPorts.Connection c : threeClients()) {
            assertThat(c.clientView().local()).isEqualTo(c.serverView().remote());
            assertThat(c.clientView().remote()).isEqualTo(c.serverView().local());
        }
    }

    @Test
    void theConnectionsReallyAreSeparate() throws IOException {
        List<SocketsVsPorts.Connection> connections = threeClients();
        // A byte written into connection 2 arrives on connection 2's accepted socket, and only there.
        connections.get(1).client().getOutputStream().write('x');
        assertThat(connections.get(1).accepted().getInputStream().read()).isEqualTo('x');
        assertThat(connections.get(0).accepted().getInputStream().available()).isZero();
        assertThat(connections.get(2).accepted().getInputStream().available()).isZero();
    }

    @Test
    void listensWithTheBacklogItStates() throws Exception {
        assertThat(Listeners.backlog(server.port())).isEqualTo(Math.min(SocketsVsPorts.BACKLOG, Listeners.somaxconn()));
    }

    @Test
    void portZeroGetsARealPortFromTheKernel() throws IOException {
        assertThat(server.port()).as("asked for 0").isBetween(1, 65_535);
        try (SocketsVsPorts.Server second = SocketsVsPorts.listen(0)) {
            assertThat(second.port()).isBetween(1, 65_535).isNotEqualTo(server.port());
        }
    }

    @Test
    void clientPortsComeFromTheKernelsEphemeralRange() throws IOException {
        assumeTrue(Files.isReadable(SocketsVsPorts.EPHEMERAL_RANGE), "no " + SocketsVsPorts.EPHEMERAL_RANGE + " here");
        SocketsVsPorts.PortRange range = SocketsVsPorts.readPortRange(SocketsVsPorts.EPHEMERAL_RANGE).orElseThrow();
        assertThat(range.first()).isLessThanOrEqualTo(range.last());
        for (SocketsVsPorts.Connection c : threeClients()) {
            assertThat(range.contains(c.client().getLocalPort())).as("port " + c.client().getLocalPort()
                    + " in " + range).isTrue();
        }
    }

    @Test
    void aPortRangeFileIsReadAndAMissingOneIsReportedEmpty(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("ip_local_port_range"), "32768\t60999\n");
        assertThat(SocketsVsPorts.readPortRange(file)).contains(new SocketsVsPorts.PortRange(32768, 60999));
        assertThat(SocketsVsPorts.readPortRange(dir.resolve("missing"))).isEmpty();
    }

    @Test
    void portClassesChangeExactlyAtTheirBoundaries() {
        assertThat(SocketsVsPorts.PortClass.of(0)).isEqualTo(SocketsVsPorts.PortClass.WELL_KNOWN);
        assertThat(SocketsVsPorts.PortClass.of(1023)).isEqualTo(SocketsVsPorts.PortClass.WELL_KNOWN);
        assertThat(SocketsVsPorts.PortClass.of(1024)).isEqualTo(SocketsVsPorts.PortClass.REGISTERED);
        assertThat(SocketsVsPorts.PortClass.of(49151)).isEqualTo(SocketsVsPorts.PortClass.REGISTERED);
        assertThat(SocketsVsPorts.PortClass.of(49152)).isEqualTo(SocketsVsPorts.PortClass.DYNAMIC);
        assertThat(SocketsVsPorts.PortClass.of(65535)).isEqualTo(SocketsVsPorts.PortClass.DYNAMIC);
        assertThatThrownBy(() -> SocketsVsPorts.PortClass.of(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SocketsVsPorts.PortClass.of(65536)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void closeAlsoEndsTheConnectionsAcceptedAfterTheTour() throws Exception {
        Thread acceptor = Thread.ofVirtual().start(() -> SocketsVsPorts.keepAccepting(server));
        try (var visitor = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            visitor.setSoTimeout(10_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> server.open().size() == 1);
            server.close();
            assertThat(visitor.getInputStream().read()).as("the server closed our connection").isEqualTo(-1);
        }
        acceptor.join(Duration.ofSeconds(10));
        assertThat(acceptor.isAlive()).isFalse();
    }

    @Test
    void closeEndsTheListenerAndEveryConnection() throws IOException {
        List<SocketsVsPorts.Connection> connections = threeClients();
        server.close();
        assertThat(server.listener().isClosed()).isTrue();
        for (SocketsVsPorts.Connection c : connections) {
            assertThat(c.client().isClosed()).isTrue();
            assertThat(c.accepted().isClosed()).isTrue();
        }
    }

    @Test
    void mainTellsANewClientItsOwnPort() throws Exception {
        try (LessonRun run = LessonRun.start("SocketsVsPorts", "--port", "0")) {
            int port = run.awaitListeningPort();
            run.awaitLine(Pattern.compile("still listening"), Duration.ofSeconds(20));
            try (var client = new Socket(InetAddress.getLoopbackAddress(), port)) {
                client.setSoTimeout(10_000);
                run.awaitLine(Pattern.compile("accepted a new connection: .*remote 127\\.0\\.0\\.1:"
                        + client.getLocalPort() + "\\b"), Duration.ofSeconds(20));
            }
        }
    }

    @Test
    void aPortInUseIsExplainedInOneLine() throws Exception {
        try (var taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            LessonRun.assertExplainsPortInUse("SocketsVsPorts", taken.getLocalPort());
        }
    }

    @Test
    void aWellKnownPortRefusedForLackOfPrivilegeIsToldApartFromAPortInUse() {
        assertThat(SocketsVsPorts.needsPrivileges(80, new BindException("Permission denied"))).isTrue();
        assertThat(SocketsVsPorts.needsPrivileges(4000, new BindException("Permission denied"))).isFalse();
        assertThat(SocketsVsPorts.needsPrivileges(80, new BindException("Address already in use"))).isFalse();
    }

    @Test
    void aBadPortIsAUsageError() throws Exception {
        try (LessonRun run = LessonRun.start("SocketsVsPorts", "--port", "x")) {
            assertThat(run.exitCode(Duration.ofSeconds(20))).isEqualTo(2);
            assertThat(run.stderr()).contains("--port needs a whole number").contains("Usage:");
        }
    }
}
