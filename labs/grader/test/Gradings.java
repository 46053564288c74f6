package grading;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// Gradings the build runs: the reference solutions, the starters, and the known-wrong solutions
/// in labs/solutions/wrong/NN-name/mistake/mistake.diff, two at a time (each grading is a JVM of its own);
/// and the chapters' exercise sets with their worked answers and wrong predictions.
final class Gradings {

    static final Path LABS = Path.of("labs");
    static final Path WRONG = LABS.resolve("solutions").resolve("wrong");
    static final Path OUT = Path.of("target", "labs-verify");

    /// Two gradings at once: one a core.
    private static final ExecutorService POOL = Executors.newFixedThreadPool(2, Thread.ofPlatform().daemon().name("grading-", 1).factory());

    /// The first line of a known-wrong solution: `// Mistake: what. Caught by: "check", "check"`.
    private static final Pattern MISTAKE = Pattern.compile("^// Mistake: (.+?)\\s+Caught by: (\"[^\"]+\"(?:, \"[^\"]+\")*)\\s*$");
    private static final Pattern QUOTED = Pattern.compile("\"([^\"]+)\"");

    /// One check's result as the JSON has it.
    record CheckResult(String name, boolean passed, int points, int maxPoints, boolean core) {
    }

    /// A whole grading: the exit status and each check's result, in order.
    record Graded(int exitStatus, List<CheckResult> checks, Path json) {
        int points() {
            return checks.stream().mapToInt(CheckResult::points).sum();
        }

        /// "check: pass" for each check: what three runs must agree on.
        String outcome() {
            var text = new StringBuilder();
            for (CheckResult c : checks) {
                text.append(c.name()).append(": ").append(c.passed() ? "pass" : "fail").append('\n');
            }
            return text.append("total ").append(points()).toString();
        }

        CheckResult check(String name) {
            return checks.stream().filter(c -> c.name().equals(name)).findFirst().orElse(null);
        }
    }

    /// A known-wrong solution: its folder, the mistake, and the checks that must catch it.
    record Wrong(Path lab, Path dir, String name, String mistake, List<String> caughtBy) {
        String label() {
            return lab.getFileName() + "/" + name;
        }
    }

    private Gradings() {
    }

    /// Every lab, or only those `-Dlabs.only=NN,NN` names (for a lab author at work on one lab).
    static List<Path> labs() throws IOException {
        var labs = new ArrayList<Path>();
        for (String which : System.getProperty("labs.only", "all").split(",")) {
            labs.addAll(grader(OUT).labs(which.strip()));
        }
        return labs;
    }

    static final Path EXERCISES = Path.of("exercises");
    static final Path ANSWERS = EXERCISES.resolve("answers");

    /// Every chapter's exercise set, `exercises/exNN-name`, in order.
    /// Every exercise set, or only those `-Dexercises.only=ex03,ex05` names (for an author at work on one).
    static List<Path> exerciseSets() throws IOException {
        var only = List.of(System.getProperty("exercises.only", "").split(","));
        return grader(OUT).exerciseSets().stream()
                .filter(set -> only.equals(List.of("")) || only.stream().anyMatch(id -> set.getFileName().toString().startsWith(id.strip() + "-")))
                .toList();
    }

    /// The worked answers of a set, and its wrong predictions.
    static Path answers(Path set) {
        return ANSWERS.resolve(set.getFileName());
    }

    static Path wrongPredictions(Path set) {
        return ANSWERS.resolve("wrong").resolve(set.getFileName());
    }

