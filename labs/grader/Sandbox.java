package grading;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/// Where one submission is graded, so that it cannot hurt the grading of the others.
///
/// Its lab folder is a copy of the starter with the learner's files laid over it, in a folder that
/// holds nothing else: no reference solution, no worked answer, no other learner's work. Its
/// checks' JVM gets a heap cap, a cap on the size of any file it writes (what the code prints goes
/// to the lab's log), and runs in that folder. As root, three more walls: its own network namespace
/// (`socketlab-…`: loopback only, so a fixed port bound by two submissions is two ports, and no
/// submission reaches another's server), a control group that caps its threads and its CPU, and
/// empty folders mounted over `labs/solutions/` and `exercises/answers/` of the course (in the
/// namespace's own view of the file system) so that not even an absolute path reaches them.
public final class Sandbox implements AutoCloseable {

    /// What one submission may use.
    public record Limits(int heapMegabytes, long outputBytes, int threads, long seconds) {
        public static final Limits DEFAULT = new Limits(384, 20L << 20, 1024, 300);
    }

    private final Path root;
    private final Path lab;
    private final String name;
    private final Limits limits;
    private final List<Path> hidden;
    private final boolean isolated;
    private final List<Path> groups = new ArrayList<>();

    private Sandbox(Path root, Path lab, String name, Limits limits, List<Path> hidden, boolean isolated) {
        this.root = root;
        this.lab = lab;
        this.name = name;
        this.limits = limits;
        this.hidden = hidden;
        this.isolated = isolated;
    }

