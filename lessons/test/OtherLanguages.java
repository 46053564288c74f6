import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/// The course's programs in other languages (docs/other-languages/), run by the tests as a learner
/// runs them: python3, elixir, and C compiled with gcc.
final class OtherLanguages {
    static final Path DIR = Path.of("docs", "other-languages");

    private OtherLanguages() {}

    static Path file(String relative) {
        return DIR.resolve(relative);
    }

    /// True when `command --version` runs and succeeds here.
    static boolean installed(String command) {
        try {
            Process p = new ProcessBuilder(command, "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /// Runs `python3 docs/other-languages/python/SCRIPT args...`, its output unbuffered and in UTF-8.
    static LessonRun python(String script, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("python3", file("python/" + script).toString()));
        command.addAll(List.of(args));
        var builder = new ProcessBuilder(command);
        builder.environment().put("PYTHONUNBUFFERED", "1");
        builder.environment().put("PYTHONIOENCODING", "utf-8");
        builder.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        return LessonRun.startProcess(builder);
    }

    /// Runs `elixir docs/other-languages/elixir/SCRIPT args...`.
    static LessonRun elixir(String script, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("elixir", file("elixir/" + script).toString()));
        command.addAll(List.of(args));
        return LessonRun.startProcess(new ProcessBuilder(command));
    }

    /// Compiles docs/other-languages/c/SOURCE with the flags its header names; returns the program.
    static Path compileC(String source, Path into) throws IOException, InterruptedException {
        Path program = into.resolve(source.replace(".c", ""));
        Process gcc = new ProcessBuilder("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", program.toString(),
                file("c/" + source).toString()).redirectErrorStream(true).start();
        String output = new String(gcc.getInputStream().readAllBytes());
        if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
            throw new AssertionError("gcc could not build " + source + ":\n" + output);
        }
        return program;
    }
}
