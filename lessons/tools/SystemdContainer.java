///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/// Tool · SystemdContainer — boots a real systemd as PID 1 in a container, with lesson 18 in it.
///
/// Run it (as root): `./jbang lessons/tools/SystemdContainer.java`: a shell inside the container, where
/// `systemctl start 18_Daemon.socket` works for real; `exit` powers the container off.
/// Read: docs/chapters/18-daemon.adoc ("Under a real systemd") · Test: lessons/test/DaemonUnderSystemdTest.java
///
/// The container is Debian's minimal system with systemd, made once by `debootstrap` and kept in
/// ~/.cache/socketlab/. `systemd-nspawn` boots it with a private network (only its own loopback, so
/// port 1234 inside is free whatever runs outside), a throwaway layer over the file system (nothing
/// the container writes is kept), and the JDK and lesson 18 bound in read-only.
class SystemdContainer implements AutoCloseable {
    static final String SUITE = "bookworm";
    static final String PACKAGES = "systemd,systemd-sysv,dbus";
    static final String DEFAULT_MIRROR = "http://deb.debian.org/debian";
    /// Where the unit expects the lesson: its ExecStart= line names this folder.
    static final String LESSON_DIR = "/opt/socket-lab/lessons";
    static final List<String> LESSON_FILES = List.of("18_Daemon.java", "18_Daemon.service", "18_Daemon.socket");
    static final Duration BOOT_LIMIT = Duration.ofMinutes(2);
    static final Duration COMMAND_LIMIT = Duration.ofMinutes(1);

    /// What a command printed (standard output and error together) and how it ended.
    record Result(int status, String output) {
        boolean ok() {
            return status == 0;
        }
    }

    private final Process nspawn;
    private final int leader;
    private final Path bootLog;
    private final Thread cleanupAtExit;
    private boolean closed;

    private SystemdContainer(Process nspawn, int leader, Path bootLog) {
        this.nspawn = nspawn;
        this.leader = leader;
        this.bootLog = bootLog;
        // A JVM ended by a signal (Ctrl-C, a test runner's timeout) still powers the container off.
        this.cleanupAtExit = new Thread(this::close, "container cleanup");
        Runtime.getRuntime().addShutdownHook(cleanupAtExit);
    }

    /// Null when this machine can boot the container; otherwise the reason, in one line.
    static String whyItCannotRun() {
        if (!isRoot()) return "needs root: systemd-nspawn and debootstrap run as root only";
        for (String tool : List.of("systemd-nspawn", "debootstrap", "nsenter")) {
            if (!onPath(tool)) return "needs " + tool + " (Debian: apt-get install systemd-container debootstrap util-linux)";
        }
        return null;
    }

    /// The container's file system, made by debootstrap the first time (about a minute, 240 MB).
    /// It is built in a temporary folder and renamed when complete: a half-built one is never used.
    static Path rootfs() throws IOException, InterruptedException {
        Path cache = cacheFolder();
        Path rootfs = cache.resolve("rootfs-" + SUITE);
        if (Files.isRegularFile(rootfs.resolve("usr/lib/systemd/systemd"))) return rootfs;
        Files.createDirectories(cache);
        Path partial = Files.createTempDirectory(cache, "rootfs-" + SUITE + ".partial-");
        try {
            Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rwxr-xr-x"));  // it becomes /
            String mirror = debianMirror();
            System.out.printf("building %s with debootstrap from %s (once; it is kept)%n", rootfs, mirror);
            Result built = exec(Duration.ofMinutes(20), List.of("debootstrap", "--variant=minbase",
                    "--include=" + PACKAGES, SUITE, partial.toString(), mirror));
            if (!built.ok()) {
                throw new IOException("debootstrap failed with status " + built.status() + ":\n" + tail(built.output()));
            }
            try {
                Files.move(partial, rootfs, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                // Another run finished first: use its copy.
                if (!Files.isRegularFile(rootfs.resolve("usr/lib/systemd/systemd"))) throw raced;
            }
        } finally {
            if (Files.exists(partial)) removeTree(partial);
        }
        return rootfs;
    }

    static Path cacheFolder() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("socketlab");
    }

