package grading;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/// Every chapter has an exercise set in the shape labs/README.adoc's "Exercises" section gives,
/// read from the files alone (no grading: ExercisesProofTest grades them). A set has a README
/// whose exercises its chapter includes, one checks class, at least three core checks of 10
/// points (chapter 00 at least one), worked answers with a WHY.adoc, and, where it asks for
/// predictions, worked and wrong predictions for every key.
class ExercisesTest {

    static final int LEAST_CHECKS = 3;
    static final int POINTS = 10;
    private static final Pattern CHAPTER = Pattern.compile("(\\d\\d)-(.+)\\.adoc");

    @TestFactory
    Stream<DynamicTest> everyChapterHasAnExerciseSet() throws IOException {
        var tests = new ArrayList<DynamicTest>();
        try (Stream<Path> chapters = Files.list(Path.of("docs", "chapters"))) {
            for (Path chapter : chapters.sorted().toList()) {
                var m = CHAPTER.matcher(chapter.getFileName().toString());
                if (m.matches()) {
                    Path set = Gradings.EXERCISES.resolve("ex" + m.group(1) + "-" + m.group(2));
                    tests.add(DynamicTest.dynamicTest("chapter " + m.group(1) + " has " + set, () -> assertTrue(Files.isDirectory(set),
                            chapter + " has no exercise set: make " + set + " (see labs/README.adoc, Exercises)")));
                }
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> everySetHasItsParts() throws IOException {
        var tests = new ArrayList<DynamicTest>();
        Map<String, Path> checksClasses = new HashMap<>();
        for (Path lab : Gradings.labs()) {
            checksClasses.put(checksClass(lab), lab);
        }
        for (Path set : Gradings.exerciseSets()) {
            String name = set.getFileName().toString();
            tests.add(DynamicTest.dynamicTest(name + ": its chapter includes its README's exercises", () -> chapterIncludesIt(set)));
            tests.add(DynamicTest.dynamicTest(name + ": exercises/README.adoc lists it", () -> assertTrue(
                    Files.readString(Gradings.EXERCISES.resolve("README.adoc")).contains("link:" + name + "/README.adoc["),
                    "exercises/README.adoc must link " + name + "/README.adoc")));
            tests.add(DynamicTest.dynamicTest(name + ": core checks of " + POINTS + " points, enough of them", () -> enoughCoreChecks(set)));
            tests.add(DynamicTest.dynamicTest(name + ": its checks class has a name of its own", () -> {
                String type = checksClass(set);
                Path other = checksClasses.putIfAbsent(type, set);
                assertTrue(other == null, type + " is the checks class of both " + other + " and " + set);
            }));
            tests.add(DynamicTest.dynamicTest(name + ": worked answers with WHY.adoc, starters with TODO(exercise)", () -> workedAnswers(set)));
            tests.add(DynamicTest.dynamicTest(name + ": predictions unanswered, worked and wrong for every key", () -> predictions(set)));
        }
        return tests.stream();
    }

    static void chapterIncludesIt(Path set) throws IOException {
        String readme = Files.readString(set.resolve("README.adoc"), StandardCharsets.UTF_8);
        assertTrue(readme.contains("// tag::exercises[]") && readme.contains("// end::exercises[]"),
                set + "/README.adoc must mark its exercises with // tag::exercises[] ... // end::exercises[]");
        String name = set.getFileName().toString();
        Path chapter = Path.of("docs", "chapters", name.substring(2) + ".adoc");
        String text = Files.readString(chapter, StandardCharsets.UTF_8);
        assertTrue(text.contains("include::../../exercises/" + name + "/README.adoc[tag=exercises"),
                chapter + " must include its exercises: include::../../exercises/" + name + "/README.adoc[tag=exercises,leveloffset=+1]");
        assertTrue(text.contains("./jbang labs/Grade.java " + name.substring(0, 4)),
                chapter + " must say how to check its exercises: ./jbang labs/Grade.java " + name.substring(0, 4));
    }

    static void enoughCoreChecks(Path set) throws IOException {
        String source = checksSource(set);
        long core = Pattern.compile("Check\\.core\\(").matcher(source).results().count();
        long other = Pattern.compile("Check\\.of\\(").matcher(source).results().count();
        int least = set.getFileName().toString().startsWith("ex00") ? 1 : LEAST_CHECKS;
        assertTrue(core >= least, set + " needs at least " + least + " checks (Check.core), has " + core);
        assertEquals(0, other, set + ": every exercise is a core check (an untouched set fails them all), not Check.of");
        var listing = Course.listing(new Grader(Gradings.LABS, Gradings.OUT.resolve("list"), true, System.out),
                new Course.Item(set.getFileName().toString().substring(0, 4), set, true, 0));
        assertEquals(null, listing.problem(), set + ": its checks do not compile");
        assertEquals(POINTS * listing.checks(), listing.points(), set + ": every check is worth " + POINTS + " points");
    }

    static void workedAnswers(Path set) throws IOException {
        Path answers = Gradings.answers(set);
        assertTrue(Files.isRegularFile(answers.resolve("WHY.adoc")), answers + "/WHY.adoc must explain each worked answer");
        for (Path file : files(answers)) {
            String fileName = file.getFileName().toString();
            if (!fileName.equals("WHY.adoc")) {
                assertTrue(Files.exists(set.resolve(fileName)), file + " answers no file of " + set + ": a worked answer has a starter's name");
            }
        }
        for (Path file : files(set)) {
            if (file.toString().endsWith(".java")) {
                assertTrue(Files.readString(file).contains("TODO(exercise)"), file + " must mark where the learner writes: // TODO(exercise):");
            }
        }
    }

    static void predictions(Path set) throws IOException {
        Path starter = set.resolve("predictions.txt");
        Path wrong = Gradings.wrongPredictions(set).resolve("predictions.txt");
        if (!Files.exists(starter)) {
            assertTrue(!Files.exists(wrong), wrong + " has no predictions.txt in " + set + " to be wrong about");
            return;
        }
        var asked = keysIn(starter);
        var worked = keysIn(Gradings.answers(set).resolve("predictions.txt"));
        var wrongOnes = keysIn(wrong);
        assertTrue(!asked.isEmpty(), starter + " asks for nothing");
        for (var key : asked.keySet()) {
            assertEquals("?", asked.get(key), starter + ": \"" + key + "\" must be unanswered (?) in the starter");
            assertTrue(answered(worked.get(key)), Gradings.answers(set) + "/predictions.txt must answer \"" + key + "\"");
            assertTrue(answered(wrongOnes.get(key)), wrong + " must answer \"" + key + "\", wrongly");
            assertTrue(!worked.get(key).equalsIgnoreCase(wrongOnes.get(key)), wrong + ": \"" + key + "\" is the worked answer, not a wrong one");
        }
        assertEquals(asked.keySet(), worked.keySet(), "the worked predictions must have the starter's keys");
        assertEquals(asked.keySet(), wrongOnes.keySet(), "the wrong predictions must have the starter's keys");
    }

    private static boolean answered(String value) {
        return value != null && !value.isEmpty() && !value.equals("?");
    }

    private static Map<String, String> keysIn(Path file) throws IOException {
        assertTrue(Files.exists(file), file + " is missing");
        var all = new java.util.LinkedHashMap<String, String>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String content = line.contains("#") ? line.substring(0, line.indexOf('#')) : line;
            int colon = content.indexOf(':');
            if (colon > 0) {
                all.put(content.substring(0, colon).strip(), content.substring(colon + 1).strip());
            }
        }
        return all;
    }

    private static String checksClass(Path folder) throws IOException {
        return new Grader(Gradings.LABS, Gradings.OUT, true, System.out).checksClass(folder);
    }

    private static String checksSource(Path set) throws IOException {
        var text = new StringBuilder();
        for (Path file : files(set.resolve("checks"))) {
            text.append(Files.readString(file, StandardCharsets.UTF_8));
        }
        return text.toString();
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(Files::isRegularFile).sorted().toList();
        }
    }
}
