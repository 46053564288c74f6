package grading;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/// `--watch`: grades a lab or exercise set, then grades it again each time a file of its folder
/// is saved (not its `checks/`), until Ctrl-C, as rustlings does.
public final class Watch {

    /// After a save, how long to wait for the editor's other writes before grading once for all.
    static final long SETTLE_MILLIS = 200;

    /// Clears a terminal: ESC [H (cursor home), ESC [2J (erase the screen).
    private static final String CLEAR = "\u001b[H\u001b[2J";

    private final Grader grader;
    private final Path folder;
    private final PrintStream console;
    private final boolean clearScreen;

    public Watch(Grader grader, Path folder, PrintStream console, boolean clearScreen) {
        this.grader = grader;
        this.folder = folder;
        this.console = console;
        this.clearScreen = clearScreen;
    }

    /// Grades, then watches and grades again after each save, until the thread is interrupted.
    public void run() throws IOException, InterruptedException {
        try (WatchService watcher = FileSystems.getDefault().newWatchService()) {
            // Watch before the first grading, so that no save is missed while it runs.
            folder.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
            grade(1, "");
            for (int run = 2; ; run++) {
                var changed = nextChanges(watcher);
                grade(run, "saved " + String.join(", ", changed));
            }
        } catch (ClosedWatchServiceException e) {
            throw new InterruptedException("the watch ended");
        }
    }

    private void grade(int run, String why) throws IOException, InterruptedException {
        if (clearScreen) {
            console.print(CLEAR);
        }
        String time = LocalTime.now().truncatedTo(ChronoUnit.SECONDS).toString();
        console.println("──── grading " + folder.getFileName() + " · run " + run + " · " + time
                + (why.isEmpty() ? "" : " · " + why) + " ────");
        grader.grade(folder, false);
        console.println("──── watching " + folder + " for saved files; Ctrl-C ends ────");
    }

    /// Waits for a save of a learner's file, then for the editor's other writes to settle; the
    /// names of the files saved.
    private TreeSet<String> nextChanges(WatchService watcher) throws InterruptedException {
        var changed = new TreeSet<String>();
        while (changed.isEmpty()) {
            collect(watcher.take(), changed);
            for (WatchKey more; (more = watcher.poll(SETTLE_MILLIS, TimeUnit.MILLISECONDS)) != null; ) {
                collect(more, changed);
            }
            changed.removeIf(name -> !Files.isRegularFile(folder.resolve(name)));
        }
        return changed;
    }

    private static void collect(WatchKey key, TreeSet<String> changed) {
        for (var event : key.pollEvents()) {
            if (event.context() instanceof Path name && isLearnersFile(name.toString())) {
                changed.add(name.toString());
            }
        }
        key.reset();
    }

    /// A file the learner edits: not the checks, not an editor's backup, swap or lock file.
    static boolean isLearnersFile(String name) {
        return !name.equals("checks") && !name.startsWith(".") && !name.startsWith("#")
                && !name.endsWith("~") && !name.endsWith(".swp") && !name.endsWith(".swx")
                && !name.endsWith(".tmp") && !name.matches("\\d+");
    }
}
