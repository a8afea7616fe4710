import PolarisAPI

/// A journal event the state machine wants written. Each is emitted once per occurrence
/// (documented per case), never once per cycle.
public enum JobReport: Hashable, Sendable {
    /// Our job is `failed` (once per job id), with its health code and message.
    case failedObserved(code: String?, message: String?)
    /// Our streaming job is `completed`, which it should never be (once per job id).
    case completedObserved(code: String?, message: String?)
    /// `error` health reached `unhealthyThreshold` (once per unhealthy episode, with the replace).
    case unhealthy(consecutive: Int, code: String?, message: String?)
    /// The spec drifted and `onSpecDrift` is `report` (once per drift episode of a job).
    case drifted
    /// `pending`/`unknown` past its timeout (once per episode, with the replace).
    case stalled(ExecutionStatus, seconds: Int)
    /// `lost_connection_to_source` and the connection test fails: a source or IAM problem the
    /// warden cannot fix (once per episode; re-tests stay quiet).
    case sourceUnreachable(message: String)
    /// The job is `canceled` and `onCanceled` is `leave` (once per job id).
    case leftCanceled
    /// The job is `suspended` and `onSuspended` is `leave` (once per suspension).
    case leftSuspended
    /// An `executionStatus` this version does not know; nothing is written (once per status).
    case unrecognizedStatus(String)
    /// Stale offsets (health `warn`/`unable_to_proceed`); `resetting` tells whether a reset
    /// follows (once per episode).
    case offsetsStale(resetting: Bool)
    /// Polaris refused a create because another streaming job holds the table; the next create
    /// is sent with `replaceRunning: true`.
    case tableHeld
    /// An action failed. Terminal (4xx validation) failures are not retried before
    /// `retryInSeconds` (the longest backoff) and count against the crash-loop budget.
    case actionFailed(JobAction, terminal: Bool, message: String, retryInSeconds: Int)
    /// A write whose outcome is unknown (timeout after sending): the next cycle adopts
    /// whatever exists instead of posting again.
    case outcomeUnknown(JobAction, message: String)
    /// The crash-loop budget is exhausted: no writes until `retry`, a spec change or the window
    /// passing. Exactly once per gave-up period (the one critical event).
    case gaveUp(attempts: Int, windowSeconds: Int)
    /// The oldest attempt left the window: the job leaves gave-up by itself.
    case leftGaveUp
    /// `healthyThreshold` healthy cycles after trouble: counters and backoff reset.
    case recovered
}
