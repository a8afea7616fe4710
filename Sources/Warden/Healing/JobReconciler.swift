import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The per-job state machine of the self-healing ladder.
///
/// A value type with no I/O, after async-http-client's `HTTP1ConnectionStateMachine`: where the
/// job stands is one enum (`Standing`) whose cases carry the evidence that belongs to them, and
/// each event — `observe`, `record(_:of:…)`, `retry`, `specChanged` — returns one `JobStep`
/// (journal reports plus at most one write that carries everything needed to perform it). The
/// clock and the randomness are passed in, so every path is table-tested. The ladder is in
/// `JobReconciler+Ladder.swift`, outcomes in `JobReconciler+Outcome.swift`.
///
/// What survives a restart (Codable): the job id, the crash-loop budget (attempt times, backoff
/// exponent, backoff end, gave-up), whether the table is held by another job, the recovery
/// count and the reported-once markers. The evidence counted from observations (consecutive
/// error/healthy/lost-connection cycles, when a status was first seen) starts from zero after a
/// restart: a restart delays healing by at most a threshold and never acts on stale evidence.
public struct JobReconciler: Hashable, Sendable {
    /// A journal event already written, so it is not written again (see `JobReport`).
    enum Marker: String, Hashable, Sendable, CaseIterable {
        case failedObserved, completedObserved, leftCanceled, leftSuspended, unrecognizedStatus
        case drifted, offsetsStale, offsetsReset, unhealthy, stalled, sourceUnreachable

        /// Its bit in `Markers`.
        var bit: UInt16 {
            switch self {
            case .failedObserved: 1 << 0
            case .completedObserved: 1 << 1
            case .leftCanceled: 1 << 2
            case .leftSuspended: 1 << 3
            case .unrecognizedStatus: 1 << 4
            case .drifted: 1 << 5
            case .offsetsStale: 1 << 6
            case .offsetsReset: 1 << 7
            case .unhealthy: 1 << 8
            case .stalled: 1 << 9
            case .sourceUnreachable: 1 << 10
            }
        }
    }

    /// The markers set, as bits: every job's are read and changed several times a cycle, and a
    /// `Set` of a `String`-backed enum hashed each case's name every time (BENCHMARKS.md).
    struct Markers: Hashable, Sendable, ExpressibleByArrayLiteral {
        private var bits: UInt16 = 0

        init(arrayLiteral markers: Marker...) { self.init(markers) }

        init(_ markers: some Sequence<Marker>) {
            for marker in markers { bits |= marker.bit }
        }

        func contains(_ marker: Marker) -> Bool { bits & marker.bit != 0 }

        /// Sets `marker`; true when it was not set yet.
        @discardableResult
        mutating func insert(_ marker: Marker) -> Bool {
            defer { bits |= marker.bit }
            return !contains(marker)
        }

        mutating func remove(_ marker: Marker) { bits &= ~marker.bit }

        mutating func subtract(_ markers: [Marker]) {
            for marker in markers { remove(marker) }
        }

        /// The names of the markers set, sorted (the state file's `reported`).
        var names: [String] { Marker.allCases.filter(contains).map(\.rawValue).sorted() }
    }

    /// Where the connection test of a lost-connection episode stands.
    enum ConnectionProbe: Hashable, Sendable {
        case idle
        case awaiting
        case passed
        case failed(retestAt: Date)
    }

    /// What the cycles saw of our job since this run first saw it in its current id.
    struct Evidence: Hashable, Sendable {
        var status: ExecutionStatus
        /// When `status` was first seen (pending/unknown timeouts).
        var since: Date
        /// Polaris refused our last create because another job holds the table; kept while our
        /// job is terminal, so the recreate takes the table over.
        var tableHeld = false
        var errorCycles = 0
        var healthyCycles = 0
        var lostConnectionCycles = 0
        var probe = ConnectionProbe.idle
    }

    /// Where the job stands with Polaris.
    enum Standing: Hashable, Sendable {
        /// No job of ours exists: a create is due. `tableHeld`: Polaris refused the last create
        /// because another streaming job holds the table, so the next one takes it over.
        case noJob(tableHeld: Bool)
        /// A create was answered with this id: until a listing shows the job, wait rather than
        /// create another.
        case created(jobID: String)
        /// Our job's id is known but this run has not seen it in a listing yet: restored from
        /// the state file, adopted, or created and missing from one listing.
        case unseen(jobID: String, tableHeld: Bool)
        /// Our job as the cycles see it.
        case seen(jobID: String, Evidence)
    }

