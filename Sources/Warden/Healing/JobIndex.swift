import PolarisAPI
import WardenPlatform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The warden's picture of Polaris' streaming jobs between full sweeps (delta polling).
///
/// A full sweep (every page of the list by creation time, ⌈N/1000⌉ requests) replaces the
/// picture. In between, a delta read walks the list by last update, newest first, only until it
/// reaches jobs not updated since the newest update already seen, less `margin` while that
/// update is recent (an update that became visible late, or two updates in one instant, are read
/// again rather than missed; once the margin has passed, everything at or before the watermark
/// has been read), and merges what it read: one request when nothing changed, whatever N is. Pages shift while they
/// are walked (a job updated mid-walk moves to the top): a job read twice keeps its newest
/// version, and one that moved past the walk is newer than the watermark, so the next read has
/// it. Each delta read also reads the unhealthy subset (`healthStatus=warn|error`), so a health
/// change is seen even if Polaris does not touch `lastUpdatedTimestamp` for it (undocumented:
/// `LiveBehaviour.healthTouchesLastUpdated` plays both readings).
/// Pure: the supervisor does the reads.
public struct JobIndex: Sendable {
    /// Why the next read is a full sweep.
    public enum SweepReason: String, Sendable {
        case start, afterError, schedule, gap, noTimestamps
    }

    /// Jobs in the order they were first seen (a sweep's creation order, then new arrivals).
    public private(set) var jobs: [Job] = []
    private var positions: [String: Int] = [:]
    /// The newest `lastUpdatedTimestamp` read so far.
    public private(set) var watermark: PolarisTimestamp?
    /// When (our clock) the watermark last moved: the margin applies only while it is fresh.
    private var watermarkMovedAt: Date?
    public private(set) var lastSweep: Date?
    private var lastRead: Date?
    private var invalidated = false
    private var timestampsMissing = false

    /// Updates read again below the watermark: clock skew between Polaris' nodes and late
    /// visibility stay inside it.
    public static let margin = Duration.seconds(2)
    /// A full sweep runs at least every this many poll intervals.
    public static let sweepEveryPolls = 10.0
    /// Delta pages are small: a steady cycle reads one.
    public static let deltaPageSize = 100

    public init() {}

    /// Why the next read must be a full sweep, or nil when a delta read will do.
    public func sweepDue(now: Date, pollInterval: Double) -> SweepReason? {
        guard let lastSweep, let lastRead else { return .start }
        if invalidated { return .afterError }
        if timestampsMissing { return .noTimestamps }
        if now.timeIntervalSince(lastRead) > 3 * pollInterval { return .gap }
        if now.timeIntervalSince(lastSweep) >= Self.sweepEveryPolls * pollInterval { return .schedule }
        return nil
    }

    /// A read failed: the picture may have missed changes, so the next read is a sweep.
    public mutating func invalidate() { invalidated = true }

    /// True when the delta walk can stop at `job` (list sorted by last update, newest first):
    /// it and every job after it were read before. Within `margin` of the watermark moving,
    /// jobs up to `margin` older than it are read again; after that, only the newest instant.
    public func isSettled(_ job: Job, now: Date) -> Bool {
        guard let watermark, let updated = job.lastUpdatedTimestamp else { return false }
        let margin = Self.margin.inSeconds
        let fresh = watermarkMovedAt.map { now.timeIntervalSince($0) <= 2 * margin } ?? true
        return updated.date < watermark.date.addingTimeInterval(fresh ? -margin : 0)
    }

    /// A full sweep's result replaces the picture.
    public mutating func absorbSweep(_ swept: [Job], at now: Date) {
        let previous = (watermark, watermarkMovedAt)
        let known = self
        jobs = []
        jobs.reserveCapacity(swept.count)
        positions = [:]
        positions.reserveCapacity(swept.count)
        watermark = nil
        timestampsMissing = false
        for job in swept { place(known.narrowed(job), at: now) }
        // A sweep that found nothing newer has not moved the watermark: the margin is not fresh
        // again (else the next delta read would re-read every job updated near the newest one).
        if let old = previous.0, let new = watermark, new <= old {
            watermarkMovedAt = previous.1
        }
        lastSweep = now
        lastRead = now
        invalidated = false
    }

