import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import jdk.jshell.Diag;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/// What every lesson promises, checked for each file in lessons/ the moment it appears:
/// the JBang header, a non-public class named after the file, `--help`, usage on a bad argument,
/// loading in jshell, a chapter in the book, a row in the README's course map.
class LessonContractTest {
    static final Path LESSONS = Path.of("lessons");
    static final Pattern LESSON_FILE = Pattern.compile("(\\d\\d)_(\\w+)\\.java");
    static final Duration PROCESS_LIMIT = Duration.ofSeconds(30);

    record Lesson(Path file, String number, String name) {
        String source() {
            try {
                return Files.readString(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        boolean hasDeps() {
            return source().lines().anyMatch(line -> line.startsWith("//DEPS "));
        }

        Optional<Path> chapter() {
            try (Stream<Path> chapters = Files.list(Path.of("docs", "chapters"))) {
                return chapters.filter(p -> p.getFileName().toString().matches(number + "-[a-z0-9-]+\\.adoc"))
                        .findFirst();
            } catch (IOException e) {
                return Optional.empty();
            }
        }
    }

    static List<Lesson> lessons() throws IOException {
        try (Stream<Path> files = Files.list(LESSONS)) {
            List<Lesson> lessons = new ArrayList<>();
            files.sorted().forEach(file -> {
                Matcher m = LESSON_FILE.matcher(file.getFileName().toString());
                if (m.matches()) lessons.add(new Lesson(file, m.group(1), m.group(2)));
            });
            return lessons;
        }
    }

    @Test
    void lessonsAreNumberedOnceEach() throws IOException {
        List<String> numbers = lessons().stream().map(Lesson::number).toList();
        assertThat(numbers).isNotEmpty().doesNotHaveDuplicates();
    }

    /// A lesson is read in one sitting: none over 400 lines, the part above the command line at most
    /// 300, and the median lesson at most 250 (DESIGN.md's aim, as `wc -l lessons/[0-9]*.java` counts).
    @Test
    void lessonsAreShortEnoughToReadInOneSitting() throws IOException {
        List<Integer> lengths = new ArrayList<>();
        for (Lesson lesson : lessons()) {
            List<String> lines = lesson.source().lines().toList();
            lengths.add(lines.size());
            assertThat(lines.size()).as(lesson.file() + ": lines").isLessThanOrEqualTo(400);
            assertThat(lines.indexOf(COMMAND_LINE_MARKER)).as(lesson.file() + ": lines above the marked line")
                    .isBetween(0, 300);
        }
        List<Integer> sorted = lengths.stream().sorted().toList();
        assertThat(sorted.get((sorted.size() - 1) / 2)).as("the median lesson's lines, of " + sorted).isLessThanOrEqualTo(250);
    }

    /// The checks start JVMs (a lesson's main, the source launcher, jshell's agent): they run on a
    /// few threads at once, and each dynamic test waits for its own result.
    static final ExecutorService PROCESSES = Executors.newFixedThreadPool(3, Thread.ofPlatform().daemon().factory());
    /// jshell is one JShell for all lessons (their class names differ), so its checks take turns.
    static final ExecutorService JSHELL = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().factory());
    static JShell jshell;

    @AfterAll
    static void closeJshell() throws Exception {
        JSHELL.submit(() -> { if (jshell != null) jshell.close(); }).get(30, TimeUnit.SECONDS);
    }

    @TestFactory
    Stream<DynamicNode> everyLessonKeepsTheContract() throws IOException {
        // Collected first, so that every check has started before the first one is awaited.
        List<DynamicNode> nodes = lessons().stream().<DynamicNode>map(lesson -> DynamicContainer.dynamicContainer(
                lesson.file().getFileName().toString(), Stream.of(
                        check("starts with the JBang header and //JAVA 25+", lesson, LessonContractTest::header, null),
                        check("declares a non-public class named after the file, first",
                                lesson, LessonContractTest::classFirst, null),
                        check("--help prints usage and exits 0", lesson, LessonContractTest::help, PROCESSES),
                        check("a bad argument prints usage and exits 2", lesson,
                                LessonContractTest::badArgument, PROCESSES),
                        check("runs with the JDK's source launcher", lesson,
                                LessonContractTest::sourceLauncher, PROCESSES),
                        check("loads in jshell without errors", lesson, LessonContractTest::loadsInJshell, JSHELL),
                        check("has a chapter that the book includes", lesson, LessonContractTest::chapter, null),
                        check("is on the README's course map", lesson, LessonContractTest::readme, null),
                        check("ends with the command-line block every lesson shares", lesson,
                                LessonContractTest::sameCommandLineBlock, null))
                        .toList().stream()))
                .toList();
        return nodes.stream();
    }

    interface Check {
        void run(Lesson lesson) throws Exception;
    }

    /// A check that runs at once in the test (executor null) or is started now on `executor`.
    static DynamicTest check(String name, Lesson lesson, Check check, ExecutorService executor) {
        if (executor == null) return DynamicTest.dynamicTest(name, () -> check.run(lesson));
        Future<?> result = executor.submit(() -> {
            check.run(lesson);
            return null;
        });
        return DynamicTest.dynamicTest(name, () -> {
            try {
                result.get(3, TimeUnit.MINUTES);
            } catch (ExecutionException e) {
                throw e.getCause();
            }
        });
    }

    static void header(Lesson lesson) {
        List<String> lines = lesson.source().lines().limit(3).toList();
        assertThat(lines.get(0)).isEqualTo("///usr/bin/env jbang \"$0\" \"$@\" ; exit $?");
        assertThat(lesson.source().lines()).contains("//JAVA 25+");
    }

    static void classFirst(Lesson lesson) {
        Matcher m = Pattern.compile("(?m)^(public |final |abstract )*(class|interface|record|enum) (\\w+)")
                .matcher(lesson.source());
        assertThat(m.find()).as("a top-level class").isTrue();
        assertThat(m.group(3)).as("the first top-level type").isEqualTo(lesson.name());
        assertThat(m.group(0)).as("the lesson class is not public").doesNotContain("public");
        assertThat(lesson.source()).as("no package line (it breaks jshell's /open)")
                .doesNotContainPattern("(?m)^package ");
    }

    static void help(Lesson lesson) throws Exception {
        try (LessonRun run = LessonRun.start(lesson.name(), "--help")) {
            assertThat(run.exitCode(PROCESS_LIMIT)).as(run.output()).isZero();
            assertThat(run.stdout()).contains("Usage:").contains(lesson.file().getFileName().toString());
        }
    }

    static void badArgument(Lesson lesson) throws Exception {
        try (LessonRun run = LessonRun.start(lesson.name(), "--no-such-option")) {
            assertThat(run.exitCode(PROCESS_LIMIT)).as(run.output()).isEqualTo(2);
            assertThat(run.stderr()).contains("--no-such-option").contains("Usage:")
                    .doesNotContain("Exception").doesNotContain("\tat ");
        }
    }

    /// `java lessons/NN_Name.java` works for a lesson without //DEPS (with //DEPS it needs JBang).
    static void sourceLauncher(Lesson lesson) throws Exception {
        if (lesson.hasDeps()) return;
        try (LessonRun run = LessonRun.startSource(lesson.file(), "--help")) {
            assertThat(run.exitCode(PROCESS_LIMIT)).as(run.output()).isZero();
            assertThat(run.stdout()).contains("Usage:");
        }
    }

    /// Feeds the file to jshell snippet by snippet, as `jshell lessons/NN_Name.java` does.
    static void loadsInJshell(Lesson lesson) {
        JShell shell = shell();
        SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
        String remaining = lesson.source();
        while (!remaining.isBlank()) {
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(remaining);
            assertThat(info.completeness().isComplete()).as("a complete snippet at: " + head(remaining)).isTrue();
            for (SnippetEvent event : shell.eval(info.source())) {
                if (event.causeSnippet() != null) continue;     // an update of an earlier snippet
                Snippet snippet = event.snippet();
                List<String> errors = shell.diagnostics(snippet).filter(Diag::isError)
                        .map(d -> d.getMessage(null)).toList();
                assertThat(errors).as("errors in: " + head(snippet.source())).isEmpty();
                assertThat(event.status()).as("status of: " + head(snippet.source()))
                        .isEqualTo(Snippet.Status.VALID);
                assertThat(event.exception()).as("exception from: " + head(snippet.source())).isNull();
            }
            remaining = info.remaining();
        }
    }

    /// jshell's default engine, a separate JVM, as `jshell FILE` and `./jbang --jsh -i FILE` use it.
    static JShell shell() {
        if (jshell == null) {
            jshell = JShell.builder().out(System.out).err(System.err)
                    .remoteVMOptions(LessonRun.QUICK_START.toArray(String[]::new)).build();
            // Lessons with //DEPS see their libraries, as JBang's jshell mode gives them.
            for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
                if (!entry.endsWith("classes")) jshell.addToClasspath(entry);
            }
        }
        return jshell;
    }

