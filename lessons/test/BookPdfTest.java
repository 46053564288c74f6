import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/// The PDF edition (target/book/socket-lab.pdf): it holds every chapter, its diagrams are drawn in
/// it (their words are on its pages), and two pages with diagrams are turned into pictures in
/// target/book/screenshots/ for a person to look at. Needs poppler-utils (pdftotext, pdftoppm).
/// Rendering the PDF takes minutes, so it and this test run in `./mvnw -Pproof verify`.
@Tag("proof")
class BookPdfTest {
    static final Path PDF = Path.of("target", "book", "socket-lab.pdf");
    static final Path IMAGES = Path.of("target", "book", "images");
    /// Diagrams whose pages are turned into pictures.
    static final List<String> PICTURED = List.of("03-accept-queue.svg", "16-tls13-handshake.svg");

    static List<String> pages;

    @BeforeAll
    static void readThePdf() throws Exception {
        assumeTrue(onPath("pdftotext") && onPath("pdftoppm"),
                "no pdftotext/pdftoppm: install Debian's poppler-utils to run this test");
        assertThat(PDF).as("the PDF edition (./mvnw -Pproof verify renders it before this test)").isNotEmptyFile();
        Path text = Files.createTempFile("book-", ".txt");
        try {
            run("pdftotext", "-enc", "UTF-8", PDF.toString(), text.toString());
            // pdftotext ends every page with a form feed.
            pages = List.of(Files.readString(text, StandardCharsets.UTF_8).split("\f"));
        } finally {
            Files.deleteIfExists(text);
        }
    }

    @Test
    void everyChapterIsInThePdf() throws IOException {
        Pattern title = Pattern.compile("(?m)^= (.+)$");
        String all = normalize(String.join(" ", pages));
        try (var chapters = Files.list(Path.of("docs", "chapters"))) {
            for (Path chapter : chapters.filter(p -> p.toString().endsWith(".adoc")).toList()) {
                Matcher m = title.matcher(Files.readString(chapter));
                assertThat(m.find()).as("a title in " + chapter).isTrue();
                assertThat(all).as("the PDF has chapter " + chapter.getFileName()).contains(normalize(m.group(1)));
            }
        }
    }

    /// A diagram is in the PDF if the words it draws are on one page; that page is pictured.
    @Test
    void twoPagesWithDiagramsArePictured() throws Exception {
        Path screenshots = Files.createDirectories(Path.of("target", "book", "screenshots"));
        for (String diagram : PICTURED) {
            List<String> words = svgTexts(IMAGES.resolve(diagram));
            assertThat(words).as("text drawn in " + diagram).isNotEmpty();
            int page = -1;
            // Compared without spaces: a stretched label comes out of the PDF letter by letter.
            List<String> labels = words.stream().map(w -> w.replace(" ", "")).toList();
            for (int i = 0; i < pages.size() && page < 0; i++) {
                String onPage = normalize(pages.get(i)).replace(" ", "");
                if (labels.stream().allMatch(onPage::contains)) page = i + 1;
            }
            assertThat(page).as("a page of the PDF that shows every label of " + diagram + ": " + words).isPositive();
            String name = "pdf-page-" + page;
            run("pdftoppm", "-png", "-r", "70", "-f", "" + page, "-l", "" + page, "-singlefile",
                    PDF.toString(), screenshots.resolve(name).toString());
            assertThat(screenshots.resolve(name + ".png")).as("page " + page + " as a picture").isNotEmptyFile();
        }
    }

    /// The labels of a PlantUML SVG, each one a `<text>` element.
    static List<String> svgTexts(Path svg) throws IOException {
        Matcher m = Pattern.compile("<text[^>]*>([^<]+)</text>").matcher(Files.readString(svg));
        List<String> texts = new ArrayList<>();
        while (m.find()) {
            String text = normalize(Pattern.compile("&#(x?)([0-9a-fA-F]+);").matcher(m.group(1))
                    .replaceAll(r -> Character.toString(Integer.parseInt(r.group(2), r.group(1).isEmpty() ? 10 : 16)))
                    .replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'")
                    .replace("&amp;", "&"));
            if (text.length() >= 4) texts.add(text);
        }
        return texts;
    }

    static String normalize(String text) {
        return text.replace('\u2019', '\'').replaceAll("\\s+", " ").strip();
    }

    static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, command))) return true;
        }
        return false;
    }

    static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", command) + " finished").isTrue();
        assertThat(process.exitValue()).as(String.join(" ", command) + ": " + output).isZero();
    }
}
