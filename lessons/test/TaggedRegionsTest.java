import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/// The book has no dead tags: every `tag::name[]` region in the lessons, their tools and the
/// programs in other languages is shown by some chapter. (That every include finds its file and
/// tag, the book's build checks: it fails on a broken one.)
class TaggedRegionsTest {
    static final Pattern TAG = Pattern.compile("\\btag::([\\w-]+)\\[\\]");
    static final Pattern INCLUDE = Pattern.compile("(?m)^include::([^\\[]+)\\[([^\\]]*)\\]");
    static final Pattern ATTRIBUTE = Pattern.compile("(?m)^:([\\w-]+):\\s*(.*)$");
    static final List<Path> TAGGED = List.of(Path.of("lessons"), Path.of("docs", "other-languages"));

    @Test
    void everyTaggedRegionIsIncludedByAChapter() throws IOException {
        Map<Path, Set<String>> shown = shownRegions();
        assertThat(shown).as("includes of tagged regions in docs/chapters").isNotEmpty();
        Set<String> dead = new TreeSet<>();
        for (Path root : TAGGED) {
            if (!Files.isDirectory(root)) continue;
            try (Stream<Path> files = Files.walk(root)) {
                for (Path file : files.filter(Files::isRegularFile)
                        .filter(f -> !f.startsWith(Path.of("lessons", "test"))).toList()) {
                    Set<String> tags = tags(file);
                    if (tags.isEmpty()) continue;
                    Set<String> included = shown.getOrDefault(file.normalize(), Set.of());
                    if (included.contains("*")) continue;
                    for (String tag : tags) if (!included.contains(tag)) dead.add(file + " tag::" + tag + "[]");
                }
            }
        }
        assertThat(dead).as("tagged regions no chapter includes: remove the tags, or show the code").isEmpty();
    }

    static Set<String> tags(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file);
        } catch (java.nio.charset.MalformedInputException e) {
            return Set.of();    // not a text file
        }
        Set<String> tags = new LinkedHashSet<>();
        Matcher m = TAG.matcher(text);
        while (m.find()) tags.add(m.group(1));
        return tags;
    }

    /// For each file the chapters include: the tags they show, or `*` where a chapter shows it whole.
    static Map<Path, Set<String>> shownRegions() throws IOException {
        Map<String, String> pomAttributes = new HashMap<>(Map.of("docdir", "docs"));
        Matcher pom = Pattern.compile("<([\\w-]+)>\\$\\{project\\.basedir\\}/([^<]*)</\\1>")
                .matcher(Files.readString(Path.of("pom.xml")));
        while (pom.find()) pomAttributes.put(pom.group(1), pom.group(2));
        Map<Path, Set<String>> shown = new HashMap<>();
        try (Stream<Path> files = Files.walk(Path.of("docs"))) {
            for (Path chapter : files.filter(p -> p.toString().endsWith(".adoc")).toList()) {
                String text = Files.readString(chapter);
                Map<String, String> attributes = new HashMap<>(pomAttributes);
                Matcher a = ATTRIBUTE.matcher(text);
                while (a.find()) attributes.putIfAbsent(a.group(1), a.group(2).strip());
                Matcher m = INCLUDE.matcher(text);
                while (m.find()) {
                    String target = resolve(m.group(1), attributes);
                    Path file = target.startsWith("lessons") || target.startsWith("docs")
                            ? Path.of(target) : chapter.getParent().resolve(target);
                    Set<String> tags = shown.computeIfAbsent(file.normalize(), f -> new LinkedHashSet<>());
                    Matcher t = Pattern.compile("\\btags?=([^,]+)").matcher(m.group(2));
                    if (!t.find()) {
                        tags.add("*");
                        continue;
                    }
                    for (String tag : t.group(1).replace("\"", "").split(";")) {
                        if (tag.equals("*") || tag.equals("**")) tags.add("*");
                        else if (!tag.startsWith("!")) tags.add(tag.strip());
                    }
                }
            }
        }
        return shown;
    }

    static String resolve(String target, Map<String, String> attributes) {
        Matcher m = Pattern.compile("\\{([\\w-]+)\\}").matcher(target);
        StringBuilder resolved = new StringBuilder();
        while (m.find()) m.appendReplacement(resolved, Matcher.quoteReplacement(attributes.getOrDefault(m.group(1), m.group())));
        m.appendTail(resolved);
        return resolved.toString();
    }
}
