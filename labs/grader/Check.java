package grading;

import java.time.Duration;

/// One graded check of a lab: what it proves, what it is worth, and a hint for a learner whose
/// code fails it. The hint points at the idea, never at the answer.
///
/// A core check proves the lab's main idea: an untouched starter must fail every core check
/// (the build verifies this).
public record Check(String name, int points, boolean core, String hint, Duration limit, Body body) {

    /// The time limit of a check unless it says otherwise.
    public static final Duration DEFAULT_LIMIT = Duration.ofSeconds(20);

    /// The code of a check: returns normally to pass, throws (an `AssertionError` from
    /// [Expect], or anything else) to fail.
    @FunctionalInterface
    public interface Body {
        void run() throws Exception;
    }

    public Check {
        if (points <= 0) {
            throw new IllegalArgumentException("a check is worth at least one point: " + name);
        }
    }

    /// A check of the lab's main idea.
    public static Check core(String name, int points, String hint, Body body) {
        return new Check(name, points, true, hint, DEFAULT_LIMIT, body);
    }

    /// A check of a detail the lab asks for.
    public static Check of(String name, int points, String hint, Body body) {
        return new Check(name, points, false, hint, DEFAULT_LIMIT, body);
    }

    /// The same check with another time limit.
    public Check within(Duration newLimit) {
        return new Check(name, points, core, hint, newLimit, body);
    }
}
