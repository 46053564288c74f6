import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.io.Writer;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/// The course's Python programs (docs/other-languages/python/) talk to the Java lessons, both ways:
/// Python clients to lessons 05, 08, 12, 13 and 14, Java clients to the Python servers.
@Timeout(60)
class PythonInteropTest {
    static final Duration WAIT = Duration.ofSeconds(20);

    @BeforeAll
    static void python3IsHere() {
        assumeTrue(OtherLanguages.installed("python3"), "python3 is not installed: the Python programs cannot run");
    }

    static Pattern quoted(String text) {
        return Pattern.compile(Pattern.quote(text));
    }

    // ---- The byte-stream echo: a client that sends no newline.

    @Test
    void theEchoClientGetsItsBytesBackFromLesson05InByteMode() throws Exception {
        try (var server = PassiveEcho.start(0, PassiveEcho.Mode.BYTES);
             LessonRun client = OtherLanguages.python("tcp_echo_client.py", "--port", String.valueOf(server.port()))) {
            assertThat(client.exitCode(WAIT)).as(client.output()).isZero();
            assertThat(client.stdout()).isEqualTo("Received b'Hello, world'");
        }
    }

    @Test
    void theEchoClientWaitsInVainOnTheLineServerUntilItSendsANewline() throws Exception {
        try (var server = PassiveEcho.start(0)) {
            String port = String.valueOf(server.port());
            // No newline: the line server is still waiting for the end of the line when the client gives up.
            try (LessonRun client = OtherLanguages.python("tcp_echo_client.py", "--port", port, "--timeout", "1")) {
                assertThat(client.exitCode(WAIT)).as(client.output()).isEqualTo(1);
                assertThat(client.stdout()).isEmpty();
                assertThat(client.stderr().strip()).isEqualTo("no reply within 1 s");
            }
            // The same client, the same server, with the newline the server waits for.
            try (LessonRun client = OtherLanguages.python("tcp_echo_client.py", "--port", port, "Hello, world\n")) {
                assertThat(client.exitCode(WAIT)).as(client.output()).isZero();
                assertThat(client.stdout()).isEqualTo("Received b'Hello, world\\n'");
            }
        }
    }

    @Test
    void theEchoClientGetsALineBackFromLesson08() throws Exception {
        try (var server = NonBlockingEcho.start(0);
             LessonRun client = OtherLanguages.python("tcp_echo_client.py", "--port", String.valueOf(server.port()),
                     "안녕, selector\n")) {
            assertThat(client.exitCode(WAIT)).as(client.output()).isZero();
            assertThat(client.stdout()).isEqualTo("Received b'\\xec\\x95\\x88\\xeb\\x85\\x95, selector\\n'");
        }
    }

    // ---- Java clients against the Python TCP servers.

    @Test
    void lesson04TalksToThePythonEchoServer() throws Exception {
        try (LessonRun server = OtherLanguages.python("tcp_echo_server.py", "--port", "0")) {
            int port = server.awaitListeningPort();
            var screen = new ByteArrayOutputStream();
            int status = EchoClient.run(new BufferedReader(new StringReader("hello\n안녕하세요\n")),
                    new PrintStream(screen, true, StandardCharsets.UTF_8), "127.0.0.1", port, Duration.ofSeconds(10));
            assertThat(status).as(server.output()).isZero();
            // The client's narration (another thread) may fall between the two echoed lines.
            assertThat(screen.toString(StandardCharsets.UTF_8).lines()).contains("hello", "안녕하세요");
        }
    }

    @Test
    void thePythonEchoServersServeManyClientsAtOnceAndBytesInPieces() throws Exception {
        for (String script : List.of("tcp_echo_server.py", "asyncio_echo_server.py")) {
            try (LessonRun server = OtherLanguages.python(script, "--port", "0")) {
                int port = server.awaitListeningPort();
                List<LineClient> clients = new ArrayList<>();
                try {
                    for (int i = 0; i < 20; i++) clients.add(new LineClient(port));
                    // Every client is connected before any is answered: nobody waits for another to leave.
                    for (int i = clients.size() - 1; i >= 0; i--) {
                        assertThat(clients.get(i).ask("client " + i)).as(script).isEqualTo("client " + i);
                    }
                    LineClient first = clients.getFirst();
                    for (char c : "one byte at a time\n".toCharArray()) first.send(String.valueOf(c));
                    assertThat(first.readLine()).as(script).isEqualTo("one byte at a time");
                } finally {
                    for (LineClient client : clients) client.close();
                }
            }
        }
    }

