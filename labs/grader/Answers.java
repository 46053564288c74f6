package grading;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/// A learner's answer files: the text files of an exercise folder that are not code, such as
/// `predictions.txt`, where a learner writes what they expect before the check runs the
/// experiment.
///
/// The grader tells the checks' JVM where the folder is; when it grades a worked answer, the
/// answer's files are found first.
///
/// A predictions file holds one `key: value` line per prediction; `#` starts a comment and a
/// value of `?` (or nothing) means "not answered yet".
public final class Answers {

    /// The system property naming the folder being graded.
    static final String FOLDER = "grading.folder";
    /// The system property naming the folder whose files replace the graded folder's.
    static final String OVERLAY = "grading.overlay";

    private Answers() {
    }

    /// The answer file of that name: the worked answer's when one is being graded, else the
    /// learner's.
    public static Path file(String name) {
        String overlay = System.getProperty(OVERLAY, "");
        if (!overlay.isEmpty() && Files.exists(Path.of(overlay, name))) {
            return Path.of(overlay, name);
        }
        return Path.of(System.getProperty(FOLDER, "."), name);
    }

    /// The text of an answer file.
    public static String text(String name) {
        try {
            return Files.readString(file(name), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError("cannot read " + file(name) + ": " + e.getMessage(), e);
        }
    }

    /// Every prediction in an answer file, by key, as written (trimmed, `?` left as is).
    public static Map<String, String> predictions(String name) {
        var all = new LinkedHashMap<String, String>();
        for (String line : text(name).split("\n")) {
            String content = line.contains("#") ? line.substring(0, line.indexOf('#')) : line;
            int colon = content.indexOf(':');
            if (colon > 0) {
                all.put(content.substring(0, colon).strip(), content.substring(colon + 1).strip());
            }
        }
        return all;
    }

    /// One prediction; fails, saying where to write it, when it is missing or still `?`.
    public static String prediction(String name, String key) {
        String value = predictions(name).get(key);
        if (value == null || value.isEmpty() || value.equals("?")) {
            throw new AssertionError("no prediction yet: write your answer after \"" + key + ":\" in " + file(name));
        }
        return value;
    }

    /// A prediction that must be a whole number.
    public static long number(String name, String key) {
        String value = prediction(name, key);
        try {
            return Long.parseLong(value.replace("_", "").replace(",", ""));
        } catch (NumberFormatException e) {
            throw new AssertionError("the prediction \"" + key + ": " + value + "\" in " + file(name) + " must be a whole number");
        }
    }

    /// Whether a folder holds any file at all (a worked answer may be text only).
    static boolean hasFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.anyMatch(Files::isRegularFile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
