/// What happened when the executor carried out a `JobAction`; fed back with `JobReconciler.record`.
public enum ActionOutcome: Hashable, Sendable {
    /// A create, recreate or replace succeeded.
    case created(jobID: String)
    case resumed
    case resetDone
    /// Polaris refused a create: another streaming job holds the table.
    case tableHeldByAnotherJob
    /// `terminal`: a 4xx validation error, retrying the same request cannot help; otherwise
    /// transient (5xx, 429, connection refused).
    case failed(terminal: Bool, message: String)
    /// A create whose outcome is unknown (timeout after sending): adopt next cycle, never
    /// blindly re-POST.
    case ambiguous(message: String)
}
