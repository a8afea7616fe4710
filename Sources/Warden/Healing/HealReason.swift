/// Why a job is recreated or replaced (`WARDEN_ACTION` detail in the journal).
public enum HealReason: String, Hashable, Sendable, Codable, CaseIterable {
    /// The job is `failed`.
    case failed
    /// The job is `canceled` and `onCanceled` is `recreate`.
    case canceled
    /// The job is `completed`: a streaming job should never complete, so it is treated like `failed`.
    case completed
    /// `error` health for `unhealthyThreshold` cycles.
    case unhealthy
    /// `lost_connection_to_source` persisted and the connection test passed.
    case lostConnection
    /// The job's spec differs from the desired one and `onSpecDrift` is `replace`.
    case specDrift
    /// `pending` for longer than `pendingTimeoutSeconds`.
    case stalledPending
    /// `unknown` for longer than `unknownTimeoutSeconds`.
    case stalledUnknown
    /// `running` with health `ok` but no rows read for `stall.afterSeconds` (`action: replace`).
    case stalledIngestion
}
