package grading;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/// Keeps the labs honest: every reference solution scores full marks, every lab keeps the rule
/// labs/README.adoc gives its authors (at least 8 checks, at least 2 of them core, 100 points),
/// its README's table is its checks, and every untouched starter fails every one of its core
/// checks (so its checks test something real). A starter is untouched when its files are those
/// recorded in labs/starters.sha256; on a learner's machine an edited starter is left alone, in CI
/// (CI=true) it fails the build.
class LabsTest {

    static final int LEAST_CHECKS = 8;
    static final int LEAST_CORE = 2;
    static final int POINTS = 100;

    @TestFactory
    Stream<DynamicTest> everyLab() throws Exception {
        List<Path> labs = Gradings.labs();
        assertTrue(labs.size() >= 1, "no labs found in labs/");
        var tests = new ArrayList<DynamicTest>();
        for (Path lab : labs) {
            var solution = Gradings.gradeSolution(lab, "");
            String edited = editedStarterFiles(lab);
            CompletableFuture<Gradings.Graded> starter = edited.isEmpty() ? Gradings.grade(lab, null, "") : null;
            String name = lab.getFileName().toString();
            tests.add(DynamicTest.dynamicTest(name + ": the solution gets full marks", () -> {
                var graded = solution.join();
                assertEquals(0, graded.exitStatus(), "the reference solution of " + lab + " must get full marks:" + Gradings.failures(graded));
            }));
            tests.add(DynamicTest.dynamicTest(name + ": at least 8 checks, 2 core, 100 points", () -> keepsTheRule(lab, solution.join())));
            tests.add(DynamicTest.dynamicTest(name + ": its README's table is its checks", () -> readmeTableIsTheChecks(lab, solution.join())));
            tests.add(DynamicTest.dynamicTest(name + ": the starter fails its core checks", () -> starterFailsCoreChecks(lab, edited, starter)));
        }
        return tests.stream();
    }

    @org.junit.jupiter.api.Test
    void theRuleIsWrittenWhereALabAuthorLooks() throws IOException {
        String readme = Files.readString(Gradings.LABS.resolve("README.adoc"));
        String authors = readme.substring(readme.indexOf("== For lab authors"));
        org.assertj.core.api.Assertions.assertThat(authors.substring(0, authors.indexOf("\n== ", 5)))
                .contains("*at least " + LEAST_CHECKS + " checks, at least " + LEAST_CORE + " of them core,\n" + POINTS + " points in all*")
                .contains("at least six").contains("-Pproof");
        org.assertj.core.api.Assertions.assertThat(WrongSolutionsTest.LEAST_WRONG).isEqualTo(6);
    }

    static void keepsTheRule(Path lab, Gradings.Graded graded) {
        var checks = graded.checks();
        long core = checks.stream().filter(Gradings.CheckResult::core).count();
        int points = checks.stream().mapToInt(Gradings.CheckResult::maxPoints).sum();
        assertTrue(checks.size() >= LEAST_CHECKS, lab + " needs at least " + LEAST_CHECKS + " checks, has " + checks.size());
        assertTrue(core >= LEAST_CORE, lab + " needs at least " + LEAST_CORE + " core checks, has " + core);
        assertEquals(POINTS, points, lab + ": its checks' points must add up to " + POINTS);
    }

    /// A row of a README's table of checks: `| name | points | what it proves`.
    private static final Pattern ROW = Pattern.compile("^\\| (.+?) \\| (\\d+) \\| .+$");

    static void readmeTableIsTheChecks(Path lab, Gradings.Graded graded) throws IOException {
        var table = new ArrayList<String>();
        for (String line : Files.readAllLines(lab.resolve("README.adoc"))) {
            Matcher m = ROW.matcher(line);
            if (m.matches()) {
                table.add(m.group(1).replace("`", "") + " | " + m.group(2));
            }
        }
        var checks = graded.checks().stream().map(c -> c.name() + " | " + c.maxPoints()).toList();
        assertEquals(String.join("\n", checks), String.join("\n", table),
                lab.resolve("README.adoc") + ": the table of checks and points must be the lab's checks(), in order");
    }

    private static void starterFailsCoreChecks(Path lab, String edited, CompletableFuture<Gradings.Graded> starter) throws Exception {
        if (!edited.isEmpty()) {
            String message = "the starter of " + lab + " is not the published one: " + edited
                    + " differ from labs/starters.sha256. If the starter itself changed, record it:"
                    + " sha256sum labs/[0-9][0-9]-*/*.java > labs/starters.sha256";
            // In CI a changed starter is a mistake; on a learner's machine it is their work.
            assertTrue(!"true".equals(System.getenv("CI")), message);
            Assumptions.abort("not grading it: " + message);
        }
        var graded = starter.join();
        assertEquals(1, graded.exitStatus(), "the starter of " + lab + " must compile and must not get full marks");
        for (var check : graded.checks()) {
            assertTrue(!check.core() || !check.passed(), "a core check the untouched starter passes: " + check.name());
        }
    }

    /// The lab's starter files whose SHA-256 is not the one labs/starters.sha256 records.
    static String editedStarterFiles(Path lab) throws Exception {
        var recorded = new java.util.HashMap<String, String>();
        for (String line : Files.readAllLines(Path.of("labs", "starters.sha256"))) {
            String[] hashAndPath = line.split("\\s+\\*?", 2);
            recorded.put(hashAndPath[1], hashAndPath[0]);
        }
        var edited = new ArrayList<String>();
        var grader = new Grader(Gradings.LABS, Gradings.OUT, true, System.out);
        for (Path file : grader.labSources(lab, false)) {
            String hash = java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
            String path = file.toString().replace(java.io.File.separatorChar, '/');
            if (!hash.equals(recorded.get(path))) {
                edited.add(path);
            }
        }
        return String.join(", ", edited);
    }
}
