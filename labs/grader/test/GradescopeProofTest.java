package grading;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/// The Gradescope autograder (`--gradescope 01`): its zip holds `setup.sh` and `run_autograder` at
/// the top and the class copy of the course (no solutions); its `run_autograder`, run here against a
/// submission laid out as Gradescope lays it out (`AUTOGRADER_ROOT` stands for `/autograder`),
/// writes a results.json that Gradescope's format accepts, with the submission's real score.
@Tag("proof")
class GradescopeProofTest {

    static final Path ROOT = Path.of("target", "gradescope-proof", "autograder");

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void runAutograderGradesASubmission() throws Exception {
        Sandbox.deleteTree(ROOT.getParent());
        Path zip = ROOT.getParent().resolve("gradescope-01.zip");
        Gradescope.write(Path.of("").toAbsolutePath(), "01", zip);
        Path source = unzip(zip, ROOT.resolve("source"));
        assertThat(source.resolve("setup.sh")).exists();
        assertThat(Files.readString(source.resolve("run_autograder"))).contains("--submission").contains(" 01 ");
        assertThat(source.resolve("course/labs/solutions")).doesNotExist();
        assertThat(source.resolve("course/labs/01-line-echo/checks/LineEchoChecks.java")).exists();
        // setup.sh would fetch these; the test brings the launcher's jar along instead.
        if (Files.isDirectory(Path.of(".cache"))) {
            Sandbox.copyTree(Path.of(".cache"), source.resolve("course/.cache"));
        }
        // Gradescope puts the learner's files in /autograder/submission.
        Path submission = Files.createDirectories(ROOT.resolve("submission"));
        Files.copy(Path.of("labs/solutions/01-line-echo/LineEchoServer.java"), submission.resolve("LineEchoServer.java"));

        var builder = new ProcessBuilder("bash", source.resolve("run_autograder").toString()).redirectErrorStream(true);
        builder.environment().put("AUTOGRADER_ROOT", ROOT.toAbsolutePath().toString());
        Path log = ROOT.getParent().resolve("run_autograder.log");
        Process p = builder.redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(9, TimeUnit.MINUTES)).as("run_autograder finishes").isTrue();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(output).isZero();

        Path results = ROOT.resolve("results/results.json");
        assertThat(results).as(output).exists();
        assertThat(ResultFilesTest.python(ResultFilesTest.VALIDATE_GRADESCOPE, results.toString())).isEqualTo("score 100");
        assertThat(Files.readString(results)).contains("\"name\": \"echoes a line\"").contains("\"max_score\": 15");
    }

    static Path unzip(Path zip, Path to) throws IOException {
        try (InputStream file = Files.newInputStream(zip); var in = new ZipInputStream(file)) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                Path target = to.resolve(e.getName()).normalize();
                assertThat(target.startsWith(to.normalize())).as(e.getName() + " stays inside the folder").isTrue();
                Files.createDirectories(target.getParent());
                Files.copy(in, target);
            }
        }
        return to;
    }
}
