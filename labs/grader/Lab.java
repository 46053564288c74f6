package grading;

import java.util.List;

/// The graded checks of one lab. Each lab has one class implementing this, in its `checks/`
/// folder, named like the file (`LineEchoChecks.java` holds `LineEchoChecks`).
public interface Lab {

    /// The lab's title, shown above its table: "Line echo server".
    String title();

    /// The checks, in the order a learner should make them pass.
    List<Check> checks();
}