    public let jobName: String
    var standing = Standing.noJob(tableHeld: false)
    /// Healing writes (recreate, replace, resume) that succeeded.
    public internal(set) var recoveries = 0
    public internal(set) var budget = CrashLoopBudget()
    /// Where the job stands, as shown (`STATUS=`, `status`, the demo); the output of the last event.
    public internal(set) var phase: JobPhase = .creating
    var markers: Markers = []

    public init(jobName: String) {
        self.jobName = jobName
    }

    /// Our Polaris job id (persisted in the state file); nil when no job of ours exists.
    public var jobID: String? {
        switch standing {
        case .noJob: nil
        case .created(let id), .unseen(let id, _), .seen(let id, _): id
        }
    }

    /// The next create or recreate must be sent with `replaceRunning: true`: Polaris refused
    /// the last one because another streaming job holds the table.
    public var needsReplaceRunning: Bool {
        switch standing {
        case .noJob(let held), .unseen(_, let held): held
        case .created: false
        case .seen(_, let evidence): evidence.tableHeld
        }
    }

    /// When the backoff ends (for `STATUS=` "retry in 40s"); nil when no backoff is pending.
    public var nextActionAllowedAt: Date? { budget.nextActionAllowedAt }

    /// Set while the job is in gave-up.
    public var gaveUpSince: Date? { budget.gaveUpSince }

    /// `polaris-warden retry JOB`: leaves gave-up and clears the budget and the backoff, so the
    /// next cycle acts at once. Nothing to write or report now: the next `observe` decides.
    @discardableResult
    public mutating func retry(now: Date) -> JobStep {
        budget = CrashLoopBudget()
        updateEvidence { $0.probe = .idle }
        if case .gaveUp = phase { phase = .recovering }
        return JobStep()
    }

    /// A config reload changed this job's spec: leaves gave-up and clears the budget (the new
    /// spec deserves its own attempts); drift is judged afresh against the new spec.
    @discardableResult
    public mutating func specChanged(now: Date) -> JobStep {
        retry(now: now)
        markers.remove(.drifted)
        return JobStep()
    }

    /// The cycle adopted an existing (non-terminal) job: it is ours from now on.
    public mutating func adopted(jobID id: String) {
        guard id == jobID else {
            markers = []
            standing = .unseen(jobID: id, tableHeld: false)
            return
        }
        switch standing {
        case .unseen: standing = .unseen(jobID: id, tableHeld: false)
        case .seen: updateEvidence { $0.tableHeld = false }
        case .noJob, .created: break
        }
    }

    /// Changes the evidence when the job has been seen (no-op otherwise).
    mutating func updateEvidence(_ change: (inout Evidence) -> Void) {
        guard case .seen(let id, var evidence) = standing else { return }
        change(&evidence)
        standing = .seen(jobID: id, evidence)
    }

    /// Records Polaris' refusal of a create because another job holds the table.
    mutating func noteTableHeld() {
        switch standing {
        case .noJob: standing = .noJob(tableHeld: true)
        case .unseen(let id, _): standing = .unseen(jobID: id, tableHeld: true)
        case .seen(let id, var evidence):
            evidence.tableHeld = true
            standing = .seen(jobID: id, evidence)
        case .created: break
        }
    }

    /// Inserts a marker; true when it was not there yet (the report is due).
    mutating func mark(_ marker: Marker) -> Bool {
        markers.insert(marker)
    }
}

extension JobReconciler: Codable {
    private enum CodingKeys: String, CodingKey {
        case jobName, jobID, needsReplaceRunning, recoveries, budget, reported, phase
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        jobName = try container.decode(String.self, forKey: .jobName)
        let jobID = try container.decodeIfPresent(String.self, forKey: .jobID)
        let tableHeld = try container.decodeIfPresent(Bool.self, forKey: .needsReplaceRunning) ?? false
        standing = jobID.map { .unseen(jobID: $0, tableHeld: tableHeld) } ?? .noJob(tableHeld: tableHeld)
        recoveries = try container.decodeIfPresent(Int.self, forKey: .recoveries) ?? 0
        budget = try container.decodeIfPresent(CrashLoopBudget.self, forKey: .budget) ?? CrashLoopBudget()
        // Markers a newer version wrote and this one does not know are dropped.
        let reported = try container.decodeIfPresent([String].self, forKey: .reported) ?? []
        markers = Markers(reported.compactMap(Marker.init(rawValue:)))
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
        try container.encode(markers.names, forKey: .reported)
        try container.encode(phase, forKey: .phase)
    }
}