    /// Whether the walls that need root (namespace, control group, hidden folders) can be built.
    /// Some containers run as root without the right to make namespaces: one is made to be sure.
    public static boolean canIsolate() {
        String probe = "socketlab-probe-" + ProcessHandle.current().pid();
        try {
            if (!System.getProperty("os.name").equals("Linux") || !run("id", "-u").strip().equals("0")) {
                return false;
            }
            run("ip", "netns", "add", probe);
            run("ip", "netns", "delete", probe);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /// Lays out `root/labs/NN-name` (or `root/exercises/exNN-name`): the course's lab folder with
    /// the submission's files over it. `hidden` are the course's folders no submission may read.
    public static Sandbox create(Path course, Path labFolder, Path submission, Path root, String name, Limits limits,
            List<Path> hidden, boolean isolate) throws IOException {
        Path relative = course.toAbsolutePath().relativize(labFolder.toAbsolutePath());
        Path lab = root.resolve(relative);
        copyTree(labFolder, lab);
        try (Stream<Path> files = Files.list(submission)) {
            for (Path file : files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().startsWith(".")).toList()) {
                Files.copy(file, lab.resolve(file.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        var sandbox = new Sandbox(root.toAbsolutePath(), lab, name, limits, hidden.stream().filter(Files::isDirectory)
                .map(p -> p.toAbsolutePath().normalize()).toList(), isolate);
        if (isolate) {
            sandbox.buildWalls();
        }
        return sandbox;
    }

    /// The copied lab folder, to grade.
    public Path lab() {
        return lab;
    }

    /// The folder the lab's folder sits in (the grader's `labs/`).
    public Path labsDir() {
        return lab.getParent();
    }

    public boolean isolated() {
        return isolated;
    }

    /// The network namespace's name.
    public String namespace() {
        return "socketlab-" + name;
    }

    private void buildWalls() throws IOException {
        run("ip", "netns", "add", namespace());
        run("ip", "netns", "exec", namespace(), "ip", "link", "set", "lo", "up");
        // A control group for threads (pids) and one for CPU time, where the kernel offers them.
        Path pids = Path.of("/sys/fs/cgroup/pids");
        Path cpu = Path.of("/sys/fs/cgroup/cpu");
        Path unified = Path.of("/sys/fs/cgroup");
        if (Files.isDirectory(pids)) {
            group(pids, "pids.max", String.valueOf(limits.threads()));
            if (Files.isDirectory(cpu)) {
                group(cpu, "cpu.cfs_quota_us", "100000");
            }
        } else if (Files.exists(unified.resolve("cgroup.controllers"))) {
            Path dir = group(unified, "pids.max", String.valueOf(limits.threads()));
            if (dir != null) {
                write(dir.resolve("cpu.max"), "100000 100000");
            }
        }
    }

    /// Makes `parent/socketlab-NAME` and writes `value` to its `file`; null where that is refused.
    private Path group(Path parent, String file, String value) {
        Path dir = parent.resolve(namespace());
        try {
            Files.createDirectories(dir);
            groups.add(dir);
            Files.writeString(dir.resolve(file), value);
            return dir;
        } catch (IOException e) {
            return null;
        }
    }

    private static void write(Path file, String value) {
        try {
            Files.writeString(file, value);
        } catch (IOException e) {
            // That controller is not enabled here: the other walls still stand.
        }
    }

    /// Whether threads are capped (a pids control group was made).
    public boolean threadsCapped() {
        return groups.stream().anyMatch(g -> Files.exists(g.resolve("pids.max")));
    }

    /// The checks' JVM command, wrapped: caps on its JVM options, its own folder, a cap on file
    /// sizes, and (as root) the namespace, the control groups and the hidden folders.
    public List<String> wrap(List<String> command) {
        var java = new ArrayList<>(command);
        int classPath = java.indexOf("-cp");
        java.addAll(classPath < 0 ? 1 : classPath, List.of("-Xmx" + limits.heapMegabytes() + "m", "-XX:MaxDirectMemorySize=64m",
                "-Xss512k", "-XX:+UseSerialGC", "-XX:ActiveProcessorCount=1", "-XX:TieredStopAtLevel=1"));
        var script = new StringBuilder("set -e\n");
        for (Path folder : hidden) {
            script.append("mount -t tmpfs -o ro,size=4k socketlab-hidden ").append(quote(folder.toString())).append('\n');
        }
        script.append("cd ").append(quote(root.toString())).append('\n');
        // The shell counts file sizes in blocks of 512 bytes (POSIX ulimit -f).
        script.append("ulimit -f ").append(Math.max(1, limits.outputBytes() / 512)).append('\n');
        script.append("exec \"$@\"\n");
        var wrapped = new ArrayList<String>();
        if (isolated) {
            // Join the control groups first: inside the namespace, /sys is the namespace's own.
            var join = new StringBuilder("set -e\n");
            for (Path group : groups) {
                join.append("echo $$ > ").append(quote(group.resolve("cgroup.procs").toString())).append('\n');
            }
            join.append("exec \"$@\"\n");
            wrapped.addAll(List.of("sh", "-c", join.toString(), "sh", "ip", "netns", "exec", namespace()));
        }
        wrapped.addAll(List.of("sh", "-c", script.toString(), "sh"));
        wrapped.addAll(java);
        return wrapped;
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /// Stops whatever the submission left running (every task in its control groups, anything
    /// left in its namespace), then removes the namespace, the groups and the folder.
    @Override
    public void close() throws IOException {
        if (isolated) {
            for (Path group : groups) {
                killAll(group);
            }
            killNamespace();
            for (Path group : groups) {
                try {
                    Files.deleteIfExists(group);
                } catch (IOException e) {
                    // A task still exiting: try once more after it is gone.
                    sleepBriefly();
                    Files.deleteIfExists(group);
                }
            }
            run("ip", "netns", "delete", namespace());
        }
        deleteTree(root);
    }

    private static void killAll(Path group) throws IOException {
        Path procs = group.resolve("cgroup.procs");
        for (int round = 0; round < 50 && Files.exists(procs); round++) {
            List<String> pids = Files.readAllLines(procs).stream().filter(s -> !s.isBlank()).toList();
            if (pids.isEmpty()) {
                return;
            }
            for (String pid : pids) {
                ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
            }
            sleepBriefly();
        }
    }

    private void killNamespace() throws IOException {
        for (String pid : run("ip", "netns", "pids", namespace()).split("\\s+")) {
            if (!pid.isBlank()) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /// Whether anything still runs in the namespace: after close, nothing should.
    static boolean anythingRunsIn(String namespace) throws IOException {
        if (!run("ip", "netns", "list").contains(namespace)) {
            return false;
        }
        return !run("ip", "netns", "pids", namespace).isBlank();
    }

    /// The names of the course's namespaces that exist now.
    static List<String> namespaces() throws IOException {
        return run("ip", "netns", "list").lines().map(l -> l.split(" ")[0]).filter(n -> n.startsWith("socketlab-")).toList();
    }

    // Waits for the kernel to reap killed tasks; the loops around it check the real state.
    private static void sleepBriefly() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static String run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": no answer within 30 s");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + ": " + out.strip());
            }
            return out;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
    }
}
