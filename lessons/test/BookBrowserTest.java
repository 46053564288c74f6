import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/// The rendered book opened in a real browser, headless Chromium driven by its chromedriver, as a
/// reader opens target/book/index.html: every picture has loaded, the table of contents leads to
/// every chapter, and three chapters are photographed into target/book/screenshots/ for a person
/// to look at. Where Debian's chromium and chromium-driver are not installed, it is skipped.
class BookBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path INDEX = BookHtmlTest.INDEX;
    static final Path SCREENSHOTS = Path.of("target", "book", "screenshots");
    /// Chapters photographed, each at its first diagram.
    static final List<String> PHOTOGRAPHED = List.of("03", "08", "16");

    static ChromeDriver browser;
    static Path profile;

    @BeforeAll
    static void openTheBook() throws IOException {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "no headless browser: install Debian's chromium and chromium-driver to run this test");
        assertThat(INDEX).as("the rendered book (./mvnw verify renders it before this test)").exists();
        profile = Files.createTempDirectory("book-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1800", "--user-data-dir=" + profile,
                // The book is a local file: no name is looked up, so nothing can leave the machine.
                "--host-resolver-rules=MAP * ~NOTFOUND");
        // The driver is named, so Selenium Manager is never asked to find or download one.
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
        browser.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60));
        browser.get(INDEX.toAbsolutePath().toUri().toString());
        new WebDriverWait(browser, Duration.ofSeconds(60)).until(driver -> Boolean.TRUE.equals(script(
                "return document.readyState === 'complete' && Array.from(document.images).every(i => i.complete)")));
    }

    @AfterAll
    static void closeTheBook() throws IOException {
        if (browser != null) browser.quit();
        if (profile != null) {
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void everyImageHasLoaded() {
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> images = (List<Map<String, Object>>) script(
                "return Array.from(document.images).map(i => ({src: i.getAttribute('src'), width: i.naturalWidth}))");
        assertThat(images).as("images in the book").isNotEmpty();
        List<Object> broken = images.stream().filter(i -> ((Number) i.get("width")).intValue() == 0)
                .map(i -> i.get("src")).toList();
        assertThat(broken).as("images the browser could not show (natural width 0)").isEmpty();
    }

    @Test
    void theBookLoadsNothingFromTheNetwork() {
        @SuppressWarnings("unchecked")
        List<String> resources = (List<String>) script(
                "return performance.getEntriesByType('resource').map(r => r.name)");
        assertThat(resources).allSatisfy(name -> assertThat(name).startsWith("file:"));
    }

    /// Every chapter that docs/index.adoc includes has an entry in the table of contents, and the
    /// entry leads to the chapter's heading.
    @Test
    void theTableOfContentsLeadsToEveryChapter() throws IOException {
        long included = Pattern.compile("(?m)^include::chapters/").matcher(Files.readString(Path.of("docs", "index.adoc")))
                .results().count();
        @SuppressWarnings("unchecked")
        List<String> chapters = (List<String>) script(
                "return Array.from(document.querySelectorAll('#content > .sect1 > h2')).map(h => h.id)");
        @SuppressWarnings("unchecked")
        List<String> toc = (List<String>) script(
                "return Array.from(document.querySelectorAll('#toc > ul > li > a')).map(a => a.getAttribute('href'))");
        assertThat(chapters).as("chapters in the book").hasSize((int) included);
        assertThat(toc).as("top-level entries of the table of contents")
                .containsExactlyElementsOf(chapters.stream().map(id -> "#" + id).toList());
    }

    @Test
    void threeChaptersArePhotographedAtTheirFirstDiagram() throws IOException {
        Files.createDirectories(SCREENSHOTS);
        for (String number : PHOTOGRAPHED) {
            WebElement diagram = browser.findElement(By.cssSelector(
                    "img[src^='images/" + number + "-']"));
            String chapter = (String) script("return arguments[0].closest('.sect1').querySelector('h2').textContent", diagram);
            script("arguments[0].closest('.imageblock').scrollIntoView({block: 'start'})", diagram);
            assertThat(((Number) script("return arguments[0].naturalWidth", diagram)).intValue())
                    .as("the first diagram of chapter " + chapter).isPositive();
            Path shot = SCREENSHOTS.resolve("chapter-" + number + ".png");
            Files.write(shot, browser.getScreenshotAs(OutputType.BYTES));
            assertThat(shot).as("screenshot of chapter " + chapter).isNotEmptyFile();
        }
    }

    static Object script(String script, Object... arguments) {
        return ((JavascriptExecutor) browser).executeScript(script, arguments);
    }
}
