package grading;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/// Every exercise is real, proven by grading each set as a learner would leave it:
///
/// - the worked answers get full marks, with the same result on three runs;
/// - the untouched set fails every check;
/// - the worked answers' code with the starter's unanswered predictions fails the predict
///   checks (that is how they are found), and with the wrong predictions fails every one of them.
///
/// Each set is graded six times, so this runs in the proof profile: `./mvnw -B -Pproof verify`.
@Tag("proof")
class ExercisesProofTest {

    static final int RUNS = 3;

    @TestFactory
    Stream<DynamicTest> everyExerciseIsReal() throws IOException {
        var tests = new ArrayList<DynamicTest>();
        for (Path set : Gradings.exerciseSets()) {
            String name = set.getFileName().toString();
            Path answers = Gradings.answers(set);
            var worked = new ArrayList<CompletableFuture<Gradings.Graded>>();
            for (int run = 1; run <= RUNS; run++) {
                worked.add(Gradings.grade(set, answers, "answers-run" + run));
            }
            var untouched = Gradings.grade(set, null, "");
            boolean predicts = Files.exists(set.resolve("predictions.txt"));
            // The answers' code, the starter's predictions: the checks that fail are the predict checks.
            var unanswered = predicts ? Gradings.gradeSet(set, "unanswered", List.of(answers), file -> !file.equals("predictions.txt")) : null;
            var wrong = predicts ? Gradings.gradeSet(set, "wrong-predictions", List.of(answers, Gradings.wrongPredictions(set)), file -> true) : null;

            tests.add(DynamicTest.dynamicTest(name + ": the worked answers get full marks", () -> {
                var graded = worked.getFirst().join();
                assertEquals(0, graded.exitStatus(), answers + " must get full marks:" + Gradings.failures(graded));
            }));
            tests.add(DynamicTest.dynamicTest(name + ": the worked answers score the same on " + RUNS + " runs", () -> {
                String first = worked.getFirst().join().outcome();
                for (int run = 1; run < RUNS; run++) {
                    assertEquals(first, worked.get(run).join().outcome(), name + ": run " + (run + 1) + " differs from run 1");
                }
            }));
            tests.add(DynamicTest.dynamicTest(name + ": the untouched set fails every check", () -> {
                var graded = untouched.join();
                assertEquals(1, graded.exitStatus(), set + " untouched must compile and fail");
                for (var check : graded.checks()) {
                    assertFalse(check.passed(), set + " untouched passes \"" + check.name() + "\": an exercise a learner has not done is not done");
                }
            }));
            if (predicts) {
                tests.add(DynamicTest.dynamicTest(name + ": wrong predictions fail every predict check", () -> {
                    var predictChecks = unanswered.join().checks().stream().filter(c -> !c.passed()).map(Gradings.CheckResult::name).toList();
                    assertFalse(predictChecks.isEmpty(), set + " has predictions.txt, but no check fails while it is unanswered");
                    var graded = wrong.join();
                    for (String check : predictChecks) {
                        assertTrue(graded.check(check) != null && !graded.check(check).passed(),
                                Gradings.wrongPredictions(set) + " passes the predict check \"" + check + "\"");
                    }
                    for (var check : graded.checks()) {
                        assertTrue(predictChecks.contains(check.name()) || check.passed(),
                                "with the wrong predictions, \"" + check.name() + "\" (not a predict check) fails:" + Gradings.failures(graded));
                    }
                }));
            }
        }
        return tests.stream();
    }
}
