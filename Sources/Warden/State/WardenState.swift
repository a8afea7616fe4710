#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the warden remembers across restarts (`$STATE_DIRECTORY/state.json`): per job its
/// Polaris id, crash-loop budget, backoff and gave-up flag, and a pending-create intent.
///
/// The state file is a cache of Polaris, not the truth: when it is missing or corrupt the
/// warden rebuilds it by adoption.
public struct WardenState: Codable, Hashable, Sendable {
    /// Bumped when the format changes; an unknown version is treated as corrupt. 2: every date
    /// is seconds since 1970 (`StateStore` still reads 1, whose other dates were seconds since 2001).
    public static let currentSchemaVersion = 2

    public var schemaVersion: Int = WardenState.currentSchemaVersion
    /// Keyed by the job's config name.
    public var jobs: [String: JobRecord] = [:]

    public init() {}
}

/// One desired job's persistent record.
public struct JobRecord: Codable, Hashable, Sendable {
    public var reconciler: JobReconciler
    /// Set just before a create is sent and cleared when its answer is recorded. If the warden
    /// dies in between, the next start finds the job by adoption instead of creating another.
    public var pendingCreate: PendingCreate?
    /// The desired spec (by fingerprint) the current job was last checked against, and the
    /// answer. When the job or the spec changes, the job's echoed spec is fetched once and
    /// compared: drift is checked on change, not every cycle.
    public var specCheck: SpecCheck?
    /// Stall and parse-error detection from metrics samples (`supervisor.stall`); kept so a
    /// restart does not forget a stall in progress.
    public var stall: StallTracker?

    public init(jobName: String) {
        reconciler = JobReconciler(jobName: jobName)
    }
}

/// A create that was sent, or was about to be, when the state was last written.
public struct PendingCreate: Codable, Hashable, Sendable {
    public var table: String
    public var startedAt: Date
    public var specFingerprint: String

    public init(table: String, startedAt: Date, specFingerprint: String) {
        self.table = table
        self.startedAt = startedAt
        self.specFingerprint = specFingerprint
    }
}
