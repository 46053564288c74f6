package grading;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/// Keeps the labs honest: every reference solution scores full marks, and every untouched
/// starter fails every one of its core checks (so its checks test something real).
class LabsTest {

    private final Grader grader = new Grader(Path.of("labs"), Path.of("target", "labs-verify"), true, System.out);

    @TestFactory
    Stream<DynamicTest> everyLab() throws IOException {
        List<Path> labs = grader.labs("all");
        assertTrue(labs.size() >= 1, "no labs found in labs/");
        return labs.stream().flatMap(lab -> Stream.of(
                DynamicTest.dynamicTest(lab.getFileName() + ": the solution gets full marks", () -> solutionGetsFullMarks(lab)),
                DynamicTest.dynamicTest(lab.getFileName() + ": the starter fails its core checks", () -> starterFailsCoreChecks(lab))));
    }

    private void solutionGetsFullMarks(Path lab) throws Exception {
        var result = grader.grade(lab, true);
        assertEquals(0, result.exitStatus(), "the reference solution of " + lab + " must get full marks: see " + result.json());
    }

    private void starterFailsCoreChecks(Path lab) throws Exception {
        var result = grader.grade(lab, false);
        assertEquals(1, result.exitStatus(), "the starter of " + lab + " must compile and must not get full marks");
        List<String> checks = Files.readAllLines(result.json()).stream().filter(l -> l.contains("\"max_points\"") && l.contains("\"name\"")).toList();
        List<String> core = checks.stream().filter(l -> l.contains("\"core\": true")).toList();
        assertTrue(core.size() >= 2, lab + " needs core checks");
        assertTrue(checks.size() >= 8, lab + " needs at least 8 checks, has " + checks.size());
        for (String check : core) {
            assertTrue(check.contains("\"status\": \"fail\""), "a core check the untouched starter passes: " + check);
        }
    }
}
