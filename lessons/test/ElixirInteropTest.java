import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.io.Writer;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/// The course's Elixir `:gen_tcp` echo servers (docs/other-languages/elixir/) in passive, active and
/// `active: :once` mode, each talked to by Java clients (each BEAM starts once for the whole class),
/// and the Elixir echo client talking to lesson 05.
@Timeout(60)
class ElixirInteropTest {
    static final Map<String, LessonRun> SERVERS = new LinkedHashMap<>();
    static final Map<String, Integer> PORTS = new LinkedHashMap<>();

    @BeforeAll
    static void startTheServers() throws Exception {
        assumeTrue(OtherLanguages.installed("elixir"), "elixir is not installed: the Elixir servers cannot run");
        for (String script : List.of("passive_echo.exs", "active_echo.exs", "once_echo.exs")) {
            SERVERS.put(script, OtherLanguages.elixir(script, "--port", "0"));     // start all three at once
        }
        for (var server : SERVERS.entrySet()) PORTS.put(server.getKey(), server.getValue().awaitListeningPort());
    }

    @AfterAll
    static void stopTheServers() {
        SERVERS.values().forEach(LessonRun::close);
    }

    @ParameterizedTest
    @ValueSource(strings = {"passive_echo.exs", "active_echo.exs", "once_echo.exs"})
    void echoesLinesToSeveralClientsAtOnce(String script) throws Exception {
        int port = PORTS.get(script);
        List<LineClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) clients.add(new LineClient(port));
            for (int i = clients.size() - 1; i >= 0; i--) {
                assertThat(clients.get(i).ask("client " + i + ", 안녕")).isEqualTo("client " + i + ", 안녕");
            }
        } finally {
            for (LineClient client : clients) client.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"passive_echo.exs", "active_echo.exs", "once_echo.exs"})
    void framesLinesThatArriveInPiecesOrTogether(String script) throws Exception {
        try (var client = new LineClient(PORTS.get(script))) {
            for (char c : "one byte at a time\n".toCharArray()) client.send(String.valueOf(c));
            assertThat(client.readLine()).isEqualTo("one byte at a time");
            client.send("two lines\nin one write\n");          // packet: :line splits them again
            assertThat(client.readLine()).isEqualTo("two lines");
            assertThat(client.readLine()).isEqualTo("in one write");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"passive_echo.exs", "active_echo.exs", "once_echo.exs"})
    void answersTheLastLinesOfAClientThatHalfClosed(String script) throws Exception {
        var screen = new ByteArrayOutputStream();
        // Lesson 04 sends both lines, shuts down its sending side, and prints until the server closes.
        int status = EchoClient.run(new BufferedReader(new StringReader("first\nlast\n")),
                new PrintStream(screen, true, StandardCharsets.UTF_8), "127.0.0.1", PORTS.get(script),
                Duration.ofSeconds(10));
        assertThat(status).as(SERVERS.get(script).output()).isZero();
        // The client's narration (another thread) may fall between the two echoed lines.
        assertThat(screen.toString(StandardCharsets.UTF_8).lines()).containsSubsequence("first", "last");
    }

    @ParameterizedTest
    @ValueSource(strings = {"passive_echo.exs", "active_echo.exs", "once_echo.exs"})
    void aClientThatResetsDoesNotDisturbTheOthers(String script) throws Exception {
        int port = PORTS.get(script);
        try (var steady = new LineClient(port)) {
            assertThat(steady.ask("before")).isEqualTo("before");
            try (var rude = new Socket(InetAddress.getLoopbackAddress(), port)) {
                rude.getOutputStream().write("half a li".getBytes(StandardCharsets.UTF_8));
                rude.setSoLinger(true, 0);                      // close with RST, mid-line
            }
            assertThat(steady.ask("after")).isEqualTo("after");
        }
    }

    @Test
    void theElixirClientGetsOneReplyPerLineFromLesson05() throws Exception {
        try (var server = PassiveEcho.start(0);
             LessonRun client = OtherLanguages.elixir("echo_client.exs", "--port", String.valueOf(server.port()))) {
            try (Writer keyboard = client.process().outputWriter(StandardCharsets.UTF_8)) {
                keyboard.write("hello from elixir\n안녕하세요\n");
            }
            assertThat(client.exitCode(Duration.ofSeconds(30))).as(client.output()).isZero();
            assertThat(client.stdout()).isEqualTo("hello from elixir\n안녕하세요");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"passive_echo.exs", "once_echo.exs"})
    void explainsAPortInUse(String script) throws Exception {
        try (LessonRun second = OtherLanguages.elixir(script, "--port", String.valueOf(PORTS.get("active_echo.exs")))) {
            assertThat(second.exitCode(Duration.ofSeconds(30))).as(second.output()).isEqualTo(1);
            assertThat(second.stderr().strip()).contains("address already in use").contains("--port 0");
        }
    }
}
