package grading;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/// A class of 12 submissions of lab 01, made here: a full solution, the starter, two realistic
/// mistakes, and eight hostile ones (System.exit, an endless loop, unbounded allocation, 10,000
/// threads, 100 MB printed, a fixed port bound by two, a hunt for labs/solutions). The batch grades
/// them, 2 at a time, in under two minutes; each hostile one is that learner's failure with its
/// reason, every other learner's points are those the plain grader gives, the result files
/// validate, and nothing is left running. Needs root (namespaces and control groups).
@Tag("proof")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class BatchProofTest {

    static final Path LAB = Path.of("labs", "01-line-echo");
    static final Path SOLUTION = Path.of("labs", "solutions", "01-line-echo", "LineEchoServer.java");
    static final Path WRONG = Path.of("labs", "solutions", "wrong", "01-line-echo");
    static final Path OUT = Path.of("target", "class-proof");
    static final long LIMIT_SECONDS = 45;
    static final int FIXED_PORT = 40123;

    static final String START = "    static LineEchoServer start(int port) throws IOException {\n";
    static final String SERVE = "    static void serve(Socket client) throws IOException {\n";
    static final String CLASS = "class LineEchoServer implements AutoCloseable {\n";

    Path submissions;
    Path results;
    List<ResultFiles.Learner> learners;
    Map<String, ResultFiles.Learner> byName;
    Duration took;
    String console;
    /// What the plain grader gives the honest submissions, graded one by one outside the batch.
    Map<String, Integer> expected = new LinkedHashMap<>();

    @BeforeAll
    @Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
    void gradeTheClass() throws Exception {
        assumeTrue(Sandbox.canIsolate(), "skipped: grading a class in namespaces and control groups needs root, Linux and ip");
        Sandbox.deleteTree(OUT);
        submissions = Files.createDirectories(OUT.resolve("submissions"));
        results = OUT.resolve("results-01");
        String solution = Files.readString(SOLUTION);
        String starter = Files.readString(LAB.resolve("LineEchoServer.java"));

        write("ada-solution", solution);
        Files.createDirectories(submissions.resolve("bob-starter"));
        write("cy-no-flush", Files.readString(wrongSolution("no-flush").resolve("LineEchoServer.java")));
        write("dee-limit-off-by-one", Files.readString(wrongSolution("limit-off-by-one").resolve("LineEchoServer.java")));
        write("eve-exits", insert(solution, SERVE, "        System.exit(3);\n"));
        write("fay-loops", insert(solution, SERVE, "        if (client != null) {\n            while (true) {\n                Thread.onSpinWait();\n            }\n        }\n"));
        write("gus-allocates", insert(solution, START, "        var hoard = new ArrayList<byte[]>();\n        while (hoard.size() >= 0) {\n            hoard.add(new byte[1 << 20]);\n        }\n"));
        write("hal-threads", insert(solution, START, """
                        for (int i = 0; i < 10_000; i++) {
                            Thread.ofPlatform().daemon().start(() -> {
                                try {
                                    Thread.sleep(Long.MAX_VALUE);
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                            });
                        }
                """));
        write("ivy-prints", insert(insert(solution, START, """
                        synchronized (LineEchoServer.class) {
                            for (String megabyte = "x".repeat(1 << 20); printed < 100; printed++) {
                                System.out.print(megabyte);
                            }
                        }
                """), CLASS, "    private static int printed;\n"));
        // Both keep a side port open, the same fixed one: only in namespaces of their own can both have it.
        String fixedPort = insert(insert(solution, START, """
                        synchronized (LineEchoServer.class) {
                            if (statsPort == null) {
                                statsPort = new ServerSocket(%d, 50, InetAddress.getLoopbackAddress());
                            }
                        }
                """.formatted(FIXED_PORT)), CLASS, "    private static ServerSocket statsPort;\n");
        write("jo-fixed-port", fixedPort);
        write("kit-fixed-port", fixedPort);
        write("lu-reads-solutions", insert(starter, START, "        SolutionHunt.hunt();\n"));
        Files.writeString(submissions.resolve("lu-reads-solutions").resolve("SolutionHunt.java"), HUNT);

        // Grade the honest ones the plain way first: the batch must give the same points.
        var plain = new LinkedHashMap<String, CompletableFuture<Gradings.Graded>>();
        plain.put("bob-starter", Gradings.grade(Gradings.LABS.resolve("01-line-echo"), null, "class-proof/bob-starter"));
        for (String name : List.of("cy-no-flush", "dee-limit-off-by-one")) {
            plain.put(name, Gradings.grade(Gradings.LABS.resolve("01-line-echo"), submissions.resolve(name), "class-proof/" + name));
        }
        for (var e : plain.entrySet()) {
            expected.put(e.getKey(), e.getValue().join().points());
        }

        var printed = new ByteArrayOutputStream();
        long start = System.nanoTime();
        var limits = new Sandbox.Limits(Sandbox.Limits.DEFAULT.heapMegabytes(), Sandbox.Limits.DEFAULT.outputBytes(),
                Sandbox.Limits.DEFAULT.threads(), LIMIT_SECONDS);
        try (var out = new PrintStream(printed, true, StandardCharsets.UTF_8)) {
            learners = new Batch(Path.of(""), new Batch.Options("01", submissions, results, 2, limits, false), out).run();
        }
        took = Duration.ofNanos(System.nanoTime() - start);
        console = printed.toString(StandardCharsets.UTF_8);
        System.out.println(console + "\nthe batch took " + took.toSeconds() + " s");
        byName = learners.stream().collect(Collectors.toMap(ResultFiles.Learner::name, l -> l));
    }

    /// A folder with the reference solution of lab 01 and this known-wrong solution's diff applied.
    static Path wrongSolution(String name) throws IOException {
        Path applied = OUT.resolve("wrong").resolve(name);
        Patch.apply(WRONG.resolve(name).resolve("mistake.diff"), SOLUTION.getParent(), applied);
        return applied;
    }

    private void write(String learner, String source) throws IOException {
        Files.writeString(Files.createDirectories(submissions.resolve(learner)).resolve("LineEchoServer.java"), source);
    }

    static String insert(String source, String after, String code) {
        assertThat(source).contains(after);
        return source.replace(after, after + code);
    }

    @Test
    void everyLearnerIsGradedWithinTwoMinutes() {
        assertThat(learners).extracting(ResultFiles.Learner::name).hasSize(12).isSorted();
        assertThat(took).as("12 submissions, 2 at a time").isLessThan(Duration.ofMinutes(2));
        assertThat(console).contains("graded 12/12").contains("each in its own network namespace");
    }

    @Test
    void honestSubmissionsGetThePointsThePlainGraderGives() {
        assertThat(byName.get("ada-solution").points()).isEqualTo(100);
        expected.forEach((name, points) -> assertThat(byName.get(name).points()).as(name).isEqualTo(points));
        assertThat(byName.get("cy-no-flush").points()).isLessThan(100);
        assertThat(failed("dee-limit-off-by-one")).contains("echoes a line of exactly MAX_LINE bytes");
    }

    @Test
    void systemExitIsReportedWithTheCheckItCameIn() {
        var eve = byName.get("eve-exits");
        assertThat(eve.points()).isZero();
        assertThat(eve.outcome()).startsWith("stopped: ").contains("System.exit").contains("exit status 3").contains("during the check \"echoes a line\"");
    }

    @Test
    void anEndlessLoopIsStoppedAtTheLimit() {
        var fay = byName.get("fay-loops");
        assertThat(fay.points()).isZero();
        assertThat(fay.outcome()).contains("did not finish within " + LIMIT_SECONDS + " s").contains("loops or waits forever");
        assertThat(fay.seconds()).isLessThan(LIMIT_SECONDS + 30);
    }

    @Test
    void unboundedAllocationFailsItsChecksOnly() {
        var gus = byName.get("gus-allocates");
        assertThat(gus.points()).isLessThan(byName.get("ada-solution").points());
        assertThat(gus.checks()).filteredOn(c -> c.name().equals("echoes a line")).singleElement()
                .satisfies(c -> assertThat(c.message()).contains("OutOfMemoryError"));
    }

    @Test
    void tenThousandThreadsMeetTheThreadCap() {
        var hal = byName.get("hal-threads");
        assertThat(hal.points()).isZero();
        String all = hal.error() + hal.checks().stream().map(ResultFiles.CheckResult::message).collect(Collectors.joining("\n"));
        assertThat(all).containsAnyOf("unable to create native thread", "ended (exit status");
    }

    @Test
    void a100MegabyteOutputIsCutAndTheGradingIsRight() throws IOException {
        var ivy = byName.get("ivy-prints");
        assertThat(ivy.points()).isEqualTo(100);
        assertThat(ivy.outcome()).contains("its log is cut");
        assertThat(Files.size(results.resolve("ivy-prints").resolve("01-line-echo.log")))
                .isLessThanOrEqualTo(Sandbox.Limits.DEFAULT.outputBytes() + 1024);
    }

    @Test
    void twoSubmissionsBindTheSameFixedPortEachInItsOwnNamespace() {
        assertThat(byName.get("jo-fixed-port").points()).isEqualTo(100);
        assertThat(byName.get("kit-fixed-port").points()).isEqualTo(100);
    }

    @Test
    void theSolutionsAreNowhereToBeRead() throws IOException {
        var lu = byName.get("lu-reads-solutions");
        assertThat(lu.points()).isEqualTo(expected.get("bob-starter"));
        String log = Files.readString(results.resolve("lu-reads-solutions").resolve("01-line-echo.log"));
        assertThat(log).contains("hunt: nothing to read in").doesNotContain("hunt: read ");
    }

    @Test
    void nothingIsLeftRunning() throws IOException {
        String prefix = "socketlab-" + ProcessHandle.current().pid() + "-";
        assertThat(Sandbox.namespaces()).noneMatch(n -> n.startsWith(prefix));
        for (String controller : List.of("pids", "cpu")) {
            Path dir = Path.of("/sys/fs/cgroup", controller);
            if (Files.isDirectory(dir)) {
                try (Stream<Path> groups = Files.list(dir)) {
                    assertThat(groups.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(prefix));
                }
            }
        }
        assertThat(ProcessHandle.allProcesses().map(p -> p.info().commandLine().orElse("")))
                .noneMatch(c -> c.contains("socketlab-batch-"));
    }

    @Test
    void theResultFilesValidate() throws Exception {
        ResultFilesTest.validate(results, learners);
    }

    @Test
    void theClassPageOpensInABrowser() throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        Path chromedriver = Path.of("/usr/bin/chromedriver");
        assumeTrue(Files.isExecutable(chromium) && Files.isExecutable(chromedriver), "no headless browser: install chromium and chromium-driver");
        Path profile = Files.createTempDirectory("class-chromium-");
        var options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-dev-shm-usage", "--window-size=1400,1300", "--user-data-dir=" + profile, "--host-resolver-rules=MAP * ~NOTFOUND");
        var service = new ChromeDriverService.Builder().usingDriverExecutable(chromedriver.toFile()).usingAnyFreePort().build();
        var browser = new ChromeDriver(service, options);
        try {
            browser.get(results.resolve("index.html").toAbsolutePath().toUri().toString());
            var rows = browser.findElements(By.cssSelector("#class tbody tr"));
            assertThat(rows).hasSize(12);
            // Sort by total, highest first: a full-marks learner comes to the top.
            browser.findElements(By.cssSelector("#class th")).stream().filter(th -> th.getText().equals("total")).findFirst().orElseThrow().click();
            String top = browser.findElement(By.cssSelector("#class tbody tr td.total")).getText();
            assertThat(top).isEqualTo("100");
            assertThat(browser.findElements(By.cssSelector(".histogram .bar"))).hasSize(11);
            assertThat(browser.findElement(By.linkText("Similarity between submissions")).getAttribute("href")).endsWith("similarity.html");
            Files.write(OUT.resolve("class-page.png"), browser.getScreenshotAs(OutputType.BYTES));
        } finally {
            browser.quit();
            Sandbox.deleteTree(profile);
        }
    }

    private List<String> failed(String learner) {
        return byName.get(learner).checks().stream().filter(c -> !c.passed()).map(ResultFiles.CheckResult::name).toList();
    }

    /// A submission's helper that looks for the reference solution, or its compiled classes,
    /// wherever the course might be: above its folder and above every entry of its class path.
    static final String HUNT = """
            import java.io.File;
            import java.nio.file.Files;
            import java.nio.file.Path;
            import java.util.LinkedHashSet;

            final class SolutionHunt {
                static void hunt() {
                    var places = new LinkedHashSet<Path>();
                    var starts = new java.util.ArrayList<Path>();
                    starts.add(Path.of(System.getProperty("user.dir")));
                    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
                        starts.add(Path.of(entry).toAbsolutePath());
                    }
                    for (Path start : starts) {
                        for (Path dir = start; dir != null; dir = dir.getParent()) {
                            places.add(dir.resolve("labs/solutions/01-line-echo/LineEchoServer.java"));
                            // The grader's earlier output: the solution, compiled.
                            places.add(dir.resolve("target/labs/classes/01-line-echo-solutions/LineEchoServer.class"));
                            places.add(dir.resolve("target/labs-verify/solutions/classes/01-line-echo/LineEchoServer.class"));
                        }
                    }
                    for (Path place : places) {
                        try {
                            byte[] bytes = Files.readAllBytes(place);
                            System.out.println("hunt: read " + bytes.length + " bytes of " + place);
                            return;
                        } catch (java.io.IOException e) {
                            // Not there: look further.
                        }
                    }
                    System.out.println("hunt: nothing to read in " + places.size() + " places");
                }
            }
            """;
}
