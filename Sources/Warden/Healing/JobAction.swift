/// What the state machine asks the executor to do for one job. At most one action other than
/// `.report` comes out of one `observe`.
public enum JobAction: Hashable, Sendable {
    /// No job exists: `POST /jobs` with the desired spec. When `JobReconciler.needsReplaceRunning`
    /// is true (Polaris refused the previous create because another job holds the table), send it
    /// with `replaceRunning: true`; such a create is budgeted like a replace.
    case create
    /// Our job is terminal (`failed`, `canceled`, `completed`): a new job with the same spec.
    /// Also sent with `replaceRunning: true` when `needsReplaceRunning` is true.
    case recreate(reason: HealReason)
    /// Our job is alive but bad: `POST /jobs` with `replaceRunning: true`.
    case replace(reason: HealReason)
    /// `POST /jobs/{id}/status` `{"desiredExecutionStatus":"running"}`.
    case resume(jobID: String)
    /// `POST /jobs/{id}/reset`; only ever emitted when `autoResetOffsets` is on.
    case resetOffsets(jobID: String)
    /// `POST /connections/{name}/test`; the result comes back in the next observation's
    /// `connectionTest` (no `record` needed unless the request itself failed).
    case testConnection
    /// A journal event only, no API call.
    indirect case report(JobReport)
}
