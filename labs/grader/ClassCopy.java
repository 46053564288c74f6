package grading;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// The course as a teacher hands it to a class: everything a learner needs, without the
/// reference solutions (`labs/solutions/`, the known-wrong ones included), the exercises' worked
/// answers (`exercises/answers/`), or the tests that grade them; with the starters' hashes recorded
/// in `labs/starters.sha256`, so that the copy's own build knows an untouched starter.
public final class ClassCopy {

    /// Folders a class never gets.
    static final List<String> LEFT_OUT = List.of("labs/solutions/", "exercises/answers/");

    /// A test that grades a reference solution or a worked answer cannot run without them: it
    /// stays with the teacher's copy.
    static final Pattern NEEDS_SOLUTIONS = Pattern.compile(
            "gradeSolution|gradeWrong|wrongSolutions|Path\\.of\\(\"labs\", \"solutions\"|labs/solutions/|exercises/answers/|\"--solution\"");

    private ClassCopy() {
    }

    /// What the export wrote and left out.
    public record Exported(Path dir, int files, List<String> testsLeftOut) {
    }

    /// Writes the class copy of the course at `course` into `dir` (which must not exist or be empty).
    public static Exported export(Path course, Path dir) throws IOException, InterruptedException {
        if (Files.isDirectory(dir)) {
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new IllegalArgumentException(dir + " is not empty: give a new folder");
                }
            }
        }
        int copied = 0;
        var testsLeftOut = testsLeftOut(course);
        for (String file : courseFiles(course)) {
            if (LEFT_OUT.stream().anyMatch(file::startsWith)) {
                continue;
            }
            Path from = course.resolve(file);
            if (!Files.isRegularFile(from) || testsLeftOut.contains(file)) {
                continue;
            }
            Path to = dir.resolve(file);
            Files.createDirectories(to.getParent());
            Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
            copied++;
        }
        Files.writeString(dir.resolve("labs").resolve("starters.sha256"), starterHashes(dir));
        return new Exported(dir, copied, testsLeftOut);
    }

    /// The test files that read the solutions or worked answers, and then those that use one of
    /// them (a test helper left out takes its users along, or the copy's build would not compile).
    static List<String> testsLeftOut(Path course) throws IOException, InterruptedException {
        var tests = new java.util.TreeMap<String, String>();
        for (String file : courseFiles(course)) {
            if (file.endsWith(".java") && file.contains("/test/") && Files.isRegularFile(course.resolve(file))) {
                tests.put(file, Files.readString(course.resolve(file)));
            }
        }
        var out = new java.util.TreeSet<String>();
        tests.forEach((file, text) -> {
            if (NEEDS_SOLUTIONS.matcher(text).find()) {
                out.add(file);
            }
        });
        boolean grew = true;
        while (grew) {
            grew = false;
            for (var test : tests.entrySet()) {
                if (out.contains(test.getKey())) {
                    continue;
                }
                for (String left : List.copyOf(out)) {
                    String type = Path.of(left).getFileName().toString().replace(".java", "");
                    if (Pattern.compile("\\b" + type + "\\b").matcher(test.getValue()).find()) {
                        out.add(test.getKey());
                        grew = true;
                        break;
                    }
                }
            }
        }
        return new ArrayList<>(out);
    }

    /// The course's files: those git tracks in a clone, else every file but the build's output.
    static List<String> courseFiles(Path course) throws IOException, InterruptedException {
        if (Files.exists(course.resolve(".git"))) {
            Process git = new ProcessBuilder("git", "-C", course.toString(), "ls-files", "-z").redirectErrorStream(false).start();
            String out = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (git.waitFor() == 0) {
                return List.of(out.split("\0")).stream().filter(s -> !s.isEmpty()).sorted().toList();
            }
        }
        try (Stream<Path> walk = Files.walk(course)) {
            return walk.filter(Files::isRegularFile).map(p -> course.relativize(p).toString().replace('\\', '/'))
                    .filter(p -> !p.startsWith("target/") && !p.startsWith(".cache/") && !p.startsWith(".git/"))
                    .sorted().toList();
        }
    }

    /// `sha256sum labs/[0-9][0-9]-*/*.java`, as the course records its starters.
    static String starterHashes(Path course) throws IOException {
        var lines = new StringBuilder();
        try (Stream<Path> labs = Files.list(course.resolve("labs"))) {
            for (Path lab : labs.filter(p -> p.getFileName().toString().matches("\\d\\d-.+") && Files.isDirectory(p)).sorted().toList()) {
                try (Stream<Path> files = Files.list(lab)) {
                    for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                        lines.append(sha256(f)).append("  ").append(course.relativize(f).toString().replace('\\', '/')).append('\n');
                    }
                }
            }
        }
        return lines.toString();
    }

    static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
