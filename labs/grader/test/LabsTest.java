package grading;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/// Keeps the labs honest: every reference solution scores full marks, and every untouched
/// starter fails every one of its core checks (so its checks test something real). A starter is
/// untouched when its files are those recorded in labs/starters.sha256; a learner's edited starter
/// is left alone.
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
        String edited = editedStarterFiles(lab);
        Assumptions.assumeTrue(edited.isEmpty(), () -> "not grading the starter of " + lab + ": " + edited
                + " differ from labs/starters.sha256. A learner's work is not a starter. If the starter itself"
                + " changed, record it: sha256sum labs/[0-9][0-9]-*/*.java > labs/starters.sha256");
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

    /// The lab's starter files whose SHA-256 is not the one labs/starters.sha256 records.
    private String editedStarterFiles(Path lab) throws Exception {
        var recorded = new java.util.HashMap<String, String>();
        for (String line : Files.readAllLines(Path.of("labs", "starters.sha256"))) {
            String[] hashAndPath = line.split("\\s+\\*?", 2);
            recorded.put(hashAndPath[1], hashAndPath[0]);
        }
        var edited = new java.util.ArrayList<String>();
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
