package grading;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// The whole course at a glance: every exercise set and lab in course order, from the last
/// result the grader wrote for each (`target/labs/NAME.json`), and the next thing to do.
public final class Progress {

    /// One item's last result, if it was ever graded.
    public record Row(Course.Item item, String title, Optional<Score> score) {

        boolean done() {
            return score.isPresent() && score.get().points() == score.get().maxPoints() && score.get().maxPoints() > 0;
        }

        String result() {
            if (score.isEmpty()) {
                return "not tried";
            }
            Score s = score.get();
            String points = s.points() + "/" + s.maxPoints();
            if (s.error() != null) {
                return points + "  (" + s.error() + ")";
            }
            return done() ? "done  " + points : points;
        }
    }

    /// What a result file says: points, the most there are, and why nothing was graded (or null).
    public record Score(int points, int maxPoints, String error) {
    }

    private Progress() {
    }

    public static List<Row> rows(Grader grader) throws IOException {
        var rows = new ArrayList<Row>();
        for (Course.Item item : Course.items(grader)) {
            Path json = grader.outDir().resolve(item.name() + ".json");
            Optional<Score> score = Optional.empty();
            String title = item.readmeTitle();
            if (Files.exists(json)) {
                String text = Files.readString(json);
                score = Optional.of(new Score(number(text, "points"), number(text, "max_points"),
                        field(text, "error").isPresent() ? field(text, "title").orElse("error") : null));
                title = field(text, "title").filter(t -> !t.equals("does not compile") && !t.equals("stopped")).orElse(title);
            }
            rows.add(new Row(item, title, score));
        }
        return rows;
    }

    /// The table, and under it the next thing to do: the first item, in course order, not at full marks.
    public static String table(Grader grader) throws IOException {
        List<Row> rows = rows(grader);
        int width = Math.max(5, rows.stream().mapToInt(r -> r.title().length()).max().orElse(0));
        var out = new StringBuilder("Progress, from your last gradings (" + grader.outDir() + ")\n");
        out.append(String.format("  %-4s  %-9s  %-" + width + "s  %s%n", "id", "what", "title", "result"));
        for (Row r : rows) {
            out.append(String.format("  %-4s  %-9s  %-" + width + "s  %s%n", r.item().id(),
                    r.item().exercises() ? "exercises" : "lab", r.title(), r.result()));
        }
        long done = rows.stream().filter(Row::done).count();
        out.append(String.format("  %d of %d done%n", done, rows.size()));
        rows.stream().filter(r -> !r.done()).findFirst().ifPresentOrElse(
                next -> out.append("Next: ").append(next.item().label()).append(" · ").append(next.title())
                        .append(": ./jbang labs/Grade.java ").append(next.item().id()).append('\n'),
                () -> out.append("Next: nothing; every lab and exercise set has full marks\n"));
        return out.toString();
    }

    private static int number(String json, String key) {
        Matcher m = Pattern.compile("^  \"" + key + "\": (\\d+),", Pattern.MULTILINE).matcher(json);
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    private static Optional<String> field(String json, String key) {
        Matcher m = Pattern.compile("^  \"" + key + "\": \"((?:[^\"\\\\]|\\\\.)*)\"", Pattern.MULTILINE).matcher(json);
        return m.find() ? Optional.of(m.group(1).replace("\\\"", "\"").replace("\\\\", "\\")) : Optional.empty();
    }
}