    @Test
    void thePythonServersExplainAPortInUseAndRefuseABadPort() throws Exception {
        try (var taken = PassiveEcho.start(0)) {
            for (String script : List.of("tcp_echo_server.py", "asyncio_echo_server.py", "tcp_chat_server.py")) {
                try (LessonRun server = OtherLanguages.python(script, "--port", String.valueOf(taken.port()))) {
                    assertThat(server.exitCode(WAIT)).as(script).isEqualTo(1);
                    assertThat(server.stderr().strip()).as(script).contains("already in use").contains("--port 0");
                }
            }
        }
        try (LessonRun server = OtherLanguages.python("udp_echo_server.py", "--port", "70000")) {
            assertThat(server.exitCode(WAIT)).isEqualTo(2);
            assertThat(server.stderr()).contains("70000 is not a port");
        }
    }

    // ---- TCP chat: the Python client in lesson 14's room, Java clients in the Python room.

    @Test
    void thePythonChatClientChatsInLesson14sRoom() throws Exception {
        try (var chat = TcpChat.start(0); var java = new LineClient(chat.port())) {
            assertThat(java.readLine()).startsWith("*** welcome");     // in the room before Python joins
            try (LessonRun python = OtherLanguages.python("tcp_chat_client.py", "--port", String.valueOf(chat.port()))) {
                python.awaitLine(quoted("*** welcome"), WAIT);
                String joined = java.readLine();
                assertThat(joined).matches("\\*\\*\\* guest\\d+ joined");
                String pythonNick = joined.split(" ")[1];

                Writer keyboard = python.process().outputWriter(StandardCharsets.UTF_8);
                keyboard.write("hello from python, 안녕하세요\n");
                keyboard.flush();
                assertThat(java.readLine()).isEqualTo(pythonNick + ": hello from python, 안녕하세요");

                java.sendLine("hello from java");
                python.awaitLine(Pattern.compile("^guest\\d+: hello from java$"), WAIT);

                keyboard.close();   // end of input: the client half-closes, lesson 14 lets it leave
                assertThat(java.readLine()).isEqualTo("*** " + pythonNick + " left");
                python.awaitLine(quoted("* the server closed the connection"), WAIT);
                assertThat(python.exitCode(WAIT)).as(python.output()).isZero();
            }
        }
    }

    @Test
    void javaClientsChatThroughThePythonChatServer() throws Exception {
        try (LessonRun server = OtherLanguages.python("tcp_chat_server.py", "--port", "0")) {
            int port = server.awaitListeningPort();
            try (var ann = new LineClient(port)) {
                assertThat(ann.readLine()).startsWith("* welcome, 127.0.0.1:");
                String bobName;
                try (var bob = new LineClient(port)) {
                    String welcome = bob.readLine();
                    bobName = welcome.substring("* welcome, ".length());
                    assertThat(ann.readLine()).isEqualTo("* " + bobName + " joined");
                    bob.sendLine("hi ann, 안녕");
                    assertThat(ann.readLine()).isEqualTo(bobName + ": hi ann, 안녕");
                    ann.sendLine("hi bob");
                    assertThat(bob.readLine()).endsWith(": hi bob");
                }
                assertThat(ann.readLine()).isEqualTo("* " + bobName + " left");
            }
        }
    }

    // ---- UDP: the Python clients to lessons 12 and 13, Java peers to the Python UDP servers.

