package grading;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.parallel.Isolated;

/// Every lab's checks catch realistic mistakes: each known-wrong solution in
/// labs/solutions/wrong/NN-name/mistake/mistake.diff (the reference solution with one mistake, its
/// first line saying which and the checks that must catch it) loses points on each check it names.
/// Here each runs only the checks it names; DeterminismProofTest runs every check, three times.
/// Both take minutes, so they run in the proof profile: `./mvnw -B -Pproof verify`.
@Tag("proof")
@Isolated
class WrongSolutionsTest {

    static final int LEAST_WRONG = 6;

    @TestFactory
    Stream<DynamicTest> everyKnownWrongSolutionLosesPoints() throws IOException {
        List<Gradings.Wrong> wrongs = Gradings.wrongSolutions();
        var tests = new ArrayList<DynamicTest>();
        for (Path lab : Gradings.labs()) {
            long count = wrongs.stream().filter(w -> w.lab().equals(lab)).count();
            tests.add(DynamicTest.dynamicTest(lab.getFileName() + ": at least " + LEAST_WRONG + " known-wrong solutions",
                    () -> assertTrue(count >= LEAST_WRONG, lab + " has " + count + " known-wrong solutions in " + Gradings.WRONG)));
        }
        for (Gradings.Wrong wrong : wrongs) {
            var grading = Gradings.gradeWrong(wrong, "", true);
            tests.add(DynamicTest.dynamicTest(wrong.label() + ": " + wrong.mistake(), () -> {
                var graded = grading.join();
                assertTrue(graded.exitStatus() != 3, wrong.label() + " does not compile: see " + graded.json());
                for (String name : wrong.caughtBy()) {
                    var check = graded.check(name);
                    assertNotNull(check, wrong.label() + " names a check its lab does not have: " + name);
                    assertFalse(check.passed(), wrong.label() + " (" + wrong.mistake() + ") passed the check meant to catch it: "
                            + name + "; its results:" + Gradings.failures(graded));
                }
            }));
        }
        return tests.stream();
    }
}
