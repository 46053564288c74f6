package grading;

import java.time.Duration;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/// What checks assert with. A failed expectation throws an `AssertionError` whose message is the
/// line a learner reads in the table, so say what was expected and what happened.
public final class Expect {

    private Expect() {
    }

    public static void that(boolean condition, String failureMessage) {
        if (!condition) {
            throw new AssertionError(failureMessage);
        }
    }

    public static void equal(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual)) {
            throw new AssertionError(what + ": expected " + show(expected) + ", got " + show(actual));
        }
    }

    /// Waits until the condition holds, looking every 10 ms, at most `limit`.
    public static void eventually(Duration limit, BooleanSupplier condition, String failureMessage) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(failureMessage + " (waited " + limit.toMillis() + " ms)");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
        }
    }

    /// The same, with a failure message made when the wait is over (so that it can say what it saw).
    public static void eventually(Duration limit, BooleanSupplier condition, java.util.function.Supplier<String> failureMessage) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(failureMessage.get() + " (waited " + limit.toMillis() + " ms)");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
        }
    }

    /// Runs `body`, which must throw a `type`; returns what it threw.
    public static <T extends Throwable> T throwsA(Class<T> type, Check.Body body, String what) {
        try {
            body.run();
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
            if (t instanceof UnsupportedOperationException todo && String.valueOf(todo.getMessage()).matches("TODO\\((lab|exercise)\\).*")) {
                throw todo;                         // reported as "not written yet"
            }
            throw new AssertionError(what + ": expected " + type.getSimpleName() + ", got "
                    + CheckRunner.describe(t), t);
        }
        throw new AssertionError(what + ": expected " + type.getSimpleName() + ", but nothing was thrown");
    }

    public static String show(Object value) {
        if (value == null) {
            return "nothing";
        }
        String text = value instanceof String s ? Report.quote(s) : String.valueOf(value);
        return text.length() > 120 ? text.substring(0, 117) + "..." : text;
    }
}
