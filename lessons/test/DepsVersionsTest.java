import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/// A lesson run with JBang gets its libraries from its `//DEPS` lines; the build compiles and tests
/// it with the pom's. The two are copies kept by hand, so they are compared here.
class DepsVersionsTest {
    static final Pattern DEPS = Pattern.compile("(?m)^//DEPS\\s+([\\w.-]+):([\\w.-]+):([\\w.-]+)(?::([\\w.-]+))?\\s*$");
    static final Pattern DEPENDENCY = Pattern.compile(
            "(?s)<dependency>\\s*<groupId>([^<]+)</groupId>\\s*<artifactId>([^<]+)</artifactId>\\s*<version>([^<]+)</version>");
    static final Pattern PROPERTY = Pattern.compile("<([\\w.-]+)>([^<${}]+)</\\1>");

    @Test
    void everyDepsLineNamesThePomsVersion() throws IOException {
        Map<String, String> pom = pomVersions();
        List<Path> files = new ArrayList<>();
        try (Stream<Path> lessons = Files.list(Path.of("lessons"))) {
            lessons.filter(p -> p.toString().endsWith(".java")).sorted().forEach(files::add);
        }
        try (Stream<Path> tools = Files.list(Path.of("lessons", "tools"))) {
            tools.filter(p -> p.toString().endsWith(".java")).sorted().forEach(files::add);
        }
        files.add(Path.of("labs", "Grade.java"));
        int lines = 0;
        for (Path file : files) {
            if (!Files.exists(file)) continue;
            Matcher m = DEPS.matcher(Files.readString(file));
            while (m.find()) {
                lines++;
                String artifact = m.group(1) + ":" + m.group(2);
                assertThat(pom).as("the pom builds with " + artifact + ", which " + file + " names").containsKey(artifact);
                assertThat(m.group(3)).as(file + "'s //DEPS " + artifact + " against the pom").isEqualTo(pom.get(artifact));
            }
        }
        assertThat(lines).as("//DEPS lines in lessons/ and labs/Grade.java").isPositive();
    }

    /// groupId:artifactId to version, for every dependency in pom.xml, properties resolved.
    static Map<String, String> pomVersions() throws IOException {
        String pom = Files.readString(Path.of("pom.xml"));
        Map<String, String> properties = new HashMap<>();
        int start = pom.indexOf("<properties>");
        Matcher p = PROPERTY.matcher(pom.substring(start, pom.indexOf("</properties>", start)));
        while (p.find()) properties.put(p.group(1), p.group(2).strip());
        Map<String, String> versions = new HashMap<>();
        Matcher d = DEPENDENCY.matcher(pom);
        while (d.find()) {
            String version = d.group(3).strip();
            Matcher ref = Pattern.compile("\\$\\{([\\w.-]+)\\}").matcher(version);
            if (ref.matches()) version = properties.getOrDefault(ref.group(1), version);
            versions.putIfAbsent(d.group(1).strip() + ":" + d.group(2).strip(), version);
        }
        return versions;
    }
}
