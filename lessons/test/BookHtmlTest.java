import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/// The rendered book as a reader gets it (target/book/index.html, written by `./mvnw verify`
/// before this test runs): every picture it shows is there, every link inside it leads somewhere,
/// and nothing of the sources' machinery (an include, an attribute) is left in the text.
class BookHtmlTest {
    static final Path BOOK = Path.of("target", "book");
    static final Path INDEX = BOOK.resolve("index.html");
    static final Pattern IMG = Pattern.compile("<img\\s[^>]*?src=\"([^\"]+)\"");
    static final Pattern HREF = Pattern.compile("<a\\s[^>]*?href=\"([^\"]+)\"");
    static final Pattern ID = Pattern.compile("\\s(?:id|name)=\"([^\"]+)\"");
    static final Pattern DIAGRAM = Pattern.compile("(?m)^\\[(?:plantuml|ditaa|graphviz|svgbob),\\s*([\\w.-]+)\\s*,\\s*(\\w+)");

    static String html;

    @BeforeAll
    static void readBook() throws IOException {
        assertThat(INDEX).as("the rendered book (./mvnw verify renders it before this test)").exists();
        html = Files.readString(INDEX);
    }

    @Test
    void everyImageFileExists() {
        List<String> missing = new ArrayList<>();
        Matcher m = IMG.matcher(html);
        int images = 0;
        while (m.find()) {
            images++;
            String src = m.group(1);
            if (src.startsWith("data:")) continue;
            assertThat(src).as("the book needs no network: " + src).doesNotStartWith("http");
            Path file = BOOK.resolve(src);
            if (!Files.isRegularFile(file) || size(file) == 0) missing.add(src);
        }
        assertThat(images).as("<img> elements in the book").isPositive();
        assertThat(missing).as("images the HTML asks for that are not beside it in " + BOOK).isEmpty();
    }

    /// Each diagram block of the sources is drawn, and the HTML shows that very file.
    @Test
    void everyDiagramOfTheSourcesIsShown() throws IOException {
        Set<String> diagrams = new LinkedHashSet<>();
        for (Path chapter : chapters()) {
            Matcher m = DIAGRAM.matcher(Files.readString(chapter));
            while (m.find()) diagrams.add(m.group(1) + "." + m.group(2));
        }
        assertThat(diagrams).as("diagram blocks in docs/chapters").isNotEmpty();
        for (String diagram : diagrams) {
            assertThat(html).as("the book shows " + diagram).contains("<img src=\"images/" + diagram + "\"");
            assertThat(BOOK.resolve("images").resolve(diagram)).as("the drawn diagram").isNotEmptyFile();
        }
    }

    @Test
    void everyInternalLinkFindsItsAnchor() {
        Set<String> ids = new HashSet<>();
        Matcher id = ID.matcher(html);
        while (id.find()) ids.add(id.group(1));
        Set<String> broken = new LinkedHashSet<>();
        Matcher href = HREF.matcher(html);
        int anchors = 0;
        while (href.find()) {
            String target = unescape(href.group(1));
            if (!target.startsWith("#")) continue;
            anchors++;
            if (!ids.contains(target.substring(1))) broken.add(target);
        }
        assertThat(anchors).as("links to places in the book (the table of contents at least)").isPositive();
        assertThat(broken).as("links to anchors (#id) that no element of the book has").isEmpty();
    }

    /// Links to the repository's own files (a lab's assignment, a lesson) are written relative to
    /// the chapter, two folders down from the top, as target/book/index.html is.
    @Test
    void everyLinkToAFileFindsTheFile() {
        Set<String> broken = new LinkedHashSet<>();
        Matcher href = HREF.matcher(html);
        while (href.find()) {
            String target = unescape(href.group(1));
            if (target.startsWith("#") || target.matches("^[a-z][a-z0-9+.-]*:.*")) continue;
            String file = target.replaceFirst("#.*$", "");
            if (!Files.exists(BOOK.resolve(file).normalize())) broken.add(target);
        }
        assertThat(broken).as("links from the book to files that do not exist").isEmpty();
    }

    @Test
    void noIncludeOrDirectiveIsLeftInTheText() {
        assertThat(html).doesNotContain("Unresolved directive").doesNotContain("include::")
                .doesNotContain("ifdef::").doesNotContain("ifndef::").doesNotContain("endif::")
                .doesNotContain("tag::").doesNotContain("end::");
    }

    /// An attribute the sources use (`{lessons}`, `{lesson}`, ...) that reached the reader as its name.
    @Test
    void noAttributeIsLeftUnresolved() throws IOException {
        Set<String> names = new LinkedHashSet<>(List.of("lessons", "lesson", "docdir", "imagesdir"));
        Pattern entry = Pattern.compile("(?m)^:!?([\\w-]+)!?:");
        for (Path source : sources()) {
            Matcher m = entry.matcher(Files.readString(source));
            while (m.find()) names.add(m.group(1));
        }
        Matcher pom = Pattern.compile("(?s)<attributes>(.*?)</attributes>").matcher(Files.readString(Path.of("pom.xml")));
        while (pom.find()) {
            Matcher tag = Pattern.compile("<([\\w-]+)[ />]").matcher(pom.group(1));
            while (tag.find()) names.add(tag.group(1));
        }
        List<String> left = names.stream().map(name -> "{" + name + "}").filter(html::contains).toList();
        assertThat(left).as("attribute references printed as text in the book").isEmpty();
    }

    static String unescape(String attribute) {
        return attribute.replace("&amp;", "&");
    }

    static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }

    static List<Path> chapters() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("docs", "chapters"))) {
            return files.filter(p -> p.toString().endsWith(".adoc")).sorted().toList();
        }
    }

    static List<Path> sources() throws IOException {
        try (Stream<Path> files = Files.walk(Path.of("docs"))) {
            return files.filter(p -> p.toString().endsWith(".adoc")).sorted().toList();
        }
    }
}
