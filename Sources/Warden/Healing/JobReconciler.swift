import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The per-job state machine of the self-healing ladder.
///
/// A value type with no I/O: `observe` turns what a cycle saw into actions, `record` learns what
/// happened to them; the clock and the randomness are passed in, so every path is table-tested.
/// The ladder itself is in `JobReconciler+Ladder.swift`, outcomes in `JobReconciler+Outcome.swift`.
///
/// What survives a restart (Codable): the job id, the crash-loop budget (attempt times, backoff
/// exponent, backoff end, gave-up), `needsReplaceRunning`, the recovery count and the
/// reported-once markers. Counters derived from observations (consecutive error/healthy/
/// lost-connection cycles, when a status was first seen) start from zero after a restart: a
/// restart delays healing by at most a threshold and never acts on stale evidence.
public struct JobReconciler: Hashable, Sendable {
    /// A journal event already written, so it is not written again (see `JobReport`).
    enum Marker: String, Hashable, Sendable, CaseIterable {
        case failedObserved, completedObserved, leftCanceled, leftSuspended, unrecognizedStatus
        case drifted, offsetsStale, offsetsReset, unhealthy, stalled, sourceUnreachable
    }

    /// Where the connection test of a lost-connection episode stands.
    enum ConnectionProbe: Hashable, Sendable {
        case idle
        case awaiting
        case passed
        case failed(retestAt: Date)
    }

    public let jobName: String
    /// Our Polaris job id (persisted in the state file).
    public var jobID: String?
    /// Polaris refused the last create because another streaming job holds the table: the next
    /// `.create`/`.recreate` must be sent with `replaceRunning: true`. Cleared when a job is created
    /// or a live job of ours is observed.
    public internal(set) var needsReplaceRunning = false
    /// Healing actions (recreate, replace, resume) that succeeded.
    public internal(set) var recoveries = 0
    public internal(set) var budget = CrashLoopBudget()
    public internal(set) var phase: JobPhase = .creating

    var markers: Set<Marker> = []

    // Observation-derived, not persisted.
    var errorCycles = 0
    var healthyCycles = 0
    var lostConnectionCycles = 0
    var probe = ConnectionProbe.idle
    var lastStatus: ExecutionStatus?
    var statusSince: Date?
    /// A job was just created: if the next listing does not show it yet, wait one cycle
    /// instead of creating another.
    var awaitingListing = false
    /// The last write handed out, and whether it used the budget (for `record`).
    var issuedAction: JobAction?
    var issuedBudgeted = false

    public init(jobName: String) {
        self.jobName = jobName
    }

    /// When the backoff ends (for `STATUS=` "retry in 40s"); nil when no backoff is pending.
    public var nextActionAllowedAt: Date? { budget.nextActionAllowedAt }

    /// Set while the job is in gave-up.
    public var gaveUpSince: Date? { budget.gaveUpSince }

    /// `polaris-warden retry JOB`: leaves gave-up and clears the budget and the backoff, so the next
    /// cycle acts at once.
    public mutating func retry(now: Date) {
        budget = CrashLoopBudget()
        probe = .idle
        if case .gaveUp = phase { phase = .recovering }
    }

    /// A config reload changed this job's spec: leaves gave-up and clears the budget (the new spec
    /// deserves its own attempts); drift is judged afresh against the new spec.
    public mutating func specChanged(now: Date) {
        retry(now: now)
        markers.remove(.drifted)
    }

    /// The cycle adopted an existing (non-terminal) job: it is ours from now on.
    public mutating func adopted(jobID id: String) {
        if id != jobID {
            jobID = id
            forgetJob()
        }
        needsReplaceRunning = false
    }

    /// Forgets everything that belonged to the previous job (a new id or no job).
    mutating func forgetJob() {
        markers = []
        errorCycles = 0
        healthyCycles = 0
        lostConnectionCycles = 0
        probe = .idle
        lastStatus = nil
        statusSince = nil
        awaitingListing = false
    }

    /// Inserts a marker; true when it was not there yet (the report is due).
    mutating func mark(_ marker: Marker) -> Bool {
        markers.insert(marker).inserted
    }
}

extension JobReconciler: Codable {
    private enum CodingKeys: String, CodingKey {
        case jobName, jobID, needsReplaceRunning, recoveries, budget, reported, phase
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        jobName = try container.decode(String.self, forKey: .jobName)
        jobID = try container.decodeIfPresent(String.self, forKey: .jobID)
        needsReplaceRunning = try container.decodeIfPresent(Bool.self, forKey: .needsReplaceRunning) ?? false
        recoveries = try container.decodeIfPresent(Int.self, forKey: .recoveries) ?? 0
        budget = try container.decodeIfPresent(CrashLoopBudget.self, forKey: .budget) ?? CrashLoopBudget()
        // Markers a newer version wrote and this one does not know are dropped.
        let reported = try container.decodeIfPresent([String].self, forKey: .reported) ?? []
        markers = Set(reported.compactMap(Marker.init(rawValue:)))
        // The last phase is kept for `polaris-warden status`; the next observation recomputes it.
        if let since = budget.gaveUpSince {
            phase = .gaveUp(since: since)
        } else if let stored = try? container.decodeIfPresent(JobPhase.self, forKey: .phase) {
            phase = stored
        } else {
            phase = jobID == nil ? .creating : .starting
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(jobName, forKey: .jobName)
        try container.encodeIfPresent(jobID, forKey: .jobID)
        try container.encode(needsReplaceRunning, forKey: .needsReplaceRunning)
        try container.encode(recoveries, forKey: .recoveries)
        try container.encode(budget, forKey: .budget)
        try container.encode(markers.map(\.rawValue).sorted(), forKey: .reported)
        try container.encode(phase, forKey: .phase)
    }
}
