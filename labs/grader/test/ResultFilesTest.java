package grading;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/// The files a class's grading leaves, checked by parsers that are not the grader's: Python's
/// `csv` and `json` modules for the CSV and Gradescope's results.json, the JDK's XML parser for
/// the JUnit XML and the class page (written well-formed, so that any XML parser reads it).
/// Made from results built here, with the characters that break careless writers: quotes,
/// commas, newlines, markup, a control character, non-ASCII. No grading runs: this takes a second.
class ResultFilesTest {

    static final String NASTY = "sent \"a,b\"\nthen <x> & \u0001 héllo ✓";

    static List<ResultFiles.Learner> aClass() {
        var full = List.of(
                new ResultFiles.CheckResult("echoes a line", 60, 60, true, "", "", 12),
                new ResultFiles.CheckResult("refuses \"long\" lines, then closes", 40, 40, true, "", "", 3022));
        var some = List.of(
                new ResultFiles.CheckResult("echoes a line", 60, 60, true, "", "", 15),
                new ResultFiles.CheckResult("refuses \"long\" lines, then closes", 0, 40, false, NASTY, "count <bytes> & stop", 3001));
        return List.of(
                new ResultFiles.Learner("ana", "01-line-echo", "Line echo server", full, "", 9.5, 0, ""),
                new ResultFiles.Learner("ben, jr", "01-line-echo", "Line echo server", some, "", 12.25, 1, ""),
                new ResultFiles.Learner("cai", "01-line-echo", ResultFiles.NO_COMPILE, List.of(), "LineEchoServer.java:3: error: ';' expected <here>", 1.0, 3, ""));
    }

    @Test
    void everyFileValidates(@TempDir Path out) throws Exception {
        var learners = aClass();
        for (var learner : learners) {
            ResultFiles.writeLearner(out.resolve(learner.name()), learner);
        }
        ResultFiles.writeClass(out, "01-line-echo", learners, null);
        validate(out, learners);
    }

    @Test
    void theOutcomeSaysWhyNoCheckScored() {
        var learners = aClass();
        assertThat(learners.get(0).outcome()).isEqualTo("full marks");
        assertThat(learners.get(1).outcome()).isEqualTo("points missing");
        assertThat(learners.get(2).outcome()).startsWith("does not compile: LineEchoServer.java:3");
        assertThat(learners.get(1).noted("its log is cut").outcome()).isEqualTo("points missing; its log is cut");
    }

    @Test
    void theCourseJsonIsReadBack(@TempDir Path dir) throws IOException {
        var check = Check.of("a \"quoted\" check", 10, "a hint", () -> { });
        var report = new Report("01-line-echo", "Line echo server", List.of(Outcome.fail(check, NASTY, 7)));
        Path json = Files.writeString(dir.resolve("01-line-echo.json"), report.json());
        var learner = ResultFiles.Learner.read("ana", json, 1.5, 1);
        assertThat(learner.checks()).singleElement().satisfies(c -> {
            assertThat(c.name()).isEqualTo("a \"quoted\" check");
            assertThat(c.message()).isEqualTo(NASTY);
            assertThat(c.passed()).isFalse();
            assertThat(c.maxPoints()).isEqualTo(10);
        });
    }

    /// Validates a class's result folder: every learner's results.json and junit.xml, the CSV, the page.
    static void validate(Path out, List<ResultFiles.Learner> learners) throws Exception {
        for (var learner : learners) {
            Path dir = out.resolve(learner.name());
            String report = python(VALIDATE_GRADESCOPE, dir.resolve("results.json").toString());
            assertThat(report).as(learner.name() + "'s results.json").isEqualTo("score " + learner.points());
            Document junit = xml(dir.resolve("junit.xml"));
            Element suite = (Element) junit.getElementsByTagName("testsuite").item(0);
            int cases = junit.getElementsByTagName("testcase").getLength();
            assertThat(junit.getDocumentElement().getTagName()).isEqualTo("testsuites");
            assertThat(Integer.parseInt(suite.getAttribute("tests"))).isEqualTo(cases);
            assertThat(Integer.parseInt(suite.getAttribute("failures"))).isEqualTo(junit.getElementsByTagName("failure").getLength())
                    .isEqualTo((int) learner.checks().stream().filter(c -> !c.passed()).count());
            assertThat(Integer.parseInt(suite.getAttribute("errors"))).isEqualTo(junit.getElementsByTagName("error").getLength());
        }
        String csv = python(VALIDATE_CSV, out.resolve("results.csv").toString());
        var totals = learners.stream().map(l -> l.name() + "=" + l.points()).toList();
        assertThat(csv).isEqualTo(String.join(" ", totals));
        Document page = xml(out.resolve("index.html"));
        assertThat(page.getElementsByTagName("tbody").item(0).getChildNodes().getLength())
                .as("rows of the class table (and the text between them)").isGreaterThanOrEqualTo(learners.size());
        assertThat(page.getElementsByTagName("section").getLength()).isEqualTo(learners.size());
    }

    static Document xml(Path file) throws Exception {
        var factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return factory.newDocumentBuilder().parse(file.toFile());
    }

    /// Gradescope's results.json: a number `score` and `execution_time`, a list `tests` of objects
    /// with `name`, numbers `score` and `max_score`, a string `output`, a known `visibility`; the
    /// tests' scores add up to the score. Prints "score N".
    static final String VALIDATE_GRADESCOPE = """
            import json, sys
            r = json.load(open(sys.argv[1], encoding="utf-8"))
            assert isinstance(r["score"], (int, float)), "score"
            assert isinstance(r["execution_time"], (int, float)), "execution_time"
            assert isinstance(r.get("output", ""), str), "output"
            visibility = {"hidden", "after_due_date", "after_published", "visible"}
            assert r.get("visibility", "visible") in visibility
            total = 0
            for t in r["tests"]:
                assert isinstance(t["name"], str) and t["name"], t
                assert isinstance(t["score"], (int, float)) and isinstance(t["max_score"], (int, float)), t
                assert 0 <= t["score"] <= t["max_score"] or t["max_score"] == 0, t
                assert isinstance(t["output"], str), t
                assert t["visibility"] in visibility, t
                total += t["score"]
            assert total == r["score"], (total, r["score"])
            print("score", r["score"], end="")
            """;

    /// The CSV: a header starting with learner and ending with total, max, seconds, outcome; every
    /// row as long; each total the sum of the row's check points. Prints "learner=total ...".
    static final String VALIDATE_CSV = """
            import csv, sys
            rows = list(csv.reader(open(sys.argv[1], encoding="utf-8", newline="")))
            header = rows[0]
            assert header[0] == "learner" and header[-4:] == ["total", "max", "seconds", "outcome"], header
            out = []
            for row in rows[1:]:
                assert len(row) == len(header), row
                assert sum(int(x) for x in row[1:-4]) == int(row[-4]), row
                float(row[-2])
                out.append(row[0] + "=" + row[-4])
            print(" ".join(out), end="")
            """;

    static String python(String script, String... args) throws IOException, InterruptedException {
        var command = new java.util.ArrayList<>(List.of("python3", "-c", script));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("python3 says: " + out).isZero();
        return out;
    }
}
