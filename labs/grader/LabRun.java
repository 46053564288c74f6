package grading;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/// The JVM that grades one lab: runs its checks, prints the table, writes the JSON, and exits,
/// taking along anything the lab's code left running. The lab's own output goes to a log file so
/// that the table stays readable.
///
/// Arguments: the checks class, the lab's name, the JSON file, the log file.
/// Exit status: 0 full marks, 1 not full marks, 2 the checks could not be loaded.
public final class LabRun {

    private LabRun() {
    }

    /// `-Dgrading.only=name|name` runs only the checks of those names (the build grades a
    /// known-wrong solution on the checks meant to catch it).
    static List<Check> selected(List<Check> checks) {
        String only = System.getProperty("grading.only", "");
        if (only.isEmpty()) {
            return checks;
        }
        var names = java.util.Set.of(only.split("\\|"));
        return checks.stream().filter(check -> names.contains(check.name())).toList();
    }

    public static void main(String[] args) throws IOException {
        String checksClass = args[0];
        String labName = args[1];
        Path json = Path.of(args[2]);
        Path log = Path.of(args[3]);
        Files.createDirectories(json.toAbsolutePath().getParent());
        Files.createDirectories(log.toAbsolutePath().getParent());

        Lab lab;
        try {
            var type = Class.forName(checksClass);
            var constructor = type.getDeclaredConstructor();
            constructor.setAccessible(true);
            lab = (Lab) constructor.newInstance();
        } catch (ReflectiveOperationException | ClassCastException e) {
            System.out.println("cannot load the checks " + checksClass + ": " + e);
            Runtime.getRuntime().halt(2);
            return;
        }

        PrintStream console = System.out;
        PrintStream consoleErr = System.err;
        List<Outcome> outcomes;
        try (var logOut = ServerLog.tee(new FileOutputStream(log.toFile()))) {
            System.setOut(logOut);
            System.setErr(logOut);
            outcomes = CheckRunner.runAll(selected(lab.checks()));
        } finally {
            System.setOut(console);
            System.setErr(consoleErr);
        }

        var report = new Report(labName, lab.title(), outcomes);
        Files.writeString(json, report.json());
        console.print(report.table());
        console.println("  (result: " + json + ", the lab's output: " + log + ")");
        console.flush();
        // Halt rather than exit: a shutdown hook or thread left by the lab's code cannot hold us.
        Runtime.getRuntime().halt(report.fullMarks() ? 0 : 1);
    }
}