    /// Grades an exercise set with the files of `layers` swapped in, later layers over earlier
    /// ones (the worked answers' code with the wrong predictions, say); `fileFilter` picks a
    /// layer's files by name.
    static CompletableFuture<Graded> gradeSet(Path set, String resultName, List<Path> layers,
            java.util.function.Predicate<String> fileFilter) throws IOException {
        Path overlay = OUT.resolve("overlays").resolve(resultName).resolve(set.getFileName());
        if (Files.exists(overlay)) {
            try (Stream<Path> old = Files.list(overlay)) {
                for (Path p : old.toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(overlay);
        for (Path layer : layers) {
            try (Stream<Path> files = Files.list(layer)) {
                for (Path file : files.filter(Files::isRegularFile).filter(p -> fileFilter.test(p.getFileName().toString())).toList()) {
                    Files.copy(file, overlay.resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return grade(set, overlay, resultName);
    }

    /// The known-wrong solutions of every lab, read from their first lines.
    static synchronized List<Wrong> wrongSolutions() throws IOException {
        if (wrongSolutions == null) {
            wrongSolutions = readWrongSolutions();
        }
        return wrongSolutions;
    }

    /// Read once: the proofs share them, and each is applied into target/ only once.
    private static List<Wrong> wrongSolutions;

    private static List<Wrong> readWrongSolutions() throws IOException {
        var all = new ArrayList<Wrong>();
        for (Path lab : labs()) {
            Path dir = WRONG.resolve(lab.getFileName());
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> mistakes = Files.list(dir)) {
                for (Path mistake : mistakes.filter(Files::isDirectory).sorted().toList()) {
                    all.add(read(lab, mistake));
                }
            }
        }
        return all;
    }

    /// A known-wrong solution is `mistake.diff` in its folder: a unified diff against the reference
    /// solution whose first line is `// Mistake: ... Caught by: "check"`. It is applied into
    /// target/, and graded from there.
    private static Wrong read(Path lab, Path dir) throws IOException {
        Path diff = dir.resolve("mistake.diff");
        if (!Files.exists(diff)) {
            throw new AssertionError(dir + ": no mistake.diff (a diff -u against the reference solution)");
        }
        Matcher m = MISTAKE.matcher(Patch.firstLine(diff));
        if (!m.matches()) {
            throw new AssertionError(diff + ": its first line must be // Mistake: ... Caught by: \"check\"");
        }
        var checks = new ArrayList<String>();
        Matcher q = QUOTED.matcher(m.group(2));
        while (q.find()) {
            checks.add(q.group(1));
        }
        Path applied = OUT.resolve("wrong-sources").resolve(lab.getFileName().toString()).resolve(dir.getFileName().toString());
        Patch.apply(diff, LABS.resolve("solutions").resolve(lab.getFileName()), applied);
        return new Wrong(lab, applied, dir.getFileName().toString(), m.group(1), checks);
    }

    /// Grades `lab` with `solutionDir` swapped in (null: the starter as it is), in the background.
    static CompletableFuture<Graded> grade(Path lab, Path solutionDir, String resultName) {
        return grade(lab, solutionDir, resultName, List.of());
    }

    /// The same, running only the checks named in `only` (all when it is empty).
    static CompletableFuture<Graded> grade(Path lab, Path solutionDir, String resultName, List<String> only) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                Path out = OUT.resolve(resultName.isEmpty() ? "starters" : resultName);
                var result = grader(out).grade(lab, solutionDir, "", only);
                return new Graded(result.exitStatus(), parse(result.json()), result.json());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }, POOL);
    }

    static CompletableFuture<Graded> gradeSolution(Path lab, String run) {
        return grade(lab, LABS.resolve("solutions").resolve(lab.getFileName()), "solutions" + run);
    }

    /// A known-wrong solution, on every check (`onlyItsChecks` false) or only on those meant to catch it.
    static CompletableFuture<Graded> gradeWrong(Wrong wrong, String run, boolean onlyItsChecks) {
        return grade(wrong.lab(), wrong.dir(), "wrong" + run + "/" + wrong.lab().getFileName() + "/" + wrong.name(),
                onlyItsChecks ? wrong.caughtBy() : List.of());
    }

    private static Grader grader(Path out) {
        // The lab JVMs' tables go to the build's log; failures are reported from the JSON.
        return new Grader(LABS, out, true, new PrintStream(System.out, true, StandardCharsets.UTF_8));
    }

    private static final Pattern CHECK = Pattern.compile(
            "\\{\"name\": \"((?:[^\"\\\\]|\\\\.)*)\", \"points\": (\\d+), \"max_points\": (\\d+), \"status\": \"(\\w+)\", \"core\": (\\w+),");

    /// Each check's result from a grading's JSON.
    static List<CheckResult> parse(Path json) throws IOException {
        var checks = new ArrayList<CheckResult>();
        Matcher m = CHECK.matcher(Files.readString(json));
        while (m.find()) {
            checks.add(new CheckResult(m.group(1).replace("\\\"", "\"").replace("\\\\", "\\"), m.group(4).equals("pass"),
                    Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), Boolean.parseBoolean(m.group(5))));
        }
        return checks;
    }

    /// The message of each failed check, for an assertion's text.
    static String failures(Graded graded) throws IOException {
        String json = Files.readString(graded.json());
        var lines = new StringBuilder();
        for (String line : json.split("\n")) {
            if (line.contains("\"status\": \"fail\"")) {
                lines.append("\n  ").append(line.strip());
            }
        }
        return lines.toString();
    }

    static Map<String, Boolean> byName(Graded graded) {
        var map = new LinkedHashMap<String, Boolean>();
        graded.checks().forEach(c -> map.put(c.name(), c.passed()));
        return map;
    }
}
