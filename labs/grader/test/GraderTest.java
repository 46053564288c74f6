package grading;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/// The grader's own logic: time limits, failures that become messages, the table, the JSON.
class GraderTest {

    private static final Check.Body PASSES = () -> { };

    @Test
    @Timeout(20)
    void aCheckThatHangsFailsAtItsLimitAndTheNextStillRuns() {
        var never = new CountDownLatch(1);
        var hangs = Check.core("hangs", 5, "h", never::await).within(Duration.ofMillis(300));
        var passes = Check.of("passes", 3, "p", PASSES);

        List<Outcome> outcomes = CheckRunner.runAll(List.of(hangs, passes));

        assertThat(outcomes.get(0).passed()).isFalse();
        assertThat(outcomes.get(0).message()).startsWith("no result within 0 s");
        assertThat(outcomes.get(0).millis()).isBetween(300L, 10_000L);
        assertThat(outcomes.get(1).passed()).isTrue();
    }

    @Test
    void aCheckThatThrowsFailsWithItsMessage() {
        var throwsIo = Check.of("io", 2, "h", () -> {
            throw new java.io.IOException("Connection refused");
        });
        var expects = Check.of("expects", 2, "h", () -> Expect.equal("a", "b", "the reply"));
        var todo = Check.of("todo", 2, "h", () -> {
            throw new UnsupportedOperationException("TODO(lab): serve one client");
        });

        List<Outcome> outcomes = CheckRunner.runAll(List.of(throwsIo, expects, todo));

        assertThat(outcomes).extracting(Outcome::passed).containsOnly(false);
        assertThat(outcomes.get(0).message()).isEqualTo("IOException: Connection refused");
        assertThat(outcomes.get(1).message()).isEqualTo("the reply: expected \"a\", got \"b\"");
        assertThat(outcomes.get(2).message()).isEqualTo("not written yet: TODO(lab): serve one client");
    }

    @Test
    void theTableShowsPointsResultsAndAHintForEachFailure() {
        var report = sampleReport();

        assertThat(report.table()).isEqualTo("""
                Lab 09-sample · Sample
                  check          points  result
                  echoes          10/10  PASS
                  "quoted" one      0/5  FAIL
                      why:  no reply within 3 s
                      hint: flush after writing
                  total           10/15
                """);
        assertThat(report.points()).isEqualTo(10);
        assertThat(report.maxPoints()).isEqualTo(15);
        assertThat(report.fullMarks()).isFalse();
    }

    @Test
    void theJsonHasEachCheckAndTheTotalWithTextEscaped() {
        String json = sampleReport().json();

        assertThat(json).contains("\"points\": 10,\n  \"max_points\": 15,");
        assertThat(json).contains("{\"name\": \"echoes\", \"points\": 10, \"max_points\": 10, \"status\": \"pass\", \"core\": true,");
        assertThat(json).contains("{\"name\": \"\\\"quoted\\\" one\", \"points\": 0, \"max_points\": 5, \"status\": \"fail\", \"core\": false,");
        assertThat(json).contains("\"message\": \"no reply within 3 s\", \"hint\": \"flush after writing\"}");
        assertThat(Report.quote("a\nb\t\u0001")).isEqualTo("\"a\\nb\\t\\u0001\"");
    }

    @Test
    void gradingTheSolutionSwapsInItsFilesAndKeepsTheStartersOthers(@TempDir Path labs) throws Exception {
        Path lab = Files.createDirectories(labs.resolve("09-sample"));
        Files.writeString(lab.resolve("Server.java"), "class Server {}");
        Files.writeString(lab.resolve("Given.java"), "class Given {}");
        Path solution = Files.createDirectories(labs.resolve("solutions").resolve("09-sample"));
        Files.writeString(solution.resolve("Server.java"), "class Server { int solved; }");
        var grader = new Grader(labs, labs.resolve("out"), true, System.out);

        assertThat(grader.labs("all")).containsExactly(lab);
        assertThat(grader.labs("9")).containsExactly(lab);
        assertThat(grader.labSources(lab, false)).containsExactly(lab.resolve("Given.java"), lab.resolve("Server.java"));
        assertThat(grader.labSources(lab, true)).containsExactly(lab.resolve("Given.java"), solution.resolve("Server.java"));
    }

    @Test
    void codeThatDoesNotCompileScoresNothingAndSaysWhy(@TempDir Path labs) throws Exception {
        Path lab = Files.createDirectories(labs.resolve("09-sample"));
        Files.writeString(lab.resolve("Server.java"), "class Server { void broken() { return 1; } }");
        Files.createDirectories(lab.resolve("checks"));
        Files.writeString(lab.resolve("checks").resolve("SampleChecks.java"), "class SampleChecks {}");
        var console = new java.io.ByteArrayOutputStream();
        var grader = new Grader(labs, labs.resolve("out"), true, new java.io.PrintStream(console, true, java.nio.charset.StandardCharsets.UTF_8));

        var result = grader.grade(lab, false);

        assertThat(result.exitStatus()).isEqualTo(3);
        assertThat(console.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("does not compile").contains("Server.java");
        assertThat(Files.readString(result.json())).contains("\"points\": 0,").contains("\"error\": ");
    }

    @Test
    void aCheckIsWorthAtLeastOnePoint() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Check.of("free", 0, "h", PASSES));
    }

    private static Report sampleReport() {
        var echoes = Check.core("echoes", 10, "read a line", PASSES);
        var quoted = Check.of("\"quoted\" one", 5, "flush after writing", PASSES);
        return new Report("09-sample", "Sample", List.of(
                new Outcome(echoes, true, "", 12),
                new Outcome(quoted, false, "no reply within 3 s", 3001)));
    }
}
