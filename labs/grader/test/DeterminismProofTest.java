package grading;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.parallel.Isolated;

/// A score is the same on every run: every reference solution and every known-wrong solution,
/// graded three times, passes and fails the same checks each time. Slow (every lab graded three
/// times over), so it runs in the proof profile: `./mvnw -B -Pproof verify`.
@Tag("proof")
@Isolated
class DeterminismProofTest {

    static final int RUNS = 3;

    @TestFactory
    Stream<DynamicTest> threeRunsScoreTheSame() throws IOException {
        var tests = new ArrayList<DynamicTest>();
        for (Path lab : Gradings.labs()) {
            var runs = new ArrayList<CompletableFuture<Gradings.Graded>>();
            for (int run = 1; run <= RUNS; run++) {
                runs.add(Gradings.gradeSolution(lab, "-run" + run));
            }
            tests.add(sameEveryRun(lab.getFileName() + ": the solution", runs));
        }
        for (Gradings.Wrong wrong : Gradings.wrongSolutions()) {
            var runs = new ArrayList<CompletableFuture<Gradings.Graded>>();
            for (int run = 1; run <= RUNS; run++) {
                runs.add(Gradings.gradeWrong(wrong, "-run" + run, false));
            }
            tests.add(sameEveryRun(wrong.label(), runs));
        }
        return tests.stream();
    }

    private static DynamicTest sameEveryRun(String what, List<CompletableFuture<Gradings.Graded>> runs) {
        return DynamicTest.dynamicTest(what + ": the same score on " + RUNS + " runs", () -> {
            String first = runs.getFirst().join().outcome();
            for (int run = 1; run < runs.size(); run++) {
                assertEquals(first, runs.get(run).join().outcome(), what + ": run " + (run + 1) + " differs from run 1");
            }
            System.out.println(what + ": " + first.substring(first.lastIndexOf('\n') + 1) + " on each of " + RUNS + " runs");
        });
    }
}
