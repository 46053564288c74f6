package grading;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// A known-wrong solution is kept as a unified diff against the reference solution (`diff -u`),
/// so that the mistake is all a reader sees. This applies one: every hunk must match exactly.
final class Patch {

    private static final Pattern FILE = Pattern.compile("^\\+\\+\\+ (?:b/)?(\\S+).*$");
    private static final Pattern HUNK = Pattern.compile("^@@ -(\\d+)(?:,\\d+)? \\+\\d+(?:,\\d+)? @@.*$");

    private Patch() {
    }

    /// The patch's first line: the mistake and the checks that must catch it.
    static String firstLine(Path patch) throws IOException {
        return Files.readAllLines(patch, StandardCharsets.UTF_8).getFirst();
    }

    /// Writes into `target` the files of `original` with `patch` applied to those it changes.
    static void apply(Path patch, Path original, Path target) throws IOException {
        Files.createDirectories(target);
        try (var files = Files.list(original)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Files.copy(file, target.resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        List<String> lines = Files.readAllLines(patch, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            Matcher file = FILE.matcher(lines.get(i));
            if (!file.matches()) {
                continue;
            }
            Path changed = target.resolve(Path.of(file.group(1)).getFileName());
            List<String> before = Files.readAllLines(changed, StandardCharsets.UTF_8);
            var after = new ArrayList<String>();
            int next = 0;
            i++;
            while (i < lines.size() && !lines.get(i).startsWith("--- ")) {
                Matcher hunk = HUNK.matcher(lines.get(i));
                if (!hunk.matches()) {
                    throw new IOException(patch + " line " + (i + 1) + ": expected a hunk, found: " + lines.get(i));
                }
                int start = Integer.parseInt(hunk.group(1)) - 1;
                while (next < start) {
                    after.add(before.get(next++));
                }
                i++;
                while (i < lines.size() && !lines.get(i).startsWith("@@") && !lines.get(i).startsWith("--- ")) {
                    String line = lines.get(i++);
                    char kind = line.isEmpty() ? ' ' : line.charAt(0);
                    String text = line.isEmpty() ? "" : line.substring(1);
                    switch (kind) {
                        case '+' -> after.add(text);
                        case ' ', '-' -> {
                            if (next >= before.size() || !before.get(next).equals(text)) {
                                throw new IOException(patch + " does not apply to " + changed.getFileName() + " at line " + (next + 1)
                                        + ": the reference solution changed; make the patch again with diff -u");
                            }
                            if (kind == ' ') {
                                after.add(text);
                            }
                            next++;
                        }
                        default -> { } // "\ No newline at end of file"
                    }
                }
            }
            i--;
            while (next < before.size()) {
                after.add(before.get(next++));
            }
            Files.write(changed, after, StandardCharsets.UTF_8);
        }
    }
}
