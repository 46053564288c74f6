import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/// The course's parts point at each other, both ways: the README's map names each lesson's chapter,
/// test and lab; each lab names its lessons and chapters, and those chapters link back to it. And
/// where the README or a chapter promises a half-close from `nc` at Ctrl-D, it gives `nc -N`.
class CourseLinksTest {
    static final Path README = Path.of("README.adoc");
    static final Pattern LESSON_FILE = Pattern.compile("(\\d\\d)_(\\w+)\\.java");
    /// `nc HOST PORT` with its options: a TCP client, unless `-u` or `-l` is among them.
    static final Pattern NC = Pattern.compile("(?<![\\w/.-])nc((?:\\s+-\\w+)*)\\s+(?:localhost|127\\.0\\.0\\.1|::1|\\[::1\\]|\\$\\w+)\\s+(?:\\d+|\\$\\w+|PORT)");
    static final Pattern CTRL_D = Pattern.compile("(?i)ctrl-d|ctrl\\+d|\\^D\\b");

    record Lab(Path dir, String number) {
        Path readme() {
            return dir.resolve("README.adoc");
        }
    }

    static List<Lab> labs() throws IOException {
        try (Stream<Path> dirs = Files.list(Path.of("labs"))) {
            return dirs.filter(Files::isDirectory).filter(d -> d.getFileName().toString().matches("\\d\\d-[a-z0-9-]+"))
                    .sorted().map(d -> new Lab(d, d.getFileName().toString().substring(0, 2))).toList();
        }
    }

    /// Lesson file (05_PassiveEcho.java) to the labs whose README says to read it first.
    static Map<String, List<Lab>> labsByLesson() throws IOException {
        Map<String, List<Lab>> labs = new TreeMap<>();
        for (Lab lab : labs()) {
            Matcher m = Pattern.compile("lessons/" + LESSON_FILE.pattern()).matcher(Files.readString(lab.readme()));
            while (m.find()) {
                List<Lab> list = labs.computeIfAbsent(m.group(1) + "_" + m.group(2) + ".java", k -> new ArrayList<>());
                if (!list.contains(lab)) list.add(lab);
            }
        }
        return labs;
    }

    @Test
    void everyLabNamesItsLessonsAndChaptersAndTheChaptersLinkBack() throws IOException {
        List<Lab> labs = labs();
        assertThat(labs).as("labs in labs/").isNotEmpty();
        List<String> missingLinks = new ArrayList<>();
        for (Lab lab : labs) {
            String readme = Files.readString(lab.readme());
            Matcher lessons = Pattern.compile("lessons/" + LESSON_FILE.pattern()).matcher(readme);
            assertThat(lessons.find()).as(lab.readme() + " names the lesson to read first (lessons/NN_Name.java)").isTrue();
            do {
                assertThat(Path.of("lessons", lessons.group(1) + "_" + lessons.group(2) + ".java"))
                        .as("the lesson " + lab.readme() + " names").exists();
            } while (lessons.find());
            Matcher chapters = Pattern.compile("link:\\.\\./\\.\\./docs/chapters/([\\w-]+\\.adoc)\\[").matcher(readme);
            assertThat(chapters.find()).as(lab.readme() + " links its chapter (link:../../docs/chapters/NN-x.adoc[...])").isTrue();
            do {
                Path chapter = Path.of("docs", "chapters", chapters.group(1));
                assertThat(chapter).as("the chapter " + lab.readme() + " links").exists();
                if (!Files.readString(chapter).contains("link:../../" + lab.dir() + "/README.adoc["))
                    missingLinks.add(chapter + " does not link back to its lab (link:../../" + lab.dir() + "/README.adoc[...])");
            } while (chapters.find());
        }
        assertThat(missingLinks).isEmpty();
    }

