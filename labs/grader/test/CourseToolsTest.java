package grading;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/// The grader's course-wide commands: `--list`, `--progress` and `--watch`, on a small course
/// made in a temporary folder (the grader takes any top folder), and `--list` on this course.
class CourseToolsTest {

    @Test
    void listShowsEveryLabThenEveryExerciseSetWithItsPoints() throws Exception {
        var grader = new Grader(Path.of("labs"), Path.of("target", "labs-verify", "list"), true, System.out);
        String table = Course.listTable(grader);

        for (Path lab : grader.labs("all")) {
            assertThat(table).contains("\n  " + lab.getFileName().toString().substring(0, 2) + "    lab  ");
        }
        for (Path set : grader.exerciseSets()) {
            assertThat(table).contains("\n  " + set.getFileName().toString().substring(0, 4) + "  exercises  ");
        }
        assertThat(table).contains("Line echo server").containsPattern("Line echo server +12 +100\n");
        assertThat(table.indexOf("  01    lab")).isLessThan(table.indexOf("exercises  "));
        assertThat(table).contains(grader.labs("all").size() + " labs, " + grader.exerciseSets().size() + " exercise sets");
    }

    @Test
    void aCheckWhoseNameIsComputedIsListedFromItsCompiledChecks(@TempDir Path top) throws Exception {
        Path set = sampleSet(top, "ex09-sample");
        Files.writeString(set.resolve("checks").resolve("SampleChecks.java"), Files.readString(set.resolve("checks").resolve("SampleChecks.java"))
                .replace("\"predicts the answer\"", "\"predicts \" + \"the answer\""));
        var grader = new Grader(top.resolve("labs"), top.resolve("target").resolve("labs"), true, System.out);

        var listing = Course.listing(grader, Course.items(grader).getFirst());

        assertThat(listing.title()).isEqualTo("Sample");
        assertThat(listing.checks()).isEqualTo(1);
        assertThat(listing.points()).isEqualTo(10);
        assertThat(listing.problem()).isNull();
    }

    @Test
    void progressFollowsTheCourseAndNamesTheFirstItemNotAtFullMarks(@TempDir Path top) throws Exception {
        Path labs = Files.createDirectories(top.resolve("labs"));
        Files.writeString(labs.resolve("README.adoc"), """
                | # | Lab | After lesson | You write

                | 01 | link:01-one/README.adoc[One] | 01 Sockets | a thing
                | 02 | link:02-two/README.adoc[Two] | 00 Layers, 02 Streams | another
                """);
        for (String lab : new String[] {"01-one", "02-two", "03-unplaced"}) {
            Files.createDirectories(labs.resolve(lab));
        }
        Files.writeString(labs.resolve("01-one").resolve("README.adoc"), "= Lab 01 · The first lab\n");
        for (String set : new String[] {"ex00-zero", "ex01-one", "ex02-two"}) {
            Files.createDirectories(top.resolve("exercises").resolve(set));
        }
        Path results = Files.createDirectories(top.resolve("target").resolve("labs"));
        Files.writeString(results.resolve("ex00-zero.json"), result("Layers", 20, 20));
        Files.writeString(results.resolve("01-one.json"), result("The first lab", 100, 100));
        Files.writeString(results.resolve("ex02-two.json"), result("Streams", 10, 30));
        Files.createDirectories(results.resolve("solutions"));
        Files.writeString(results.resolve("solutions").resolve("ex01-one.json"), result("Sockets", 30, 30));
        var grader = new Grader(labs, results, true, System.out);

        String table = Progress.table(grader);

        assertThat(table.lines().skip(2).limit(6).map(line -> line.strip().split(" ")[0]))
                .containsExactly("ex00", "ex01", "01", "ex02", "02", "03");
        assertThat(table).containsPattern("ex00 +exercises +Layers +done  20/20\n")
                .containsPattern("ex01 +exercises +ex01-one +not tried\n")
                .containsPattern("01 +lab +The first lab +done  100/100\n")
                .containsPattern("ex02 +exercises +Streams +10/30\n")
                .contains("2 of 6 done")
                .contains("Next: Exercises ex01 · ex01-one: ./jbang labs/Grade.java ex01");
    }

