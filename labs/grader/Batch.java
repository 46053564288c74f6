package grading;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/// Grades a class: every submission in a folder (one folder a learner, holding their lab files,
/// or a clone of the course), several at a time, each in a [Sandbox]; then writes the class's
/// results ([ResultFiles]) and, for a lab, a similarity report ([Similarity]).
public final class Batch {

    /// What to grade and how: the lab (`01`, `ex05`), the submissions' folder, where the results
    /// go, how many at once, and what one submission may use.
    public record Options(String which, Path submissions, Path out, int jobs, Sandbox.Limits limits, boolean single) {
    }

    /// One learner's work: their name (the folder's) and the folder that holds their lab files.
    record Submission(String learner, Path files) {
    }

    private final Path course;
    private final Options options;
    private final PrintStream console;

    public Batch(Path course, Options options, PrintStream console) {
        this.course = course.toAbsolutePath().normalize();
        this.options = options;
        this.console = console;
    }

    /// Grades every submission, writes the class's files, and returns each learner's result, in
    /// the order of their names.
    public List<ResultFiles.Learner> run() throws IOException, InterruptedException {
        Path labFolder = labFolder();
        String labName = labFolder.getFileName().toString();
        List<Submission> submissions = submissions(labName);
        Files.createDirectories(options.out());
        boolean isolate = Sandbox.canIsolate();
        console.printf("Grading %d submissions of %s, %d at a time%s%n", submissions.size(), labName, Math.min(options.jobs(), submissions.size()),
                isolate ? ", each in its own network namespace" : " (not root: no network namespaces, no thread cap)");
        Path work = Files.createTempDirectory("socketlab-batch-");
        // The solutions, the worked answers, the grader's earlier output (compiled solutions among it),
        // the other learners' work and results.
        var hidden = List.of(course.resolve("labs").resolve("solutions"), course.resolve("exercises").resolve("answers"),
                course.resolve("target").resolve("labs"), course.resolve("target").resolve("labs-verify"),
                options.submissions().toAbsolutePath(), options.out().toAbsolutePath());
        long start = System.nanoTime();
        var done = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(options.jobs(), Thread.ofPlatform().daemon().name("grading-", 1).factory());
        var results = new ArrayList<Future<ResultFiles.Learner>>();
        try {
            for (int i = 0; i < submissions.size(); i++) {
                Submission s = submissions.get(i);
                Path root = work.resolve(String.valueOf(i));
                String id = ProcessHandle.current().pid() + "-" + i;
                results.add(pool.submit(() -> {
                    var learner = gradeOne(s, labFolder, root, id, hidden, isolate);
                    progress(done.incrementAndGet(), submissions.size(), start, learner);
                    return learner;
                }));
            }
            var learners = new ArrayList<ResultFiles.Learner>();
            for (var f : results) {
                try {
                    learners.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IOException("grading failed: " + e.getCause(), e.getCause());
                }
            }
            writeClassFiles(labFolder, learners);
            return learners;
        } finally {
            pool.shutdownNow();
            Sandbox.deleteTree(work);
        }
    }

    /// The lab's folder in the course: `labs/NN-name` or `exercises/exNN-name`.
    Path labFolder() throws IOException {
        List<Path> labs = new Grader(course.resolve("labs"), options.out(), false, console).labs(options.which());
        if (labs.size() != 1) {
            throw new IllegalArgumentException("no lab or exercise set " + options.which() + " in " + course);
        }
        return labs.getFirst();
    }