    /// The Debian mirror apt uses here (/etc/apt/sources.list*), so that debootstrap needs no other.
    static String debianMirror() throws IOException {
        List<Path> sources = new ArrayList<>();
        if (Files.isRegularFile(Path.of("/etc/apt/sources.list"))) sources.add(Path.of("/etc/apt/sources.list"));
        if (Files.isDirectory(Path.of("/etc/apt/sources.list.d"))) {
            try (Stream<Path> listed = Files.list(Path.of("/etc/apt/sources.list.d"))) {
                listed.filter(p -> p.toString().endsWith(".list") || p.toString().endsWith(".sources"))
                        .sorted().forEach(sources::add);
            }
        }
        for (Path file : sources) {
            String text = Files.readString(file);
            // One-line style: deb [options] URI SUITE COMPONENTS
            Matcher line = Pattern.compile("(?m)^deb\\s+(?:\\[[^]]*]\\s+)?(\\S+)\\s+" + SUITE + "\\s").matcher(text);
            if (line.find()) return line.group(1);
            // deb822 style: a paragraph with Types: deb, URIs: ..., Suites: ... SUITE ...
            for (String paragraph : text.split("\\n\\s*\\n")) {
                Matcher uris = Pattern.compile("(?mi)^URIs:\\s*(\\S+)").matcher(paragraph);
                if (paragraph.matches("(?si).*^Types:[^\\n]*\\bdeb\\b.*")
                        && paragraph.matches("(?si).*^Suites:[^\\n]*(?<![-\\w])" + SUITE + "(?![-\\w]).*")
                        && uris.find()) {
                    return uris.group(1);
                }
            }
        }
        return DEFAULT_MIRROR;
    }

    /// Boots the container and waits until its systemd has finished starting up.
    /// `jdk` is bound where the unit's ExecStart= expects it, the lesson's files in LESSON_DIR.
    static SystemdContainer boot(Path rootfs, Path lessons, Path jdk) throws IOException, InterruptedException {
        String jdkInUnit = jdkNamedBy(lessons.resolve("18_Daemon.service"));
        Path bootLog = Files.createTempFile("socketlab-container", ".log");
        List<String> command = new ArrayList<>(List.of("systemd-nspawn", "--quiet",
                "--directory=" + rootfs, "--machine=socketlab-" + ProcessHandle.current().pid(),
                "--boot",                    // run systemd as PID 1, as a real machine does
                "--register=no", "--keep-unit",  // no systemd on the host to register with
                "--private-network",         // its own loopback only
                "--volatile=overlay",        // writes go to a throwaway layer, the cached rootfs stays clean
                "--system-call-filter=bpf",  // nspawn forbids bpf(), which IPAddressDeny= needs
                "--console=read-only",
                "--bind-ro=" + jdk.toRealPath() + ":" + jdkInUnit));
        for (String file : LESSON_FILES) {
            command.add("--bind-ro=" + lessons.resolve(file).toRealPath() + ":" + LESSON_DIR + "/" + file);
        }
        Process nspawn = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectErrorStream(true).redirectOutput(bootLog.toFile()).start();
        long deadline = System.nanoTime() + BOOT_LIMIT.toNanos();
        int leader = -1;
        while (leader < 0) {
            if (!nspawn.isAlive()) {
                throw new IOException("systemd-nspawn ended with status " + nspawn.exitValue() + ":\n"
                        + tail(Files.readString(bootLog)));
            }
            if (System.nanoTime() > deadline) {
                nspawn.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new IOException("the container did not start within " + BOOT_LIMIT);
            }
            leader = containerInit(nspawn.pid());
            if (leader < 0) Thread.sleep(50);      // the child has not entered its namespaces yet
        }
        var container = new SystemdContainer(nspawn, leader, bootLog);
        try {
            // systemctl talks to PID 1 through this socket, which systemd makes early in the boot.
            Path privateBus = Path.of("/proc", String.valueOf(leader), "root/run/systemd/private");
            while (!Files.exists(privateBus)) {
                if (System.nanoTime() > deadline || !nspawn.isAlive()) {
                    throw new IOException("systemd did not start in the container\n" + container.bootLog());
                }
                Thread.sleep(50);
            }
            // Wait for the boot to finish; "degraded" means it finished with a failed unit.
            Result state = container.run(BOOT_LIMIT, "systemctl", "is-system-running", "--wait");
            if (!state.output().strip().matches("running|degraded")) {
                throw new IOException("the container's systemd is '" + state.output().strip() + "'\n" + container.bootLog());
            }
            return container;
        } catch (IOException | RuntimeException e) {
            container.close();
            throw e;
        }
    }

