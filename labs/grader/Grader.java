package grading;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import javax.tools.ToolProvider;

/// Grades labs: compiles a lab's code (the starter a learner edits, or the reference solution)
/// with its checks, and runs the checks in a JVM of its own.
///
/// `./jbang labs/Grade.java 01` grades lab 01; `all` grades every lab; `--solution` grades the
/// reference solutions instead of the starters.
public final class Grader {

    static final String USAGE = """
            Usage: ./jbang labs/Grade.java [NN|exNN|all] [--solution] [--watch] [--top DIR]
                   ./jbang labs/Grade.java --list | --progress | --help

            Grades a lab or a chapter's exercises: compiles labs/NN-name/ (or
            exercises/exNN-name/) with its checks, runs every check, prints a table (check,
            points, PASS/FAIL, a hint for each failure) and the total, and writes the result as
            JSON to target/labs/NN-name.json.

              NN          the lab's number, e.g. 01 (default: all labs)
              exNN        the exercises of chapter NN, e.g. ex05
              --solution  grade the reference solution (labs/solutions/, or the worked
                          answers in exercises/answers/) instead
              --watch     grade NN or exNN, then again each time you save one of its files,
                          until Ctrl-C
              --list      list every lab and exercise set with its title, checks and points
              --progress  show every exercise set and lab in course order, from your last
                          gradings, and the next one to do
              --top DIR   the course's top folder (default: the current folder)
              --help      print this help and exit

            For teachers: --submissions DIR grades a class, --gradescope writes an
            autograder, --export DIR writes a class copy (./jbang labs/Grade.java --help-class).
            """;

    /// The longest one lab may take, all checks included, before its JVM is stopped.
    static final long LAB_LIMIT_SECONDS = 600;

    /// Where a lab's result went.
    public record Result(String lab, int exitStatus, Path json) {
        public boolean fullMarks() {
            return exitStatus == 0;
        }
    }

    private final Path labsDir;
    private final Path outDir;
    private final boolean strict;
    private final PrintStream console;
    /// How the checks' JVM is started: the command as built, changed by a sandbox ([Sandbox]).
    private UnaryOperator<List<String>> launcher = UnaryOperator.identity();
    private long labLimitSeconds = LAB_LIMIT_SECONDS;

    /// `strict` also fails a lab whose code compiles with warnings (the build grades that way).
    public Grader(Path labsDir, Path outDir, boolean strict, PrintStream console) {
        this.labsDir = labsDir;
        this.outDir = outDir;
        this.strict = strict;
        this.console = console;
    }

    /// This grader, starting the checks' JVM through `launcher` and stopping it after `limitSeconds`.
    public Grader sandboxed(UnaryOperator<List<String>> launcher, long limitSeconds) {
        this.launcher = launcher;
        this.labLimitSeconds = limitSeconds;
        return this;
    }

