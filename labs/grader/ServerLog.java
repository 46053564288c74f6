package grading;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/// The last lines the lab's code printed during the current check, so that a failure can say
/// what the server's log says ("the server closed the connection; its log: ... TODO(lab) ...").
public final class ServerLog {

    private static final int KEPT = 50;
    /// Of a line not yet ended, the last characters kept.
    private static final int PARTIAL_KEPT = 4096;
    private static final Deque<String> LINES = new ArrayDeque<>();
    private static final StringBuilder PARTIAL = new StringBuilder();

    private ServerLog() {
    }

    /// A stream that writes to `out` and keeps the last lines.
    static PrintStream tee(OutputStream out) {
        return new PrintStream(new OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                out.write(b);
                keep(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] bytes, int offset, int length) throws java.io.IOException {
                out.write(bytes, offset, length);
                keep(bytes, offset, length);
            }

            @Override
            public void flush() throws java.io.IOException {
                out.flush();
            }
        }, true, StandardCharsets.UTF_8);
    }

    private static synchronized void keep(byte[] bytes, int offset, int length) {
        // Look for a newline only in what is new: a line without end must not cost more each write.
        int from = PARTIAL.length();
        PARTIAL.append(new String(bytes, offset, length, StandardCharsets.UTF_8));
        for (int newline = PARTIAL.indexOf("\n", from); newline >= 0; newline = PARTIAL.indexOf("\n")) {
            LINES.addLast(PARTIAL.substring(0, newline));
            PARTIAL.delete(0, newline + 1);
            if (LINES.size() > KEPT) {
                LINES.removeFirst();
            }
        }
        if (PARTIAL.length() > PARTIAL_KEPT) {
            PARTIAL.delete(0, PARTIAL.length() - PARTIAL_KEPT);
        }
    }

    /// Forgets what earlier checks printed.
    static synchronized void clear() {
        LINES.clear();
        PARTIAL.setLength(0);
    }

    /// The last line printed in this check that reports a failure, or "" when there is none.
    public static synchronized String lastProblem() {
        var lines = LINES.toArray(String[]::new);
        for (int i = lines.length - 1; i >= 0; i--) {
            String line = lines[i];
            if (line.contains("Exception") || line.contains("Error") || line.contains("TODO(lab)") || line.contains("TODO(exercise)") || line.contains("failed")) {
                return line.strip();
            }
        }
        return "";
    }

    /// "; the server's log says: ..." when it says something went wrong, else "".
    public static String hint() {
        String problem = lastProblem();
        return problem.isEmpty() ? "" : "; the server's log says: " + (problem.length() > 300 ? problem.substring(0, 300) + "…" : problem);
    }
}
