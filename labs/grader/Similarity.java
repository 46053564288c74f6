package grading;

import de.jplag.JPlag;
import de.jplag.JPlagComparison;
import de.jplag.JPlagResult;
import de.jplag.java.JavaLanguage;
import de.jplag.options.JPlagOptions;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/// How alike the submissions of one lab are, measured by JPlag (it compares token streams, so
/// renamed variables and moved methods do not hide a copy). The starter is the base code: what
/// every learner was given does not count as similar.
public final class Similarity {

    /// The file the class page links to.
    static final String PAGE = "similarity.html";

    /// Pairs at or above this similarity are marked for a teacher to read side by side.
    static final double MARKED = 0.6;

    private Similarity() {
    }

    /// One pair of learners and how much of their code matches.
    public record Pair(String first, String second, double average, double maximum) {
    }

    /// Compares the learners' `.java` files (each learner's folder in `files`, named in `names`)
    /// with the starter in `labFolder` as base code; writes `similarity.html` into `out` and
    /// returns its name, or null where JPlag could not compare (it says why on `console`).
    static String report(Path labFolder, List<Path> files, List<String> names, Path out, PrintStream console) throws IOException {
        Path work = Files.createTempDirectory("socketlab-similarity-");
        try {
            Path submissions = work.resolve("submissions");
            Path base = work.resolve("starter");
            copyJava(labFolder, base);
            for (int i = 0; i < files.size(); i++) {
                copyJava(files.get(i), submissions.resolve(names.get(i)));
            }
            List<Pair> pairs;
            try {
                pairs = compare(submissions, base);
            } catch (Exception | LinkageError e) {
                console.println("No similarity report: JPlag could not compare the submissions: " + e);
                return null;
            }
            Files.writeString(out.resolve(PAGE), html(labFolder.getFileName().toString(), pairs));
            return PAGE;
        } finally {
            Sandbox.deleteTree(work);
        }
    }

    /// Every pair of submissions in `submissions` (a folder a learner), most similar first.
    public static List<Pair> compare(Path submissions, Path baseCode) throws Exception {
        var options = new JPlagOptions(new JavaLanguage(), Set.of(submissions.toFile()), Set.<File>of())
                .withBaseCodeSubmissionDirectory(baseCode.toFile());
        JPlagResult result = JPlag.run(options);
        return result.getAllComparisons().stream()
                .map(Similarity::pair)
                .sorted(Comparator.comparingDouble(Pair::average).reversed().thenComparing(Pair::first).thenComparing(Pair::second))
                .toList();
    }

    private static Pair pair(JPlagComparison c) {
        String a = c.firstSubmission().getName();
        String b = c.secondSubmission().getName();
        return a.compareTo(b) <= 0 ? new Pair(a, b, c.similarity(), c.maximalSimilarity()) : new Pair(b, a, c.similarity(), c.maximalSimilarity());
    }

    private static void copyJava(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java") && Files.isRegularFile(p)).toList()) {
                Files.copy(f, to.resolve(f.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    static String html(String lab, List<Pair> pairs) {
        var out = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>")
                .append(ResultFiles.text("Lab " + lab + " · similarity")).append("</title>\n<style>\n")
                .append("body { font-family: sans-serif; margin: 2em; } table { border-collapse: collapse; }\n")
                .append("th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; } td.n { text-align: right; }\n")
                .append("tr.marked { background: #fbe3e3; }\n</style>\n</head>\n<body>\n<h1>")
                .append(ResultFiles.text("Lab " + lab + " · similarity between submissions")).append("</h1>\n<p>")
                .append("Measured by JPlag on the submissions' Java files, with the starter as base code (what every ")
                .append("learner was given does not count). Similarity is the share of both files' tokens in matches; ")
                .append("pairs at ").append(Math.round(MARKED * 100)).append("% or more are marked. A high figure is a reason to ")
                .append("read two submissions side by side, not a verdict: small labs leave little room to differ.</p>\n")
                .append("<p><a href=\"index.html\">Back to the class</a></p>\n<table>\n<thead><tr><th>learner</th><th>learner</th>")
                .append("<th>similarity</th><th>of the more similar one</th></tr></thead>\n<tbody>\n");
        for (Pair p : pairs) {
            out.append("<tr").append(p.average() >= MARKED ? " class=\"marked\"" : "").append("><td>").append(ResultFiles.text(p.first()))
                    .append("</td><td>").append(ResultFiles.text(p.second())).append("</td><td class=\"n\">").append(percent(p.average()))
                    .append("</td><td class=\"n\">").append(percent(p.maximum())).append("</td></tr>\n");
        }
        return out.append("</tbody>\n</table>\n</body>\n</html>\n").toString();
    }

    private static String percent(double share) {
        return String.format(Locale.ROOT, "%.0f%%", share * 100);
    }
}