    public static void main(String[] args) throws Exception {
        if (ClassGrading.handles(args)) {
            return;
        }
        String which = "all";
        boolean solution = false;
        String mode = "grade";
        Path top = Path.of("");
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    return;
                }
                case "--solution" -> solution = true;
                case "--watch", "--list", "--progress" -> mode = arg.substring(2);
                case "--top" -> {
                    if (i + 1 == args.length) {
                        usageError("--top needs a folder");
                    }
                    top = Path.of(args[++i]);
                }
                default -> {
                    if (arg.equals("all") || arg.matches("(ex)?\\d{1,2}")) {
                        which = arg;
                    } else {
                        usageError("unknown argument: " + arg);
                    }
                }
            }
        }
        Path labsDir = top.resolve("labs");
        if (!Files.isDirectory(labsDir.resolve("grader"))) {
            System.err.println("no labs/ folder here: run the grader from the course's top folder (or give it with --top)");
            System.exit(2);
        }
        var grader = new Grader(labsDir, top.resolve("target").resolve("labs"), false, System.out);
        switch (mode) {
            case "list" -> {
                System.out.print(Course.listTable(grader));
                return;
            }
            case "progress" -> {
                System.out.print(Progress.table(grader));
                return;
            }
            default -> {
            }
        }
        if (mode.equals("watch") && (which.equals("all") || solution)) {
            usageError("--watch grades one lab or exercise set, as you edit it: give its NN or exNN");
        }
        List<Path> labs = grader.labs(which);
        if (labs.isEmpty()) {
            System.err.println(which.startsWith("ex") ? "no exercises " + which + " in exercises/" : "no lab numbered " + which + " in labs/");
            System.exit(2);
        }
        if (mode.equals("watch")) {
            // Ctrl-C ends the watch: take along the checks' JVM of a grading under way.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly)));
            boolean terminal = System.console() != null && System.console().isTerminal();
            new Watch(grader, labs.getFirst(), System.out, terminal).run();
            return;
        }
        // The worst status of all: 0 full marks everywhere, 1 points missing, 3 code that does not compile.
        int status = 0;
        for (Path lab : labs) {
            status = Math.max(status, grader.grade(lab, solution).exitStatus());
        }
        System.exit(status);
    }

    private static void usageError(String problem) {
        System.err.println(problem);
        System.err.print(USAGE);
        System.exit(2);
    }

    /// The lab folders, `labs/NN-name`, for "all" or one number; for `exNN`, the folder of that
    /// chapter's exercises, `exercises/exNN-name`.
    public List<Path> labs(String which) throws IOException {
        if (which.startsWith("ex")) {
            String prefix = String.format("ex%02d-", Integer.parseInt(which.substring(2)));
            return folders(exercisesDir(), "ex\\d\\d-.+", prefix);
        }
        String prefix = which.equals("all") ? "" : String.format("%02d-", Integer.parseInt(which));
        return folders(labsDir, "\\d\\d-.+", prefix);
    }

    /// Every chapter's exercise folder, `exercises/exNN-name`, in order.
    public List<Path> exerciseSets() throws IOException {
        return folders(exercisesDir(), "ex\\d\\d-.+", "");
    }

    /// The exercises sit beside the labs: `exercises/` in the course's top folder.
    Path exercisesDir() {
        return labsDir.toAbsolutePath().getParent().resolve("exercises");
    }

    private static List<Path> folders(Path dir, String pattern, String prefix) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(Files::isDirectory)
                    .filter(p -> p.getFileName().toString().matches(pattern))
                    .filter(p -> p.getFileName().toString().startsWith(prefix))
                    .sorted()
                    .toList();
        }
    }

    /// Where a lab's reference solution is (`labs/solutions/NN-name`), or an exercise set's worked
    /// answers (`exercises/answers/exNN-name`).
    Path solutionDir(Path lab) {
        String name = lab.getFileName().toString();
        return name.startsWith("ex") ? exercisesDir().resolve("answers").resolve(name)
                : labsDir.resolve("solutions").resolve(name);
    }

    Path labsDir() {
        return labsDir;
    }

    Path outDir() {
        return outDir;
    }

    /// The name of a folder's checks class: the file in `checks/` whose name ends in `Checks.java`.
    String checksClass(Path lab) throws IOException {
        return javaFiles(lab.resolve("checks")).stream().map(p -> p.getFileName().toString())
                .filter(n -> n.endsWith("Checks.java")).findFirst()
                .orElseThrow(() -> new IOException("no *Checks.java in " + lab.resolve("checks")))
                .replace(".java", "");
    }

    /// Compiles a folder's code with its checks into `classes`, unless it is compiled there already
    /// from the same files; returns the compiler's errors, or null.
    String compileOnce(Path lab, Path classes) throws IOException {
        var all = new ArrayList<>(labSources(lab, null));
        all.addAll(javaFiles(lab.resolve("checks")));
        var stamp = new StringBuilder();
        for (Path p : all) {
            stamp.append(p.toAbsolutePath()).append(' ').append(Files.getLastModifiedTime(p).toMillis()).append('\n');
        }
        Path stampFile = classes.resolve("compiled-from.txt");
        if (Files.exists(stampFile) && Files.readString(stampFile).contentEquals(stamp)) {
            return null;
        }
        String errors = compile(all, classes, false);
        if (errors == null) {
            Files.writeString(stampFile, stamp);
        }
        return errors;
    }

    /// Grades one lab: its starter (as the learner left it) or its reference solution.
    public Result grade(Path lab, boolean solution) throws IOException, InterruptedException {
        Path solutionDir = solution ? solutionDir(lab) : null;
        return grade(lab, solutionDir, solution ? "solutions" : "");
    }

    /// Grades one lab with the files of `solutionDir` swapped in (a known-wrong solution, say);
    /// its results go to `resultName` under the grader's output folder.
    public Result grade(Path lab, Path solutionDir, String resultName) throws IOException, InterruptedException {
        return grade(lab, solutionDir, resultName, List.of());
    }

    /// The same, running only the checks named in `only` (all when it is empty).
    public Result grade(Path lab, Path solutionDir, String resultName, List<String> only) throws IOException, InterruptedException {
        String name = lab.getFileName().toString();
        Path resultDir = resultName.isEmpty() ? outDir : outDir.resolve(resultName);
        Path json = resultDir.resolve(name + ".json");
        Path log = resultDir.resolve(name + ".log");
        Path classes = outDir.resolve("classes").resolve(name + (resultName.isEmpty() ? "" : "-" + resultName));
        Files.createDirectories(resultDir);
        Files.deleteIfExists(json);

        List<Path> checks = javaFiles(lab.resolve("checks"));
        List<Path> sources = labSources(lab, solutionDir);
        String checksClass = checksClass(lab);

        var all = new ArrayList<>(sources);
        all.addAll(checks);
        String errors = compile(all, classes, true);
        if (errors != null) {
            console.println(Report.label(name) + ": the code does not compile, so no check can run:");
            console.println(errors);
            writeError(json, name, "does not compile", errors);
            return new Result(name, 3, json);
        }
        int status = fork(classes, checksClass, name, json, log, only, lab, solutionDir);
        if (!Files.exists(json)) {
            writeError(json, name, "stopped", status == 4 ? "the checks did not finish within " + labLimitSeconds + " s (the check running then: \""
                    + CheckRunner.lastStarted(log) + "\"): something loops or waits forever"
                    : "the checks' JVM ended (exit status " + status + ") during the check \"" + CheckRunner.lastStarted(log)
                            + "\": the lab's code called System.exit, or the JVM crashed");
            status = Math.max(status, 1);
        }
        return new Result(name, status, json);
    }

    /// A result with no checks run, and why.
    private static void writeError(Path json, String name, String title, String error) throws IOException {
        Files.writeString(json, new Report(name, title, List.of()).json()
                .replace("\"checks\": [", "\"error\": " + Report.quote(error) + ",\n  \"checks\": ["));
    }

    /// The lab's code: every `.java` file in its folder, with those of the same name in
    /// `labs/solutions/NN-name/` swapped in when grading the solution.
    List<Path> labSources(Path lab, boolean solution) throws IOException {
        return labSources(lab, solution ? solutionDir(lab) : null);
    }

    /// The lab's code with the files of `solutionDir` (null: none) swapped in.
    List<Path> labSources(Path lab, Path solutionDir) throws IOException {
        var byName = new java.util.TreeMap<String, Path>();
        for (Path p : javaFiles(lab)) {
            byName.put(p.getFileName().toString(), p);
        }
        if (solutionDir != null) {
            List<Path> solutionFiles = javaFiles(solutionDir);
            if (solutionFiles.isEmpty() && !Answers.hasFiles(solutionDir)) {
                throw new IOException("no reference solution in " + solutionDir);
            }
            for (Path p : solutionFiles) {
                byName.put(p.getFileName().toString(), p);
            }
        }
        return List.copyOf(byName.values());
    }

    private static List<Path> javaFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> p.toString().endsWith(".java")).sorted(Comparator.naturalOrder()).toList();
        }
    }

    /// Compiles with the JDK's compiler in this JVM; returns the errors, or null when it compiled.
    private String compile(List<Path> sources, Path classes, boolean showWarnings) throws IOException {
        deleteTree(classes);
        Files.createDirectories(classes);
        var compiler = ToolProvider.getSystemJavaCompiler();
        var options = new ArrayList<>(List.of("-d", classes.toString(), "-cp", System.getProperty("java.class.path"),
                "-encoding", "UTF-8", "-implicit:none", "-Xlint:all,-serial,-auxiliaryclass", "-Xmaxwarns", "50"));
        if (strict) {
            options.add("-Werror");
        }
        var messages = new StringWriter();
        try (var files = compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8)) {
            var units = files.getJavaFileObjectsFromPaths(sources);
            boolean ok = compiler.getTask(messages, files, null, options, null, units).call();
            if (!messages.toString().isBlank() && ok && showWarnings) {
                console.print(messages);
            }
            return ok ? null : messages.toString();
        }
    }

    /// Runs the checks in a JVM of their own, passing its output through; its exit status.
    private int fork(Path classes, String checksClass, String name, Path json, Path log, List<String> only,
            Path lab, Path solutionDir) throws IOException, InterruptedException {
        String classPath = classes + File.pathSeparator + System.getProperty("java.class.path");
        var command = new ArrayList<String>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xshare:off");
        command.add("-Xmx512m");
        mockitoAgent(classPath).ifPresent(jar -> command.add("-javaagent:" + jar));
        if (!only.isEmpty()) {
            command.add("-Dgrading.only=" + String.join("|", only));
        }
        // The checks read a learner's answer files (an exercise's predictions) through Answers.
        command.add("-D" + Answers.FOLDER + "=" + lab.toAbsolutePath());
        if (solutionDir != null) {
            command.add("-D" + Answers.OVERLAY + "=" + solutionDir.toAbsolutePath());
        }
        command.addAll(List.of("-cp", classPath, LabRun.class.getName(),
                checksClass, name, json.toString(), log.toString()));
        Process process = new ProcessBuilder(launcher.apply(command)).redirectErrorStream(true).start();
        var pump = Thread.ofPlatform().daemon().start(() -> {
            try (var lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                lines.lines().forEach(console::println);
            } catch (IOException ignored) {
                // The process ended.
            }
        });
        boolean ended;
        try {
            ended = process.waitFor(labLimitSeconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            // Stopped from outside (a watch that ends): take the checks' JVM along.
            stop(process);
            throw e;
        }
        if (!ended) {
            stop(process);
            console.println(Report.label(name) + ": stopped after " + labLimitSeconds + " s");
            return 4;
        }
        pump.join(5_000);
        return process.exitValue();
    }

    private static void stop(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.onExit().join();
    }

    /// Mockito's jar, given to the checks' JVM as an agent so that mocks of JDK classes work.
    private static java.util.Optional<String> mockitoAgent(String classPath) {
        return Stream.of(classPath.split(File.pathSeparator))
                .filter(entry -> Path.of(entry).getFileName().toString().matches("mockito-core-.*\\.jar"))
                .findFirst();
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
