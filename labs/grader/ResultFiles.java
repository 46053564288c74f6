package grading;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/// What a class's grading leaves: for each learner Gradescope's `results.json` and a JUnit XML
/// report beside the course's JSON, and for the class a CSV and an HTML page.
public final class ResultFiles {

    /// The title the grader gives a result whose code did not compile.
    static final String NO_COMPILE = "does not compile";

    private ResultFiles() {
    }

    /// One check of one learner, as their JSON has it.
    public record CheckResult(String name, int points, int maxPoints, boolean passed, String message, String hint, long millis) {
    }

    /// One learner's result: their name (the submission's folder), the lab, the checks, and how
    /// the grading ended.
    public record Learner(String name, String lab, String title, List<CheckResult> checks, String error, double seconds,
            int exitStatus, String note) {

        /// The same result with a remark for the teacher ("its output was cut at 20 MB").
        public Learner noted(String remark) {
            return new Learner(name, lab, title, checks, error, seconds, exitStatus, note.isEmpty() ? remark : note + "; " + remark);
        }

        public int points() {
            return checks.stream().mapToInt(CheckResult::points).sum();
        }

        /// "full marks", "points missing", or why no check could score.
        public String outcome() {
            String outcome;
            if (!error.isEmpty()) {
                outcome = (title.equals(NO_COMPILE) ? NO_COMPILE : "stopped") + ": " + firstLine(error);
            } else {
                outcome = checks.stream().allMatch(CheckResult::passed) ? "full marks" : "points missing";
            }
            return note.isEmpty() ? outcome : outcome + "; " + note;
        }

        /// Reads a learner's course JSON (`NN-name.json`).
        @SuppressWarnings("unchecked")
        public static Learner read(String name, Path json, double seconds, int exitStatus) throws IOException {
            Map<String, Object> result = Json.object(Files.readString(json, StandardCharsets.UTF_8));
            var checks = new ArrayList<CheckResult>();
            for (Object o : (List<Object>) result.get("checks")) {
                var c = (Map<String, Object>) o;
                checks.add(new CheckResult((String) c.get("name"), number(c.get("points")), number(c.get("max_points")),
                        "pass".equals(c.get("status")), (String) c.get("message"), (String) c.get("hint"), number(c.get("millis"))));
            }
            return new Learner(name, (String) result.get("lab"), (String) result.get("title"), checks,
                    (String) result.getOrDefault("error", ""), seconds, exitStatus, "");
        }

        private static int number(Object o) {
            return ((Number) o).intValue();
        }
    }

    static String firstLine(String s) {
        String line = s.strip().lines().findFirst().orElse("");
        return line.length() > 200 ? line.substring(0, 200) + "…" : line;
    }

    /// The check names of a class, in the lab's order (a learner whose code did not compile has none).
    static List<String> checkNames(List<Learner> learners) {
        var names = new LinkedHashSet<String>();
        learners.forEach(l -> l.checks().forEach(c -> names.add(c.name())));
        return List.copyOf(names);
    }

    /// The lab's points in all: 100 for every lab, read from any learner whose checks ran.
    static int maxPoints(List<Learner> learners) {
        return learners.stream().filter(l -> !l.checks().isEmpty()).findFirst()
                .map(l -> l.checks().stream().mapToInt(CheckResult::maxPoints).sum()).orElse(100);
    }

