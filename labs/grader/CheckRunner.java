package grading;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/// Runs checks one after another, each on a thread of its own with its time limit, so that a
/// check that hangs or throws is a failed check and the others still run.
public final class CheckRunner {

    /// The line the lab's log gets before each check.
    static final String STARTED = "---- grading: ";

    private CheckRunner() {
    }

    public static List<Outcome> runAll(List<Check> checks) {
        var outcomes = new ArrayList<Outcome>();
        for (Check check : checks) {
            outcomes.add(run(check));
        }
        return outcomes;
    }

    /// Runs one check. A check still running at its limit is interrupted and left behind (its
    /// thread is a daemon; the lab's JVM ends after the last check, taking it along).
    public static Outcome run(Check check) {
        var failure = new AtomicReference<Throwable>();
        var thread = Thread.ofPlatform().daemon().name("check: " + check.name()).unstarted(() -> {
            try {
                check.body().run();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        // Mark the check in the lab's log: a JVM that ends mid-check (System.exit) is traced to it.
        System.out.println(STARTED + check.name());
        ServerLog.clear();
        long start = System.nanoTime();
        thread.start();
        try {
            thread.join(check.limit());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (thread.isAlive()) {
            thread.interrupt();
            return Outcome.fail(check, "no result within " + check.limit().toSeconds()
                    + " s: something waits forever (a read nobody answers? a thread never started?)", millis);
        }
        Throwable t = failure.get();
        return t == null ? Outcome.pass(check, millis) : Outcome.fail(check, describe(t), millis);
    }

    /// The check that was running when the lab's log ends, or "" when none had started.
    static String lastStarted(java.nio.file.Path log) {
        try (var lines = java.nio.file.Files.lines(log, java.nio.charset.StandardCharsets.UTF_8)) {
            return lines.filter(l -> l.startsWith(STARTED)).reduce((a, b) -> b).map(l -> l.substring(STARTED.length())).orElse("");
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return "";
        }
    }

    /// One line that says why a check failed, for a learner.
    static String describe(Throwable t) {
        if (t instanceof AssertionError && t.getMessage() != null) {
            return t.getMessage();
        }
        if (t instanceof UnsupportedOperationException && t.getMessage() != null
                && (t.getMessage().startsWith("TODO(lab)") || t.getMessage().startsWith("TODO(exercise)"))) {
            return "not written yet: " + t.getMessage();
        }
        var text = new StringBuilder(t.getClass().getSimpleName());
        if (t.getMessage() != null) {
            text.append(": ").append(t.getMessage());
        }
        for (StackTraceElement frame : t.getStackTrace()) {
            if (isLearnerCode(frame)) {
                text.append(" (at ").append(frame.getFileName()).append(':').append(frame.getLineNumber()).append(')');
                break;
            }
        }
        if (t.getCause() != null && t.getCause() != t) {
            text.append(", caused by ").append(describe(t.getCause()));
        }
        return text.toString();
    }

    private static boolean isLearnerCode(StackTraceElement frame) {
        String name = frame.getClassName();
        return !name.contains(".") && !name.endsWith("Checks") && !name.contains("Checks$");
    }
}