    /// Each folder in the submissions' folder is a learner (a folder whose name starts with a dot
    /// is not); with `single`, the folder itself is the one learner.
    List<Submission> submissions(String labName) throws IOException {
        Path dir = options.submissions();
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("no folder " + dir);
        }
        if (options.single()) {
            return List.of(new Submission(dir.toAbsolutePath().normalize().getFileName().toString(), filesOf(dir, labName)));
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted().map(p -> new Submission(p.getFileName().toString(), filesOf(p, labName))).toList();
        }
    }

    /// A learner's lab files: in `labs/NN-name/` (or `exercises/exNN-name/`) of a clone of the
    /// course, in `NN-name/`, or at the top of their folder.
    private static Path filesOf(Path learner, String labName) {
        for (Path candidate : List.of(learner.resolve("labs").resolve(labName), learner.resolve("exercises").resolve(labName),
                learner.resolve(labName))) {
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return learner;
    }

    private ResultFiles.Learner gradeOne(Submission s, Path labFolder, Path root, String id, List<Path> hidden, boolean isolate)
            throws IOException, InterruptedException {
        String labName = labFolder.getFileName().toString();
        Path learnerOut = options.out().resolve(s.learner());
        Files.createDirectories(learnerOut);
        var captured = new CappedOutput(256 * 1024);
        long start = System.nanoTime();
        Grader.Result result;
        try (var sandbox = Sandbox.create(course, labFolder, s.files(), root, id, options.limits(), hidden, isolate);
                var out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            var grader = new Grader(sandbox.labsDir(), root.resolve("target").resolve("labs"), false, out)
                    .sandboxed(sandbox::wrap, options.limits().seconds());
            result = grader.grade(sandbox.lab(), null, "");
            double seconds = (System.nanoTime() - start) / 1e9;
            Files.copy(result.json(), learnerOut.resolve(labName + ".json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Path log = result.json().resolveSibling(labName + ".log");
            copyAtMost(log, learnerOut.resolve(labName + ".log"), options.limits().outputBytes());
            Files.write(learnerOut.resolve("console.txt"), captured.bytes());
            var learner = ResultFiles.Learner.read(s.learner(), result.json(), seconds, result.exitStatus());
            if (Files.exists(log) && Files.size(log) >= options.limits().outputBytes()) {
                learner = learner.noted("it printed more than " + (options.limits().outputBytes() >> 20) + " MB: its log is cut there");
            }
            ResultFiles.writeLearner(learnerOut, learner);
            return learner;
        }
    }

    private void writeClassFiles(Path labFolder, List<ResultFiles.Learner> learners) throws IOException {
        String labName = labFolder.getFileName().toString();
        String similarity = null;
        if (!options.single() && learners.size() > 1 && !labName.startsWith("ex")) {
            similarity = Similarity.report(labFolder, submissions(labName).stream().map(Submission::files).toList(),
                    learners.stream().map(ResultFiles.Learner::name).toList(), options.out(), console);
        }
        ResultFiles.writeClass(options.out(), labName, learners, similarity);
        console.println("Results: " + options.out().resolve("index.html") + ", " + options.out().resolve("results.csv"));
    }

    private synchronized void progress(int done, int total, long start, ResultFiles.Learner learner) {
        double elapsed = (System.nanoTime() - start) / 1e9;
        double left = elapsed / done * (total - done);
        console.printf("graded %d/%d · %s so far%s · %s: %d points, %s%n", done, total, clock(elapsed),
                done == total ? "" : " · about " + clock(left) + " left", learner.name(), learner.points(), learner.outcome());
    }

    private static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format("%d:%02d", s / 60, s % 60);
    }

    /// Copies at most `limit` bytes of a file (what a submission printed may be huge).
    private static void copyAtMost(Path from, Path to, long limit) throws IOException {
        if (!Files.exists(from)) {
            Files.writeString(to, "");
            return;
        }
        try (InputStream in = Files.newInputStream(from); OutputStream out = Files.newOutputStream(to)) {
            long left = limit;
            byte[] buffer = new byte[65536];
            for (int n; left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) > 0; left -= n) {
                out.write(buffer, 0, n);
            }
            if (Files.size(from) >= limit) {
                out.write(("\n[cut: the output stops at " + limit + " bytes]\n").getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    /// Keeps the first `limit` bytes written to it and drops the rest.
    static final class CappedOutput extends OutputStream {
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private final int limit;

        CappedOutput(int limit) {
            this.limit = limit;
        }

        @Override
        public synchronized void write(int b) {
            if (kept.size() < limit) {
                kept.write(b);
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            kept.write(b, off, Math.max(0, Math.min(len, limit - kept.size())));
        }

        synchronized byte[] bytes() {
            return kept.toByteArray();
        }
    }
}