    /// A delta read: the jobs updated since the watermark (newest first, possibly repeated)
    /// and the current unhealthy subset. A job the index holds as warn/error that is neither
    /// changed nor in the subset is `ok` now (health has no fourth value).
    public mutating func absorbDelta(changed: [Job], unhealthy: [Job], at now: Date) {
        // Oldest first, so of two versions of a job the newest is applied last.
        for job in changed.reversed() { upsert(job, at: now) }
        let unhealthyIDs = Set(unhealthy.map(\.id))
        for job in unhealthy { upsert(job, at: now) }
        let changedIDs = Set(changed.map(\.id))
        for index in jobs.indices where jobs[index].health.status != .ok {
            let id = jobs[index].id
            if !unhealthyIDs.contains(id), !changedIDs.contains(id) { jobs[index].health = .ok }
        }
        lastRead = now
    }

    /// Inserts or replaces a job (narrowed), keeping the newer version when both carry a
    /// last-update time.
    mutating func upsert(_ listed: Job, at now: Date) { place(narrowed(listed), at: now) }

    /// `upsert` of a job already narrowed.
    private mutating func place(_ job: Job, at now: Date) {
        if let updated = job.lastUpdatedTimestamp {
            if watermark.map({ updated > $0 }) ?? true {
                watermark = updated
                watermarkMovedAt = now
            }
        } else {
            timestampsMissing = true
        }
        if let index = positions[job.id] {
            if let known = jobs[index].lastUpdatedTimestamp, let updated = job.lastUpdatedTimestamp, updated < known {
                return
            }
            jobs[index] = job
        } else {
            positions[job.id] = jobs.count
            jobs.append(job)
        }
    }
}

extension JobIndex {
    /// `listed.narrowed`, or the job the index already holds when that is what it would be:
    /// a sweep finds most jobs unchanged, and keeping the one copy the index has (instead of
    /// allocating another per job and sweep) keeps a 10,000-job sweep from doubling the picture.
    public func narrowed(_ listed: Job) -> Job {
        if let index = positions[listed.id], jobs[index].isNarrowed(from: listed) { return jobs[index] }
        return listed.narrowed
    }
}

extension Job {
    /// Whether this job is `listed.narrowed`, compared member by member without building it.
    func isNarrowed(from listed: Job) -> Bool {
        self.id == listed.id && self.type == listed.type && self.executionStatus == listed.executionStatus
            && self.desiredExecutionStatus == listed.desiredExecutionStatus && self.health == listed.health
            && self.createdTimestamp == listed.createdTimestamp
            && self.lastUpdatedTimestamp == listed.lastUpdatedTimestamp && self.targetTable == listed.targetTable
            && self.connectionName == listed.connectionName && self.createdBy == nil && self.lastModifiedBy == nil
            && self.startedTimestamp == nil && self.completedTimestamp == nil && self.spec == nil
            && self.otherFields.isEmpty
    }

    /// What the warden keeps of a listed job: identity, status, health, times and the names of
    /// its table and connection. The rest of a list summary (who made it, the streaming members
    /// repeated at the top level, the source's format settings) is dropped: at 10,000 jobs it
    /// was most of the picture's memory.
    public var narrowed: Job {
        Job(
            id: self.id, type: self.type, executionStatus: self.executionStatus,
            desiredExecutionStatus: self.desiredExecutionStatus, health: self.health,
            createdTimestamp: self.createdTimestamp, lastUpdatedTimestamp: self.lastUpdatedTimestamp,
            target: targetTable.map { .object(["tableName": .string($0)]) },
            source: connectionName.map { .object(["connectionName": .string($0)]) })
    }
}
