package grading;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/// The grader's options for teachers: grade a class's submissions, write a Gradescope
/// autograder, export a class copy. Read: labs/README.adoc, "For teachers".
final class ClassGrading {

    static final String USAGE = """
            Usage: ./jbang labs/Grade.java --submissions DIR [--out DIR] [--jobs N] [--limit S] NN|exNN
                   ./jbang labs/Grade.java --submission DIR --out DIR NN|exNN
                   ./jbang labs/Grade.java --gradescope NN|exNN [--out FILE.zip]
                   ./jbang labs/Grade.java --export DIR

            For teachers, from the course's top folder:

              --submissions DIR  grade every folder in DIR (one a learner: their lab files, or a
                                 clone of the course), several at a time, each in a JVM and (as
                                 root) a network namespace of its own; write the class's CSV and
                                 HTML page, and per learner the course's JSON, Gradescope's
                                 results.json and a JUnit XML report, into DIR/../results-NN/
              --submission DIR   grade one learner's folder (what an autograder does)
              --out PATH         where the results (or the zip) go
              --jobs N           how many submissions at once (default: the cores, %d here)
              --limit S          the most one submission's checks may take, in seconds (default %d)
              --gradescope       write a Gradescope autograder zip (default target/gradescope-NN.zip)
              --export DIR       write the course for a class, without the solutions or the
                                 exercises' worked answers
            """.formatted(Runtime.getRuntime().availableProcessors(), Sandbox.Limits.DEFAULT.seconds());

    private ClassGrading() {
    }

    /// Whether `args` ask for a teacher's option; if so, it is done and the JVM exits with its status.
    static boolean handles(String[] args) throws Exception {
        List<String> list = List.of(args);
        if (!(list.contains("--submissions") || list.contains("--submission") || list.contains("--gradescope")
                || list.contains("--export") || list.contains("--help-class"))) {
            return false;
        }
        int status;
        try {
            status = run(list);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.print(USAGE);
            status = 2;
        }
        System.out.flush();
        System.exit(status);
        return true;
    }

    private static int run(List<String> args) throws IOException, InterruptedException {
        String which = null;
        Path submissions = null;
        Path out = null;
        Path export = null;
        boolean gradescope = false;
        boolean single = false;
        int jobs = Runtime.getRuntime().availableProcessors();
        long limit = Sandbox.Limits.DEFAULT.seconds();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            switch (arg) {
                case "--help-class" -> {
                    System.out.print(USAGE);
                    return 0;
                }
                case "--submissions", "--submission" -> {
                    single = arg.equals("--submission");
                    submissions = Path.of(value(args, ++i, arg));
                }
                case "--out" -> out = Path.of(value(args, ++i, arg));
                case "--export" -> export = Path.of(value(args, ++i, arg));
                case "--gradescope" -> gradescope = true;
                case "--jobs" -> jobs = number(value(args, ++i, arg), arg);
                case "--limit" -> limit = number(value(args, ++i, arg), arg);
                default -> {
                    if (!arg.matches("(ex)?\\d{1,2}")) {
                        throw new IllegalArgumentException("unknown argument: " + arg);
                    }
                    which = arg;
                }
            }
        }
        Path course = Path.of("").toAbsolutePath();
        if (!Files.isDirectory(course.resolve("labs").resolve("grader"))) {
            throw new IllegalArgumentException("no labs/ folder here: run the grader from the course's top folder");
        }
        if (export != null) {
            var exported = ClassCopy.export(course, export);
            System.out.println("Wrote the class copy to " + exported.dir() + ": " + exported.files() + " files, without "
                    + String.join(" or ", ClassCopy.LEFT_OUT) + (exported.testsLeftOut().isEmpty() ? ""
                    : "; left out the tests that grade them: " + String.join(", ", exported.testsLeftOut())));
            return 0;
        }
        if (which == null) {
            throw new IllegalArgumentException("which lab? give its number (01) or an exercise set (ex05)");
        }
        if (gradescope) {
            Path zip = out != null ? out : Path.of("target", "gradescope-" + which + ".zip");
            Gradescope.write(course, which, zip);
            System.out.println("Wrote " + zip + ": upload it as the assignment's autograder (Gradescope: Configure Autograder, Zip file upload)");
            return 0;
        }
        if (submissions == null) {
            throw new IllegalArgumentException("--out, --jobs and --limit go with --submissions DIR");
        }
        String lab = which;
        String labName = new Grader(course.resolve("labs"), course.resolve("target"), false, System.out).labs(lab).stream()
                .findFirst().orElseThrow(() -> new IllegalArgumentException("no lab or exercise set " + lab)).getFileName().toString();
        Path results = out != null ? out : submissions.toAbsolutePath().normalize().resolveSibling("results-" + labName.substring(0, labName.indexOf('-')));
        var limits = new Sandbox.Limits(Sandbox.Limits.DEFAULT.heapMegabytes(), Sandbox.Limits.DEFAULT.outputBytes(),
                Sandbox.Limits.DEFAULT.threads(), limit);
        new Batch(course, new Batch.Options(which, submissions, results, jobs, limits, single), System.out).run();
        return 0;
    }

    private static String value(List<String> args, int i, String option) {
        if (i >= args.size()) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args.get(i);
    }

    private static int number(String value, String option) {
        try {
            int n = Integer.parseInt(value);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Said below.
        }
        throw new IllegalArgumentException(option + " needs a whole number above 0, not " + value);
    }
}