    /// Writes a learner's `results.json` (Gradescope's) and `junit.xml` into their folder.
    public static void writeLearner(Path dir, Learner learner) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("results.json"), gradescope(learner));
        Files.writeString(dir.resolve("junit.xml"), junit(learner));
    }

    /// Writes the class's `results.csv` and `index.html` into `out`.
    public static void writeClass(Path out, String lab, List<Learner> learners, String similarity) throws IOException {
        Files.createDirectories(out);
        // A result whose checks did not run has "does not compile" or "stopped" for its title.
        String title = learners.stream().filter(l -> l.error().isEmpty()).map(Learner::title).findFirst().orElse("");
        Files.writeString(out.resolve("results.csv"), csv(learners));
        Files.writeString(out.resolve("index.html"), html(lab, title, learners, similarity));
    }

    // ---- Gradescope's results.json: score, execution_time, output, tests[] ----

    public static String gradescope(Learner learner) {
        var out = new StringBuilder("{\n");
        out.append("  \"score\": ").append(learner.points()).append(",\n");
        out.append("  \"execution_time\": ").append(Math.round(learner.seconds())).append(",\n");
        out.append("  \"output\": ").append(Report.quote("Lab " + learner.lab() + ": "
                + learner.points() + "/" + maxPoints(List.of(learner)) + ", " + learner.outcome())).append(",\n");
        out.append("  \"visibility\": \"visible\",\n");
        out.append("  \"stdout_visibility\": \"hidden\",\n");
        out.append("  \"tests\": [");
        List<String> tests = new ArrayList<>();
        if (!learner.error().isEmpty()) {
            tests.add(test("grading", 0, 0, learner.error()));
        }
        for (CheckResult c : learner.checks()) {
            tests.add(test(c.name(), c.points(), c.maxPoints(), c.passed() ? "" : c.message() + "\nhint: " + c.hint()));
        }
        out.append(tests.isEmpty() ? "" : "\n    " + String.join(",\n    ", tests) + "\n  ");
        return out.append("]\n}\n").toString();
    }

    private static String test(String name, int score, int max, String output) {
        return "{\"name\": " + Report.quote(name) + ", \"score\": " + score + ", \"max_score\": " + max
                + ", \"output\": " + Report.quote(output) + ", \"visibility\": \"visible\"}";
    }

    // ---- JUnit XML: one test suite a learner, one test case a check ----

    public static String junit(Learner learner) {
        int failures = (int) learner.checks().stream().filter(c -> !c.passed()).count();
        boolean error = !learner.error().isEmpty();
        double seconds = learner.checks().stream().mapToLong(CheckResult::millis).sum() / 1000.0;
        var out = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.append("<testsuites name=").append(attr("lab " + learner.lab())).append(" tests=\"")
                .append(learner.checks().size() + (error ? 1 : 0)).append("\" failures=\"").append(failures)
                .append("\" errors=\"").append(error ? 1 : 0).append("\">\n");
        out.append("  <testsuite name=").append(attr(learner.lab() + " · " + learner.name()))
                .append(" tests=\"").append(learner.checks().size() + (error ? 1 : 0)).append("\" failures=\"").append(failures)
                .append("\" errors=\"").append(error ? 1 : 0).append("\" skipped=\"0\" time=\"").append(seconds(seconds)).append("\">\n");
        out.append("    <properties>\n      <property name=\"points\" value=\"").append(learner.points())
                .append("\"/>\n      <property name=\"max_points\" value=\"").append(maxPoints(List.of(learner))).append("\"/>\n    </properties>\n");
        if (error) {
            out.append("    <testcase classname=").append(attr(learner.lab())).append(" name=\"grading\" time=\"0\">\n")
                    .append("      <error message=").append(attr(firstLine(learner.error()))).append(" type=\"grading\">")
                    .append(text(learner.error())).append("</error>\n    </testcase>\n");
        }
        for (CheckResult c : learner.checks()) {
            out.append("    <testcase classname=").append(attr(learner.lab())).append(" name=")
                    .append(attr(c.name() + " (" + c.maxPoints() + " points)")).append(" time=\"").append(seconds(c.millis() / 1000.0)).append('"');
            if (c.passed()) {
                out.append("/>\n");
            } else {
                out.append(">\n      <failure message=").append(attr(firstLine(c.message()))).append(" type=\"check\">")
                        .append(text(c.message() + "\nhint: " + c.hint())).append("</failure>\n    </testcase>\n");
            }
        }
        return out.append("  </testsuite>\n</testsuites>\n").toString();
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.3f", s);
    }

    /// Text for XML and HTML: markup characters escaped, and characters XML 1.0 forbids dropped.
    static String text(String s) {
        var out = new StringBuilder();
        s.codePoints().forEach(c -> {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                default -> {
                    if (c >= 0x20 || c == '\n' || c == '\t' || c == '\r') {
                        if (c != 0xFFFE && c != 0xFFFF) {
                            out.appendCodePoint(c);
                        }
                    }
                }
            }
        });
        return out.toString();
    }

    private static String attr(String s) {
        return "\"" + text(s).replace("\n", "&#10;") + "\"";
    }

    // ---- The class's CSV: learner, each check's points, total, seconds, outcome ----

    public static String csv(List<Learner> learners) {
        List<String> names = checkNames(learners);
        var out = new StringBuilder();
        var header = new ArrayList<String>();
        header.add("learner");
        header.addAll(names);
        header.addAll(List.of("total", "max", "seconds", "outcome"));
        out.append(csvRow(header));
        for (Learner l : learners) {
            var row = new ArrayList<String>();
            row.add(l.name());
            for (String name : names) {
                row.add(l.checks().stream().filter(c -> c.name().equals(name)).findFirst().map(c -> String.valueOf(c.points())).orElse("0"));
            }
            row.addAll(List.of(String.valueOf(l.points()), String.valueOf(maxPoints(learners)),
                    String.format(Locale.ROOT, "%.1f", l.seconds()), l.outcome()));
            out.append(csvRow(row));
        }
        return out.toString();
    }

    private static String csvRow(List<String> cells) {
        return String.join(",", cells.stream().map(ResultFiles::csvCell).toList()) + "\r\n";
    }

    private static String csvCell(String s) {
        return s.matches("[^\",\r\n]*") ? s : "\"" + s.replace("\"", "\"\"") + "\"";
    }

    // ---- The class's HTML page ----

    /// The class table (click a heading to sort), a histogram of totals, and each learner's
    /// failures with their hints. `similarity` is the file name of the similarity report, or null.
    public static String html(String lab, String title, List<Learner> learners, String similarity) {
        List<String> names = checkNames(learners);
        int max = maxPoints(learners);
        var out = new StringBuilder();
        out.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>")
                .append(text("Lab " + lab + " · " + title + " · class results")).append("</title>\n<style>\n")
                .append(STYLE).append("</style>\n</head>\n<body>\n");
        out.append("<h1>").append(text("Lab " + lab + " · " + title)).append("</h1>\n");
        double mean = learners.stream().mapToInt(Learner::points).average().orElse(0);
        out.append("<p class=\"summary\">").append(learners.size()).append(" submissions; ")
                .append(learners.stream().filter(l -> l.points() == max).count()).append(" with full marks; mean ")
                .append(String.format(Locale.ROOT, "%.1f", mean)).append(" of ").append(max).append(".");
        if (similarity != null) {
            out.append(" <a href=\"").append(text(similarity)).append("\">Similarity between submissions</a>.");
        }
        out.append("</p>\n");
        out.append(histogram(learners, max));
        out.append("<table id=\"class\">\n<thead><tr><th data-type=\"text\">learner</th>");
        for (int i = 0; i < names.size(); i++) {
            out.append("<th data-type=\"number\" title=").append(attr(names.get(i))).append(">").append(i + 1).append("</th>");
        }
        out.append("<th data-type=\"number\">total</th><th data-type=\"number\">seconds</th><th data-type=\"text\">outcome</th></tr></thead>\n<tbody>\n");
        for (Learner l : learners) {
            out.append("<tr><td><a href=\"#").append(anchor(l.name())).append("\">").append(text(l.name())).append("</a></td>");
            for (String name : names) {
                var check = l.checks().stream().filter(c -> c.name().equals(name)).findFirst();
                boolean passed = check.map(CheckResult::passed).orElse(false);
                out.append("<td class=\"").append(passed ? "pass" : "fail").append("\">").append(check.map(CheckResult::points).orElse(0)).append("</td>");
            }
            out.append("<td class=\"total\">").append(l.points()).append("</td><td>")
                    .append(String.format(Locale.ROOT, "%.1f", l.seconds())).append("</td><td>").append(text(l.outcome())).append("</td></tr>\n");
        }
        out.append("</tbody>\n</table>\n<h2>The checks</h2>\n<ol class=\"checks\">\n");
        for (String name : names) {
            out.append("<li>").append(text(name)).append("</li>\n");
        }
        out.append("</ol>\n<h2>Each learner's failures</h2>\n");
        for (Learner l : learners) {
            out.append("<section id=\"").append(anchor(l.name())).append("\">\n<h3>").append(text(l.name())).append(": ")
                    .append(l.points()).append("/").append(max).append("</h3>\n");
            if (!l.error().isEmpty()) {
                out.append("<p class=\"error\">").append(text(l.error())).append("</p>\n");
            }
            var failed = l.checks().stream().filter(c -> !c.passed()).toList();
            if (failed.isEmpty() && l.error().isEmpty()) {
                out.append("<p>Every check passed.</p>\n");
            }
            if (!failed.isEmpty()) {
                out.append("<dl>\n");
                for (CheckResult c : failed) {
                    out.append("<dt>").append(text(c.name())).append(" (0/").append(c.maxPoints()).append(")</dt>\n<dd>why: ")
                            .append(text(c.message())).append("<br/>hint: ").append(text(c.hint())).append("</dd>\n");
                }
                out.append("</dl>\n");
            }
            out.append("<p class=\"files\"><a href=\"").append(text(l.name())).append("/").append(text(l.lab()))
                    .append(".log\">what the code printed</a> · <a href=\"").append(text(l.name()))
                    .append("/junit.xml\">JUnit XML</a> · <a href=\"").append(text(l.name())).append("/results.json\">results.json</a></p>\n</section>\n");
        }
        return out.append("<script>\n").append(SORT).append("</script>\n</body>\n</html>\n").toString();
    }

    private static String anchor(String name) {
        return "learner-" + name.replaceAll("[^A-Za-z0-9_-]", "_");
    }

    /// Totals in bins of a tenth of the points (the last bin holds full marks), drawn as bars.
    private static String histogram(List<Learner> learners, int max) {
        int bins = 10;
        int[] counts = new int[bins + 1];
        for (Learner l : learners) {
            counts[Math.min(bins, l.points() * bins / Math.max(1, max))]++;
        }
        int most = java.util.Arrays.stream(counts).max().orElse(1);
        var out = new StringBuilder("<figure class=\"histogram\">\n<figcaption>Totals</figcaption>\n<div class=\"bars\">\n");
        for (int i = 0; i <= bins; i++) {
            String label = i == bins ? String.valueOf(max) : (i * max / bins) + "–" + ((i + 1) * max / bins - 1);
            int height = counts[i] == 0 ? 0 : Math.max(4, counts[i] * 120 / Math.max(1, most));
            out.append("<div class=\"bin\"><span class=\"count\">").append(counts[i] == 0 ? "" : counts[i])
                    .append("</span><span class=\"bar\" style=\"height: ").append(height).append("px\"></span><span class=\"label\">")
                    .append(label).append("</span></div>\n");
        }
        return out.append("</div>\n</figure>\n").toString();
    }

    private static final String STYLE = """
            body { font-family: sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
            td:first-child, td:last-child, th:first-child, th:last-child { text-align: left; }
            th { background: #eee; cursor: pointer; }
            td.pass { background: #e6f4e6; }
            td.fail { background: #fbe3e3; }
            td.total { font-weight: bold; }
            .histogram .bars { display: flex; align-items: flex-end; gap: 6px; height: 170px; }
            .histogram .bin { display: flex; flex-direction: column; align-items: center; justify-content: flex-end; width: 54px; height: 100%; }
            .histogram .bar { display: block; width: 40px; background: #4a7ab7; }
            .histogram .label, .histogram .count { font-size: 0.8em; }
            .error { color: #a00; white-space: pre-wrap; }
            dd { margin-bottom: 0.5em; }
            """;

    private static final String SORT = """
            document.querySelectorAll('#class th').forEach(function (th, column) {
              th.addEventListener('click', function () {
                var body = th.closest('table').tBodies[0];
                var rows = Array.from(body.rows);
                var number = th.dataset.type === 'number';
                var down = th.dataset.sorted !== 'down';
                rows.sort(function (a, b) {
                  var x = a.cells[column].textContent, y = b.cells[column].textContent;
                  var order = number ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
                  return down ? -order : order;
                });
                th.dataset.sorted = down ? 'down' : 'up';
                rows.forEach(function (row) { body.appendChild(row); });
              });
            });
            """;
}
