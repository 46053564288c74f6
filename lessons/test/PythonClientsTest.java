import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/// The seed's Python UDP clients, exactly as written there with only HOST and PORT changed, talk to
/// lessons 12 and 13. The code is read from the seed at test time, not copied into the project.
class PythonClientsTest {
    static final String SEED = "004_f8851864c8402b8e.txt";
    static final Duration WAIT = Duration.ofSeconds(20);

    static String seed;

    UdpEcho.Server echo;
    UdpChat.Server chat;

    @BeforeAll
    static void findPythonAndTheSeed() throws IOException {
        assumeTrue(hasPython3(), "python3 is not installed here: the seed's Python clients cannot run");
        Optional<Path> file = seedFile();
        assumeTrue(file.isPresent(), "the seed " + SEED + " is not in ../shared/seeds (nor in shared/seeds above)");
        seed = Files.readString(file.get());
    }

    @AfterEach
    void stop() {
        if (echo != null) echo.close();
        if (chat != null) chat.close();
    }

    static boolean hasPython3() {
        try {
            Process p = new ProcessBuilder("python3", "--version").redirectErrorStream(true).start();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /// The seeds live in ../shared/seeds beside the project; look in every folder above it.
    static Optional<Path> seedFile() {
        for (Path dir = Path.of("").toAbsolutePath().getParent(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve("seeds").resolve(SEED);
            if (Files.isRegularFile(candidate)) return Optional.of(candidate);
        }
        return Optional.empty();
    }

    /// The Python block under `heading` in the seed's "UDP Basic" section, with only HOST and PORT changed.
    static String clientCode(String heading, int port) {
        String udp = seed.substring(seed.indexOf("### UDP Basic"), seed.indexOf("### TCP Basic"));
        int at = udp.indexOf(heading);
        assertThat(at).as(heading + " in the seed's UDP section").isNotNegative();
        Matcher block = Pattern.compile("```python\\n(.*?)```", Pattern.DOTALL).matcher(udp);
        assertThat(block.find(at)).as("a python block after " + heading).isTrue();
        String code = block.group(1);
        String changed = code.replaceFirst("(?m)^HOST = .*$", "HOST = '127.0.0.1'")
                .replaceFirst("(?m)^PORT = .*$", "PORT = " + port);
        assertThat(changed.lines().filter(line -> !code.lines().toList().contains(line)).toList())
                .as("only the HOST and PORT lines differ").hasSizeLessThanOrEqualTo(2)
                .allMatch(line -> line.startsWith("HOST = ") || line.startsWith("PORT = "));
        assertThat(changed).contains("PORT = " + port + "\n");
        return changed;
    }

    static LessonRun runPython(Path dir, String name, String code) throws IOException {
        Path script = dir.resolve(name);
        Files.writeString(script, code);
        var builder = new ProcessBuilder("python3", script.toString());
        builder.environment().put("PYTHONUNBUFFERED", "1");     // print at once into our pipe
        builder.environment().put("PYTHONIOENCODING", "utf-8");
        return LessonRun.startProcess(builder);
    }

    @Test
    void theSeedsEchoClientGetsItsDatagramBack(@TempDir Path dir) throws Exception {
        echo = UdpEcho.start(0);
        try (LessonRun python = runPython(dir, "echo_client.py", clientCode("**Echo Client**", echo.port()))) {
            assertThat(python.exitCode(WAIT)).as(python.output()).isZero();
            assertThat(python.stdout()).isEqualTo("Recv by ('127.0.0.1', " + echo.port() + "): b'Hello, world'");
        }
    }

    @Test
    void theSeedsChatClientChatsWithAJavaPeerAndLeavesWithExit(@TempDir Path dir) throws Exception {
        chat = UdpChat.start(0);
        var javaPeer = new UdpChatTest.ChatPeer(chat.port());
        try (javaPeer; LessonRun python = runPython(dir, "chat_client.py",
                clientCode("**Chatting Client**", chat.port()))) {
            javaPeer.say("/join");
            javaPeer.await("* welcome");
            Writer keyboard = python.process().outputWriter(StandardCharsets.UTF_8);

            keyboard.write("hello from python, 안녕하세요\n");
            keyboard.flush();
            String relayed = javaPeer.await(": hello from python, 안녕하세요");
            String pythonName = relayed.substring(0, relayed.indexOf(": hello"));
            python.awaitLine(Pattern.compile(Pattern.quote("('127.0.0.1', " + chat.port() + ") * welcome, "
                    + pythonName + "; others here: 1")), WAIT);

            javaPeer.say("hello from java");
            python.awaitLine(Pattern.compile(Pattern.quote("('127.0.0.1', " + chat.port() + ") "
                    + javaPeer.name() + ": hello from java")), WAIT);

            keyboard.write("exit\n");
            keyboard.flush();
            assertThat(javaPeer.await("left")).isEqualTo("* " + pythonName + " left");
            assertThat(chat.peers()).containsExactly(javaPeer.address());
            // Whether the seed's client then prints "* bye" and ends depends on a race between its
            // two threads (see chapter 13); closing the LessonRun ends it in any case.
        }
    }
}
