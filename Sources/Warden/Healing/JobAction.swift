/// A write the state machine asks for: one Polaris request for one job.
public enum JobAction: Hashable, Sendable {
    /// No job exists: `POST /jobs` with the desired spec.
    case create
    /// Our job is terminal (`failed`, `canceled`, `completed`): a new job with the same spec.
    case recreate(reason: HealReason)
    /// Our job is alive but bad: `POST /jobs` with `replaceRunning: true`.
    case replace(reason: HealReason)
    /// `POST /jobs/{id}/status` `{"desiredExecutionStatus":"running"}`.
    case resume(jobID: String)
    /// `POST /jobs/{id}/reset`; only ever asked for when `autoResetOffsets` is on.
    case resetOffsets(jobID: String)
    /// `POST /connections/{name}/test`; the result comes back in the next observation's
    /// `connectionTest` (no outcome is recorded unless the request itself failed).
    case testConnection

    /// `POST /jobs`: a new job (so an intent goes on disk first, and an answer carries its id).
    public var postsJob: Bool {
        switch self {
        case .create, .recreate, .replace: true
        case .resume, .resetOffsets, .testConnection: false
        }
    }

    /// A short kebab-case name for `WARDEN_ACTION` and the metrics' `action` label.
    public var name: String {
        switch self {
        case .create: "create"
        case .recreate: "recreate"
        case .replace: "replace"
        case .resume: "resume"
        case .resetOffsets: "reset-offsets"
        case .testConnection: "test-connection"
        }
    }

    /// How `plan` and `doctor` say it: `recreate (failed)`.
    public var summary: String {
        switch self {
        case .create: "create"
        case .recreate(let reason): "recreate (\(reason.rawValue))"
        case .replace(let reason): "replace (\(reason.rawValue))"
        case .resume: "resume"
        case .resetOffsets: "reset offsets"
        case .testConnection: "test the connection"
        }
    }
}

/// A write with everything needed to perform and account for it: the executor reads nothing
/// else, and `JobReconciler.record(_:of:…)` is given the same value back.
public struct JobWrite: Hashable, Sendable {
    public var action: JobAction
    /// Send `replaceRunning: true`: every replace, and a create or recreate after Polaris said
    /// another streaming job holds the table.
    public var replaceRunning: Bool
    /// The write took one crash-loop attempt when it was issued (a recreate or replace of the
    /// job's own failure); a write that never reached Polaris gives it back.
    public var consumesBudget: Bool

    public init(_ action: JobAction, replaceRunning: Bool = false, consumesBudget: Bool = false) {
        self.action = action
        self.replaceRunning = replaceRunning
        self.consumesBudget = consumesBudget
    }
}

/// What one event of the state machine returns: the journal events due, in order, and at most
/// one write.
public struct JobStep: Hashable, Sendable {
    public var reports: [JobReport]
    public var write: JobWrite?

    public init(reports: [JobReport] = [], write: JobWrite? = nil) {
        self.reports = reports
        self.write = write
    }

    /// Nothing to write or report.
    public var isEmpty: Bool { reports.isEmpty && write == nil }
}
