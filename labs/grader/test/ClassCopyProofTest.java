package grading;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/// The class copy (`--export`): no solution code in it, its starters recorded, its grader grades a
/// starter, and its own build passes.
@Tag("proof")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClassCopyProofTest {

    static final Path COPY = Path.of("target", "class-copy-proof", "course");

    ClassCopy.Exported exported;

    @BeforeAll
    void export() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("labs", "solutions")), "skipped: this is a class copy already (no labs/solutions)");
        Sandbox.deleteTree(COPY.getParent());
        exported = ClassCopy.export(Path.of("").toAbsolutePath(), COPY);
    }

    @Test
    void holdsNoSolutionCode() throws Exception {
        assertThat(COPY.resolve("labs/solutions")).doesNotExist();
        assertThat(COPY.resolve("exercises/answers")).doesNotExist();
        assertThat(COPY.resolve("labs/01-line-echo/LineEchoServer.java")).exists();
        // A line of a solution or a worked answer that no other file of the course has reveals it.
        Path course = Path.of("").toAbsolutePath();
        Set<String> publicLines = new HashSet<>();
        Set<String> solutionLines = new HashSet<>();
        Set<String> solutionHashes = new HashSet<>();
        for (String name : ClassCopy.courseFiles(course)) {
            Path file = course.resolve(name);
            if (!Files.isRegularFile(file)) {
                continue;
            }
            if (ClassCopy.LEFT_OUT.stream().anyMatch(name::startsWith)) {
                solutionLines.addAll(lines(file));
                solutionHashes.add(ClassCopy.sha256(file));
            } else {
                publicLines.addAll(lines(file));
            }
        }
        solutionLines.removeAll(publicLines);
        solutionLines.removeIf(l -> l.length() < 20);
        assertThat(solutionLines).as("lines only the solutions have").hasSizeGreaterThan(100);
        for (Path file : files(COPY)) {
            assertThat(solutionHashes).as(COPY.relativize(file) + " is a copy of a solution").doesNotContain(ClassCopy.sha256(file));
            List<String> found = lines(file).stream().filter(solutionLines::contains).toList();
            assertThat(found).as(COPY.relativize(file) + " holds lines of a solution").isEmpty();
        }
    }

    @Test
    void recordsTheStartersAndSaysWhatItLeftOut() throws IOException {
        assertThat(Files.readString(COPY.resolve("labs/starters.sha256"))).isEqualTo(Files.readString(Path.of("labs/starters.sha256")));
        assertThat(exported.testsLeftOut()).contains("labs/grader/test/LabsTest.java", "labs/grader/test/WrongSolutionsTest.java");
        assertThat(Files.isExecutable(COPY.resolve("mvnw"))).isTrue();
        assertThat(Files.isExecutable(COPY.resolve("jbang"))).isTrue();
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void itsGraderGradesAStarter() throws Exception {
        var run = run(List.of("./jbang", "labs/Grade.java", "01"), 8);
        assertThat(run.status()).as(run.output()).isEqualTo(1);
        assertThat(run.output()).contains("Lab 01-line-echo").contains("FAIL").contains("not written yet");
        String json = Files.readString(COPY.resolve("target/labs/01-line-echo.json"));
        assertThat(ResultFiles.Learner.read("starter", COPY.resolve("target/labs/01-line-echo.json"), 0, 1).points()).isLessThan(100);
        assertThat(json).contains("\"max_points\": 100");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.MINUTES)
    void itsOwnBuildPasses() throws Exception {
        var run = run(List.of("./mvnw", "-B", "-q", "verify"), 55);
        assertThat(run.status()).as("./mvnw verify in the class copy:\n" + tail(run.output())).isZero();
    }

    record Run(int status, String output) {
    }

    /// Runs a command in the copy, with JBang folders of its own (graders side by side never share a cache).
    static Run run(List<String> command, int minutes) throws IOException, InterruptedException {
        Path cache = Path.of(".cache");
        if (Files.isDirectory(cache)) {
            Sandbox.copyTree(cache, COPY.resolve(".cache"));
        }
        var builder = new ProcessBuilder(command).directory(COPY.toFile()).redirectErrorStream(true);
        Path jbang = COPY.getParent().resolve("jbang-home");
        builder.environment().put("JBANG_DIR", jbang.toAbsolutePath().toString());
        builder.environment().put("JBANG_CACHE_DIR", jbang.resolve("cache").toAbsolutePath().toString());
        Path log = COPY.getParent().resolve("run.log");
        builder.redirectOutput(log.toFile());
        Process p = builder.start();
        if (!p.waitFor(minutes, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor();
            throw new AssertionError(String.join(" ", command) + " still running after " + minutes + " min:\n" + tail(Files.readString(log)));
        }
        return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }

    static String tail(String s) {
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }

    static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).filter(p -> !p.toString().contains("/.cache/") && !p.toString().contains("/target/")).sorted().toList();
        }
    }

    static List<String> lines(Path file) throws IOException {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::strip).toList();
        } catch (java.nio.charset.MalformedInputException e) {
            return List.of();
        }
    }
}