    @Test
    void theUdpEchoClientGetsItsDatagramBackFromLesson12() throws Exception {
        try (var echo = UdpEcho.start(0);
             LessonRun client = OtherLanguages.python("udp_echo_client.py", "--port", String.valueOf(echo.port()))) {
            assertThat(client.exitCode(WAIT)).as(client.output()).isZero();
            assertThat(client.stdout()).isEqualTo("Received b'Hello, world' from 127.0.0.1:" + echo.port());
        }
    }

    @Test
    void theUdpEchoClientSaysSoWhenNoAnswerComes() throws Exception {
        try (var silent = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             LessonRun client = OtherLanguages.python("udp_echo_client.py", "--port",
                     String.valueOf(silent.getLocalPort()), "--timeout", "1")) {
            assertThat(client.exitCode(WAIT)).as(client.output()).isEqualTo(1);
            assertThat(client.stderr().strip()).isEqualTo("no answer within 1 s");
        }
    }

    @Test
    void aJavaSocketGetsItsDatagramsBackFromThePythonUdpEchoServer() throws Exception {
        try (LessonRun server = OtherLanguages.python("udp_echo_server.py", "--port", "0");
             var socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            int port = server.awaitListeningPort();
            socket.setSoTimeout(10_000);
            var to = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            for (String text : List.of("first", "안녕하세요", "third")) {
                byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
                socket.send(new DatagramPacket(bytes, bytes.length, to));
                var reply = new DatagramPacket(new byte[2048], 2048);
                socket.receive(reply);
                assertThat(new String(reply.getData(), 0, reply.getLength(), StandardCharsets.UTF_8)).isEqualTo(text);
                assertThat(reply.getPort()).isEqualTo(port);
            }
        }
    }

    @Test
    void theUdpChatClientChatsWithAJavaPeerThroughLesson13AndLeaves() throws Exception {
        try (var chat = UdpChat.start(0); var javaPeer = new UdpChatTest.ChatPeer(chat.port());
             LessonRun python = OtherLanguages.python("udp_chat_client.py", "--port", String.valueOf(chat.port()))) {
            javaPeer.say("/join");
            javaPeer.await("* welcome");
            String joined = javaPeer.await(" joined");
            String pythonName = joined.substring(2, joined.indexOf(" joined"));
            python.awaitLine(quoted("127.0.0.1:" + chat.port() + " * welcome, " + pythonName + "; others here: 1"), WAIT);

            Writer keyboard = python.process().outputWriter(StandardCharsets.UTF_8);
            keyboard.write("hello from python, 안녕하세요\n");
            keyboard.flush();
            assertThat(javaPeer.await(": hello from python")).isEqualTo(pythonName + ": hello from python, 안녕하세요");

            javaPeer.say("hello from java");
            python.awaitLine(quoted("127.0.0.1:" + chat.port() + " " + javaPeer.name() + ": hello from java"), WAIT);

            keyboard.write("/quit\n");
            keyboard.flush();
            assertThat(javaPeer.await(" left")).isEqualTo("* " + pythonName + " left");
            python.awaitLine(quoted("* bye"), WAIT);
            assertThat(python.exitCode(WAIT)).as(python.output()).isZero();
            assertThat(chat.peers().keySet()).containsExactly(javaPeer.address());
        }
    }

    @Test
    void javaPeersChatThroughThePythonUdpChatServer() throws Exception {
        try (LessonRun server = OtherLanguages.python("udp_chat_server.py", "--port", "0")) {
            int port = server.awaitListeningPort();
            try (var ann = new UdpChatTest.ChatPeer(port); var bob = new UdpChatTest.ChatPeer(port)) {
                ann.say("/join");
                assertThat(ann.await("* welcome")).isEqualTo("* welcome, " + ann.name() + "; others here: 0");
                bob.say("/join");
                assertThat(bob.await("* welcome")).isEqualTo("* welcome, " + bob.name() + "; others here: 1");
                bob.say("hi ann, 안녕");
                assertThat(ann.await("hi ann")).isEqualTo(bob.name() + ": hi ann, 안녕");
                bob.say("/quit");
                assertThat(bob.await("* bye")).isEqualTo("* bye");
                assertThat(ann.await(" left")).isEqualTo("* " + bob.name() + " left");
            }
        }
    }
}
