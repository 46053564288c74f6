package grading;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/// An autograder for Gradescope: a zip with `setup.sh` (run once on Gradescope's Ubuntu image:
/// installs a JDK 25 and the tools, fetches the grader's libraries), `run_autograder` (run for every
/// submission: grades `/autograder/submission`, writes `/autograder/results/results.json`), and the
/// class copy of the course ([ClassCopy]: no solutions in it, so a submission finds none to read).
public final class Gradescope {

    private Gradescope() {
    }

    /// Writes the autograder of lab `which` (`01`, `ex05`) of the course at `course` to `zip`.
    public static void write(Path course, String which, Path zip) throws IOException, InterruptedException {
        Path work = Files.createTempDirectory("socketlab-gradescope-");
        try {
            ClassCopy.export(course, work.resolve("course"));
            Files.writeString(work.resolve("setup.sh"), SETUP);
            Files.writeString(work.resolve("run_autograder"), RUN.replace("@LAB@", which));
            Files.createDirectories(zip.toAbsolutePath().getParent());
            try (OutputStream file = Files.newOutputStream(zip); var out = new ZipOutputStream(file); Stream<Path> walk = Files.walk(work)) {
                for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
                    out.putNextEntry(new ZipEntry(work.relativize(p).toString().replace('\\', '/')));
                    Files.copy(p, out);
                    out.closeEntry();
                }
            }
        } finally {
            Sandbox.deleteTree(work);
        }
    }

    /// Gradescope runs it with bash, as root, once; a zip keeps no permissions, so it sets them.
    static final String SETUP = """
            #!/usr/bin/env bash
            # Gradescope runs this once, as root, on its Ubuntu image, when the autograder is built.
            set -eu
            source_dir=${AUTOGRADER_ROOT:-/autograder}/source
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            # The grader needs a JDK 25 (javac included), ip (network namespaces), and curl for the launcher.
            apt-get install -y -qq curl ca-certificates iproute2 util-linux >/dev/null
            if ! apt-get install -y -qq openjdk-25-jdk-headless >/dev/null 2>&1; then
              # Older Ubuntu releases have no JDK 25: Eclipse Temurin's apt repository has one.
              apt-get install -y -qq wget gnupg >/dev/null
              wget -qO - https://packages.adoptium.net/artifactory/api/gpg/key/public | gpg --dearmor >/usr/share/keyrings/adoptium.gpg
              echo "deb [signed-by=/usr/share/keyrings/adoptium.gpg] https://packages.adoptium.net/artifactory/deb $(. /etc/os-release && echo "$VERSION_CODENAME") main" >/etc/apt/sources.list.d/adoptium.list
              apt-get update -qq
              apt-get install -y -qq temurin-25-jdk >/dev/null
            fi
            chmod +x "$source_dir/run_autograder" "$source_dir/course/jbang" "$source_dir/course/mvnw"
            # Fetch JBang and the grader's libraries now, not while a learner waits.
            cd "$source_dir/course" && ./jbang labs/Grade.java --help >/dev/null
            """;

    /// `AUTOGRADER_ROOT` moves `/autograder` elsewhere: a test runs the script against a
    /// submission laid out as Gradescope lays it out.
    static final String RUN = """
            #!/usr/bin/env bash
            # Gradescope runs this for every submission: it grades /autograder/submission (the
            # learner's files) and writes /autograder/results/results.json.
            set -u
            root=${AUTOGRADER_ROOT:-/autograder}
            course="$root/source/course"
            results="$root/results"
            out=$(mktemp -d)
            mkdir -p "$results"
            # This grader's own JBang folders: graders side by side never share a cache.
            export JBANG_DIR="$out/jbang" JBANG_CACHE_DIR="$out/jbang/cache"
            cd "$course" || exit 1
            chmod +x jbang mvnw 2>/dev/null
            ./jbang labs/Grade.java --submission "$root/submission" --out "$out/results" @LAB@ >"$out/console.txt" 2>&1
            learner=$(basename "$root/submission")
            if [ -f "$out/results/$learner/results.json" ]; then
              cp "$out/results/$learner/results.json" "$results/results.json"
            else
              # The grader itself failed: say so, with the end of what it printed.
              why=$(tail -n 5 "$out/console.txt" | tr -d '"\\\\' | tr '\\n\\t' '  ')
              printf '{"score": 0, "output": "The grader could not run: %s", "tests": []}\\n' "$why" >"$results/results.json"
            fi
            cat "$out/console.txt"
            rm -rf "$out"
            """;
}