    /// The README's map: a row per lesson, naming its chapter, its test (which exists) and the lab
    /// that follows it (which exists), and chapter 00, where the book starts.
    @Test
    void theCourseMapNamesEachLessonsChapterTestAndLab() throws IOException {
        List<String> readme = Files.readAllLines(README);
        Map<String, List<Lab>> labs = labsByLesson();
        List<String> problems = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("lessons"))) {
            for (Path file : files.sorted().toList()) {
                Matcher m = LESSON_FILE.matcher(file.getFileName().toString());
                if (!m.matches()) continue;
                String lesson = file.getFileName().toString();
                String row = readme.stream().filter(line -> line.startsWith("|") && line.contains("lessons/" + lesson))
                        .findFirst().orElse(null);
                if (row == null) {
                    problems.add("no row on the map names lessons/" + lesson);
                    continue;
                }
                String test = "lessons/test/" + m.group(2) + "Test.java";
                if (!row.contains(test)) problems.add("the row of " + lesson + " does not name its test " + test);
                if (!Files.exists(Path.of(test))) problems.add(test + " does not exist");
                if (!row.contains("docs/chapters/" + m.group(1) + "-")) problems.add("the row of " + lesson + " does not link its chapter");
                for (Lab lab : labs.getOrDefault(lesson, List.of())) {
                    if (!row.contains(lab.dir() + "/")) problems.add("the row of " + lesson + " does not link " + lab.dir());
                }
                for (Matcher link = Pattern.compile("link:([^\\[\\s]+)\\[").matcher(row); link.find(); ) {
                    if (!Files.exists(Path.of(link.group(1)))) problems.add("the row of " + lesson + " links a missing " + link.group(1));
                }
            }
        }
        assertThat(readme).as("chapter 00 (Layers), where the book starts, is on the map")
                .anyMatch(line -> line.startsWith("|") && line.contains("docs/chapters/00-layers.adoc"));
        assertThat(problems).isEmpty();
    }

    /// Plain `nc` (netcat-openbsd) does not shut down its sending side at Ctrl-D; `nc -N` does. So
    /// wherever Ctrl-D is promised to end a side, the `nc` it is typed into must be `nc -N`.
    @Test
    void everyHalfCloseAtCtrlDIsPromisedFromNcN() throws IOException {
        List<Path> texts = new ArrayList<>(List.of(README));
        try (Stream<Path> chapters = Files.list(Path.of("docs", "chapters"))) {
            chapters.filter(p -> p.toString().endsWith(".adoc")).sorted().forEach(texts::add);
        }
        TreeSet<String> plain = new TreeSet<>();
        int promises = 0;
        for (Path text : texts) {
            List<String> lines = Files.readAllLines(text);
            String lastNc = null;
            int lastNcLine = 0;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line.matches("^=+ .*")) lastNc = null;     // a new section
                Matcher nc = NC.matcher(line);
                while (nc.find()) {
                    String options = nc.group(1);
                    boolean piped = line.substring(0, nc.start()).contains("|");
                    if (!piped && !options.matches(".*-\\w*[ul].*")) {
                        lastNc = nc.group().strip();
                        lastNcLine = i + 1;
                    }
                }
                if (CTRL_D.matcher(line).find() && lastNc != null) {
                    promises++;
                    if (!lastNc.matches("nc(\\s+-\\w+)*\\s+-\\w*N\\w*.*"))
                        plain.add(text + ":" + (i + 1) + " promises Ctrl-D to `" + lastNc + "` (line " + lastNcLine + ")");
                }
            }
        }
        assertThat(promises).as("places where Ctrl-D ends an nc's side").isPositive();
        assertThat(plain).as("use `nc -N`: plain nc does not half-close at Ctrl-D").isEmpty();
    }

    @Test
    void theReadmeSaysOnceWhyPlainNcDoesNotHalfClose() throws IOException {
        String readme = Files.readString(README);
        assertThat(readme).contains("nc -N localhost 1234");
        assertThat(Stream.of(readme.split("\n\\s*\n")).filter(paragraph -> paragraph.contains("-N")
                && paragraph.contains("netcat-openbsd") && CTRL_D.matcher(paragraph).find()))
                .as("a sentence saying why: netcat-openbsd, Ctrl-D, -N").isNotEmpty();
    }
}
