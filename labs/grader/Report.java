package grading;

import java.util.List;

/// A lab's result: the table a learner reads and the JSON a classroom autograder reads.
public record Report(String lab, String title, List<Outcome> outcomes) {

    public int points() {
        return outcomes.stream().mapToInt(Outcome::points).sum();
    }

    public int maxPoints() {
        return outcomes.stream().mapToInt(o -> o.check().points()).sum();
    }

    public boolean fullMarks() {
        return points() == maxPoints();
    }

    /// The table: one row a check, and under a failed check why it failed and a hint.
    public String table() {
        int width = Math.max(5, outcomes.stream().mapToInt(o -> o.check().name().length()).max().orElse(0));
        var out = new StringBuilder();
        out.append(label(lab)).append(" · ").append(title).append('\n');
        out.append(String.format("  %-" + width + "s  %7s  %s%n", "check", "points", "result"));
        for (Outcome o : outcomes) {
            String score = o.points() + "/" + o.check().points();
            out.append(String.format("  %-" + width + "s  %7s  %s%n", o.check().name(), score, o.passed() ? "PASS" : "FAIL"));
            if (!o.passed()) {
                out.append("      why:  ").append(o.message()).append('\n');
                out.append("      hint: ").append(o.check().hint()).append('\n');
            }
        }
        String total = points() + "/" + maxPoints();
        out.append(String.format("  %-" + width + "s  %7s  %s", "total", total, fullMarks() ? "full marks" : "").stripTrailing()).append('\n');
        return out.toString();
    }

    /// How a heading names what was graded: "Lab 01-line-echo", or "Exercises ex05" for a
    /// chapter's exercise set.
    static String label(String name) {
        return name.matches("ex\\d\\d(-.*)?") ? "Exercises " + name.substring(0, 4) : "Lab " + name;
    }

    /// The result as JSON: the lab, the total, and each check's name, points, max points,
    /// status ("pass" or "fail"), message and hint.
    public String json() {
        var out = new StringBuilder();
        out.append("{\n");
        out.append("  \"lab\": ").append(quote(lab)).append(",\n");
        out.append("  \"title\": ").append(quote(title)).append(",\n");
        out.append("  \"points\": ").append(points()).append(",\n");
        out.append("  \"max_points\": ").append(maxPoints()).append(",\n");
        out.append("  \"checks\": [\n");
        for (int i = 0; i < outcomes.size(); i++) {
            Outcome o = outcomes.get(i);
            out.append("    {\"name\": ").append(quote(o.check().name()))
                    .append(", \"points\": ").append(o.points())
                    .append(", \"max_points\": ").append(o.check().points())
                    .append(", \"status\": ").append(quote(o.passed() ? "pass" : "fail"))
                    .append(", \"core\": ").append(o.check().core())
                    .append(", \"millis\": ").append(o.millis())
                    .append(", \"message\": ").append(quote(o.message()))
                    .append(", \"hint\": ").append(quote(o.passed() ? "" : o.check().hint()))
                    .append('}').append(i + 1 < outcomes.size() ? "," : "").append('\n');
        }
        out.append("  ]\n}\n");
        return out.toString();
    }

    static String quote(String s) {
        var out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