    @Test
    @Timeout(120)
    void watchGradesAgainEachTimeAFileIsSaved(@TempDir Path top) throws Exception {
        Path set = sampleSet(top, "ex09-sample");
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        var grader = new Grader(top.resolve("labs"), top.resolve("target").resolve("labs"), true, linesTo(lines));
        var watch = new Watch(grader, set, linesTo(lines), false);
        var watching = Thread.ofPlatform().start(() -> {
            try {
                watch.run();
            } catch (InterruptedException e) {
                // The test ends the watch.
            } catch (Exception e) {
                lines.add("watch failed: " + e);
            }
        });
        try {
            assertThat(waitFor(lines, "total")).contains("0/10");
            assertThat(waitFor(lines, "──── watching")).contains(set.toString());

            Files.writeString(set.resolve("predictions.txt"), "answer: 42\n");

            assertThat(waitFor(lines, "──── grading")).contains("run 2").contains("saved predictions.txt");
            assertThat(waitFor(lines, "total")).contains("10/10").contains("full marks");
        } finally {
            watching.interrupt();
            watching.join(30_000);
        }
        assertThat(watching.isAlive()).as("the watch ends when interrupted").isFalse();
    }

    @Test
    void aWatchIgnoresTheChecksAndEditorsFiles() {
        assertThat(Watch.isLearnersFile("predictions.txt")).isTrue();
        assertThat(Watch.isLearnersFile("Probe.java")).isTrue();
        for (String name : new String[] {"checks", ".Probe.java.swp", "Probe.java~", "4913", "#Probe.java#"}) {
            assertThat(Watch.isLearnersFile(name)).as(name).isFalse();
        }
    }

    /// A set with one predict-exercise: the check passes when `answer` is 42.
    private static Path sampleSet(Path top, String name) throws Exception {
        Files.createDirectories(top.resolve("labs").resolve("grader"));
        Path set = Files.createDirectories(top.resolve("exercises").resolve(name));
        Files.writeString(set.resolve("README.adoc"), "= Exercises 09 · Sample\n");
        Files.writeString(set.resolve("predictions.txt"), "answer: ?\n");
        Files.createDirectories(set.resolve("checks"));
        Files.writeString(set.resolve("checks").resolve("SampleChecks.java"), """
                import grading.Answers;
                import grading.Check;
                import grading.Expect;
                import java.util.List;

                public final class SampleChecks implements grading.Lab {
                    @Override
                    public String title() {
                        return "Sample";
                    }

                    @Override
                    public List<Check> checks() {
                        return List.of(Check.core("predicts the answer", 10, "think",
                                () -> Expect.equal(42L, Answers.number("predictions.txt", "answer"), "the answer")));
                    }
                }
                """);
        return set;
    }

    private static String result(String title, int points, int max) {
        return "{\n  \"lab\": \"x\",\n  \"title\": \"" + title + "\",\n  \"points\": " + points + ",\n  \"max_points\": " + max
                + ",\n  \"checks\": [\n  ]\n}\n";
    }

    /// The next line that contains `text`, waiting at most 60 s for it.
    private static String waitFor(BlockingQueue<String> lines, String text) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (String line; (line = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) != null; ) {
            if (line.startsWith("watch failed")) {
                throw new AssertionError(line);
            }
            if (line.contains(text)) {
                return line;
            }
        }
        throw new AssertionError("no line with \"" + text + "\" within 60 s");
    }

    /// A console whose every line goes into `lines`.
    private static PrintStream linesTo(BlockingQueue<String> lines) {
        return new PrintStream(new OutputStream() {
            private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

            @Override
            public synchronized void write(int b) {
                if (b == '\n') {
                    lines.add(line.toString(StandardCharsets.UTF_8));
                    line.reset();
                } else {
                    line.write(b);
                }
            }
        }, true, StandardCharsets.UTF_8);
    }
}
