package grading;

/// What one check scored: full points or none, and why it failed.
public record Outcome(Check check, boolean passed, String message, long millis) {

    public int points() {
        return passed ? check.points() : 0;
    }

    static Outcome pass(Check check, long millis) {
        return new Outcome(check, true, "", millis);
    }

    static Outcome fail(Check check, String message, long millis) {
        return new Outcome(check, false, message, millis);
    }
}
