package grading;

import java.io.IOException;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/// Everything the grader grades, in the order of the course: each chapter's exercise set, and
/// each lab right after the last lesson it follows (the "After lesson" column of labs/README.adoc).
public final class Course {

    /// One lab or exercise set: `01` and `labs/01-line-echo`, or `ex05` and `exercises/ex05-passive-echo`.
    public record Item(String id, Path folder, boolean exercises, int afterChapter) {

        public String name() {
            return folder.getFileName().toString();
        }

        /// "Lab 01" or "Exercises ex05": how a table's heading names it.
        public String label() {
            return Report.label(name());
        }

        /// The title the folder's README gives itself: `= Lab 01 · Line echo server` → "Line echo server".
        public String readmeTitle() throws IOException {
            Path readme = folder.resolve("README.adoc");
            if (!Files.exists(readme)) {
                return name();
            }
            for (String line : Files.readAllLines(readme, StandardCharsets.UTF_8)) {
                if (line.startsWith("= ")) {
                    String title = line.substring(2).strip();
                    return title.contains(" · ") ? title.substring(title.lastIndexOf(" · ") + 3) : title;
                }
            }
            return name();
        }
    }

    private Course() {
    }

    /// A row of labs/README.adoc's table: `| 01 | link:...[Line echo server] | 05 Passive echo, 06 ... | ...`.
    private static final Pattern LAB_ROW = Pattern.compile("^\\| (\\d\\d) \\| [^|]+ \\| ([^|]+) \\|.*$");
    private static final Pattern LESSON = Pattern.compile("(?:^|,\\s*)(\\d\\d)\\b");

    /// Every exercise set and lab, in course order: chapter by chapter, a lab after its last lesson,
    /// labs the README's table does not place at the end.
    public static List<Item> items(Grader grader) throws IOException {
        Map<String, Integer> after = labsAfter(grader.labsDir().resolve("README.adoc"));
        var items = new ArrayList<Item>();
        for (Path set : grader.exerciseSets()) {
            String id = set.getFileName().toString().substring(0, 4);
            items.add(new Item(id, set, true, Integer.parseInt(id.substring(2))));
        }
        for (Path lab : grader.labs("all")) {
            String id = lab.getFileName().toString().substring(0, 2);
            items.add(new Item(id, lab, false, after.getOrDefault(id, Integer.MAX_VALUE)));
        }
        items.sort(Comparator.comparingInt(Item::afterChapter)
                .thenComparing(Item::exercises, Comparator.reverseOrder())
                .thenComparing(Item::id));
        return items;
    }

    /// The last lesson each lab follows, by the lab's number.
    static Map<String, Integer> labsAfter(Path readme) throws IOException {
        var after = new HashMap<String, Integer>();
        if (!Files.exists(readme)) {
            return after;
        }
        for (String line : Files.readAllLines(readme, StandardCharsets.UTF_8)) {
            Matcher row = LAB_ROW.matcher(line);
            if (row.matches()) {
                Matcher lesson = LESSON.matcher(row.group(2).strip());
                int last = -1;
                while (lesson.find()) {
                    last = Math.max(last, Integer.parseInt(lesson.group(1)));
                }
                if (last >= 0) {
                    after.put(row.group(1), last);
                }
            }
        }
        return after;
    }

    /// What `--list` shows of one item: its title and checks, read from its compiled checks.
    public record Listing(Item item, String title, int checks, int points, String problem) {
    }

    private static final Pattern CHECK_CALL = Pattern.compile("Check\\.(?:core|of)\\(");
    private static final Pattern LITERAL_CHECK = Pattern.compile("Check\\.(?:core|of)\\([^\\n]*?,\\s*(\\d+)\\s*,");
    private static final Pattern LITERAL_TITLE = Pattern.compile("String title\\(\\)\\s*\\{\\s*return\\s*\"((?:[^\"\\\\]|\\\\.)*)\"\\s*;");

    /// An item's title and checks, read from its checks' source where each check is written out
    /// (`Check.core("name", 10, ...)`), else from its compiled checks.
    public static Listing listing(Grader grader, Item item) throws IOException {
        var source = new StringBuilder();
        for (Path p : Files.list(item.folder().resolve("checks")).filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
            source.append(Files.readString(p, StandardCharsets.UTF_8)).append('\n');
        }
        Matcher title = LITERAL_TITLE.matcher(source);
        long calls = CHECK_CALL.matcher(source).results().count();
        List<Integer> points = LITERAL_CHECK.matcher(source).results().map(m -> Integer.parseInt(m.group(1))).toList();
        if (title.find() && calls > 0 && calls == points.size()) {
            return new Listing(item, title.group(1).replace("\\\"", "\""), points.size(),
                    points.stream().mapToInt(Integer::intValue).sum(), null);
        }
        return compiledListing(grader, item);
    }

    /// Compiles an item's code with its checks (once; again only after a file changed) and reads
    /// its title and checks without running any.
    static Listing compiledListing(Grader grader, Item item) throws IOException {
        Path classes = grader.outDir().resolve("classes").resolve("list").resolve(item.name());
        String problem = grader.compileOnce(item.folder(), classes);
        if (problem != null) {
            return new Listing(item, item.readmeTitle(), 0, 0, problem);
        }
        try (var loader = new URLClassLoader(new java.net.URL[] {classes.toUri().toURL()}, Course.class.getClassLoader())) {
            var type = loader.loadClass(grader.checksClass(item.folder()));
            var constructor = type.getDeclaredConstructor();
            constructor.setAccessible(true);
            Lab lab = (Lab) constructor.newInstance();
            List<Check> checks = lab.checks();
            return new Listing(item, lab.title(), checks.size(), checks.stream().mapToInt(Check::points).sum(), null);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return new Listing(item, item.readmeTitle(), 0, 0, "its checks cannot be loaded: " + e);
        }
    }

    /// The `--list` table: every lab, then every exercise set, with its title, checks and points.
    public static String listTable(Grader grader) throws IOException {
        var listings = new ArrayList<Listing>();
        var items = new ArrayList<>(items(grader));
        items.sort(Comparator.comparing(Item::exercises).thenComparing(Item::id));
        for (Item item : items) {
            listings.add(listing(grader, item));
        }
        int width = Math.max(5, listings.stream().mapToInt(l -> l.title().length()).max().orElse(0));
        var out = new StringBuilder();
        out.append(String.format("  %-4s  %-9s  %-" + width + "s  %6s  %6s%n", "id", "what", "title", "checks", "points"));
        int labs = 0;
        int sets = 0;
        for (Listing l : listings) {
            String what = l.item().exercises() ? "exercises" : "lab";
            out.append(String.format("  %-4s  %-9s  %-" + width + "s  %6d  %6d%n", l.item().id(), what, l.title(), l.checks(), l.points()));
            if (l.problem() != null) {
                out.append("        (").append(l.problem().lines().findFirst().orElse("")).append(")\n");
            }
            if (l.item().exercises()) {
                sets++;
            } else {
                labs++;
            }
        }
        out.append(String.format("  %d labs, %d exercise sets. Grade one: ./jbang labs/Grade.java 01 or ex05%n", labs, sets));
        return out.toString();
    }
}