    static String head(String source) {
        return source.strip().lines().findFirst().orElse("");
    }

    static void chapter(Lesson lesson) throws IOException {
        Optional<Path> chapter = lesson.chapter();
        assertThat(chapter).as("docs/chapters/" + lesson.number() + "-<name>.adoc").isPresent();
        assertThat(Files.readString(Path.of("docs", "index.adoc")))
                .contains("include::chapters/" + chapter.get().getFileName() + "[");
        assertThat(Files.readString(chapter.get())).as("the chapter includes code from its lesson")
                .contains(lesson.file().getFileName().toString());
    }

    /// The line above which a lesson teaches, and below which every lesson has the same block.
    static final String COMMAND_LINE_MARKER =
            "    // ---- The command line. Below this line every lesson has the same block; read it once. ----";
    /// The lesson whose block the others are compared with.
    static final Path REFERENCE = LESSONS.resolve("05_PassiveEcho.java");

    /// The shared part of the block: from the narration helpers to the end of the class. What
    /// comes between the marker and `log` (USAGE and main) is each lesson's own.
    static String sharedBlock(String source) {
        int marker = source.indexOf(COMMAND_LINE_MARKER);
        assertThat(marker).as("the marked line above the command-line block").isNotNegative();
        int shared = source.indexOf("    /// Prints a line of narration", marker);
        assertThat(shared).as("the narration helpers after the marked line").isNotNegative();
        return source.substring(shared).stripTrailing();
    }

    static void sameCommandLineBlock(Lesson lesson) throws IOException {
        assertThat(sharedBlock(lesson.source())).as("the command-line block of " + lesson.file()
                        + " must be the same as " + REFERENCE + "'s (copy it from there)")
                .isEqualTo(sharedBlock(Files.readString(REFERENCE)));
        String above = lesson.source().substring(0, lesson.source().indexOf(COMMAND_LINE_MARKER));
        assertThat(above).as("the benchmark's switch is read in one place, in the block").doesNotContainPattern("!\\s*quiet\\b|\\bQUIET\\b")
                .as("the command line is read below the marked line").doesNotContain("String[] args");
    }

    static void readme(Lesson lesson) throws IOException {
        String row = Files.readString(Path.of("README.adoc")).lines()
                .filter(line -> line.contains(lesson.file().getFileName().toString()))
                .findFirst().orElseThrow(() -> new AssertionError("README.adoc does not name " + lesson.file()));
        assertThat(row).as("the course map marks a written lesson as written, not coming").doesNotContain("coming");
    }
}