    /// The container's PID 1 as this host numbers it: the child of nspawn that is PID 1 in its own
    /// PID namespace (its /proc status says "NSpid: <host pid> 1").
    static int containerInit(long nspawnPid) throws IOException {
        for (ProcessHandle child : ProcessHandle.of(nspawnPid).map(p -> p.children().toList()).orElse(List.of())) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(child.pid()), "status"))) {
                    if (line.startsWith("NSpid:") && line.trim().endsWith("\t1") && line.trim().split("\\s+").length == 3) {
                        return (int) child.pid();
                    }
                }
            } catch (IOException gone) {
                // The child ended while we looked: try again.
            }
        }
        return -1;
    }

    /// The JDK folder the unit runs: `ExecStart=/x/y/bin/java ...` gives /x/y.
    static String jdkNamedBy(Path unit) throws IOException {
        Matcher execStart = Pattern.compile("(?m)^ExecStart=(/\\S+)/bin/java\\s").matcher(Files.readString(unit));
        if (!execStart.find()) throw new IOException(unit + " has no ExecStart=/…/bin/java line");
        return execStart.group(1);
    }

    /// The container's PID 1, as this host numbers it.
    int leader() {
        return leader;
    }

    /// Runs a command inside the container: nsenter joins all the namespaces of its PID 1
    /// (mounts, processes, network, ...), which is what `machinectl shell` would do.
    Result run(String... command) throws IOException, InterruptedException {
        return run(COMMAND_LIMIT, command);
    }

    Result run(Duration limit, String... command) throws IOException, InterruptedException {
        return exec(limit, inside(command));
    }

    /// The command line that runs `command` in the container.
    List<String> inside(String... command) {
        List<String> line = new ArrayList<>(List.of("nsenter", "--target=" + leader, "--all", "--"));
        line.addAll(List.of(command));
        return line;
    }

    /// The command line that runs a program of this host in the container's network only: it sees
    /// the container's loopback, and port 1234 there is the container's.
    List<String> inNetwork(String... command) {
        List<String> line = new ArrayList<>(List.of("nsenter", "--target=" + leader, "--net", "--"));
        line.addAll(List.of(command));
        return line;
    }

    /// Copies the units to /etc/systemd/system and reloads, as the chapter's install steps do.
    Result installUnits() throws IOException, InterruptedException {
        return run("sh", "-c", "cp " + LESSON_DIR + "/18_Daemon.service " + LESSON_DIR + "/18_Daemon.socket "
                + "/etc/systemd/system/ && systemctl daemon-reload");
    }

    String bootLog() throws IOException {
        return Files.exists(bootLog) ? tail(Files.readString(bootLog)) : "";
    }

    /// Powers the container off and waits for it; kills it where it does not stop. Always safe to call.
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            if (nspawn.isAlive()) {
                exec(Duration.ofSeconds(20), inside("systemctl", "poweroff"));
                nspawn.waitFor(30, TimeUnit.SECONDS);
            }
            if (nspawn.isAlive()) {
                // Killing PID 1 of a PID namespace kills every process in it; nspawn then cleans up.
                ProcessHandle.of(leader).filter(p -> p.parent().map(n -> n.pid() == nspawn.pid()).orElse(false))
                        .ifPresent(ProcessHandle::destroyForcibly);
                nspawn.waitFor(10, TimeUnit.SECONDS);
            }
            if (nspawn.isAlive()) nspawn.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(bootLog);
        } catch (IOException | InterruptedException e) {
            nspawn.destroyForcibly();
        } finally {
            if (Thread.currentThread() != cleanupAtExit) {
                try {
                    Runtime.getRuntime().removeShutdownHook(cleanupAtExit);
                } catch (IllegalStateException exiting) {
                    // The JVM is shutting down already; the hook does no harm.
                }
            }
        }
    }

    boolean isRunning() {
        return nspawn.isAlive() || ProcessHandle.of(leader).isPresent();
    }

    /// Mounts on this host below `folder` (there should be none once the container is gone).
    static List<String> mountsBelow(Path folder) throws IOException {
        String prefix = folder.toAbsolutePath().toString();
        return Files.readAllLines(Path.of("/proc/self/mounts")).stream()
                .filter(line -> line.split(" ")[1].replace("\\040", " ").startsWith(prefix)).toList();
    }

    /// Deletes a folder, after unmounting whatever an interrupted debootstrap left mounted in it.
    static void removeTree(Path folder) throws IOException, InterruptedException {
        List<String> mounts = new ArrayList<>(mountsBelow(folder));
        for (String mount : mounts.reversed()) exec(Duration.ofSeconds(30), List.of("umount", "-l", mount.split(" ")[1]));
        exec(Duration.ofMinutes(5), List.of("rm", "-rf", "--one-file-system", folder.toString()));
    }

    /// Runs a command on this host, with a plain environment, and waits at most `limit`.
    static Result exec(Duration limit, List<String> command) throws IOException, InterruptedException {
        var builder = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> environment = builder.environment();
        environment.clear();
        environment.putAll(Map.of("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG", "C.UTF-8", "SYSTEMD_PAGER", "", "SYSTEMD_COLORS", "0", "TERM", "dumb"));
        Process process = builder.start();
        process.getOutputStream().close();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()));
        if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new IOException(String.join(" ", command) + " did not finish within " + limit);
        }
        try {
            return new Result(process.exitValue(), output.get(10, TimeUnit.SECONDS));
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("reading the output of " + String.join(" ", command), e);
        }
    }

    static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(output unreadable: " + e.getMessage() + ")";
        }
    }

    static String tail(String text) {
        List<String> lines = text.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    }

    static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .anyMatch(line -> line.matches("Uid:\\s+0\\s.*"));
        } catch (IOException e) {
            return false;
        }
    }

    static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin";
        return Stream.of(path.split(":")).anyMatch(folder -> !folder.isEmpty() && Files.isExecutable(Path.of(folder, tool)));
    }

    static final String USAGE = """
            Usage: ./jbang lessons/tools/SystemdContainer.java [--help]      (as root, from the repository)

            Boots systemd as PID 1 in a container (Debian %s, built once with debootstrap into
            %s), with the JDK and lesson 18 bound in read-only and its units installed,
            then opens a shell inside. Try there:
              systemctl start 18_Daemon.socket
              systemctl status 18_Daemon.socket 18_Daemon.service
              journalctl -u 18_Daemon.service
              systemd-analyze security 18_Daemon.service
            and talk to the daemon from another terminal on this machine (the command is printed).
            'exit' powers the container off and removes it; nothing stays running or mounted.
            """.formatted(SUITE, cacheFolder().resolve("rootfs-" + SUITE));

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            boolean help = args[0].equals("--help") || args[0].equals("-h");
            if (!help) System.err.println("error: unknown argument: " + args[0]);
            System.err.print(USAGE);
            System.exit(help ? 0 : 2);
        }
        String why = whyItCannotRun();
        if (why != null) {
            System.err.println("Cannot boot the container: " + why + ".");
            System.exit(1);
        }
        Path lessons = Path.of("lessons");
        if (!Files.isRegularFile(lessons.resolve("18_Daemon.service"))) {
            System.err.println("Run this from the repository's top folder: lessons/18_Daemon.service is not here.");
            System.exit(1);
        }
        Path jdk = Path.of(System.getProperty("java.home"));
        try (var container = boot(rootfs(), lessons, jdk)) {
            Result installed = container.installUnits();
            if (!installed.ok()) throw new IOException("installing the units failed:\n" + installed.output());
            System.out.printf("""
                    systemd is PID 1 in the container (PID %d on this host); lesson 18's units are installed.
                    From another terminal on this host, in the container's network:
                      nsenter --target=%d --net nc -N 127.0.0.1 1234
                    Type 'exit' to power the container off.
                    %n""", container.leader(), container.leader());
            Process shell = new ProcessBuilder(container.inside("bash", "-l")).inheritIO().start();
            shell.waitFor();
        }
        System.out.println("The container is powered off and removed.");
    }
}
