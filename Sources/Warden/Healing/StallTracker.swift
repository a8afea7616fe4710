import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Silent-stall and parse-error detection for one job, from its metrics samples. Pure: the
/// supervisor reads `GET /jobs/{id}/metrics` and passes the totals and the time in.
///
/// A job that is `running` with health `ok` but whose row counts (processed, with warnings,
/// skipped by filter or by error: any sign it read data) have not grown for `afterSeconds` is
/// stalled. "Not grown since" is measured from the sample that last showed growth, so a stall is
/// never declared early; it is declared at most `afterSeconds` plus two sample intervals after
/// ingestion stopped. A new or resumed job starts its clock when first sampled (a grace of
/// `afterSeconds`). Persisted in the state file, so a restart does not forget a stall.
public struct StallTracker: Codable, Hashable, Sendable {
    /// The Polaris job the samples belong to; another id starts afresh.
    public var jobID: String
    public var lastTotal: Int64?
    /// The time of the sample that last showed growth (or of the first sample).
    public var lastGrowthAt: Date
    public var stalledSince: Date?
    /// The job was replaced for the current stall (`action: replace` does it once per stall).
    public var replacedForStall = false
    public var lastSkippedByError: Int64?
    public var parseErrorsReportedAt: Date?
    public var parseErrorsCritical = false
    public var lastSampledAt: Date?

    /// Warnings about parse errors are logged at most this often per job.
    public static let parseErrorReportInterval: Double = 3600
    /// Parse errors past this share of `maxParseExceptions` are an error, not a warning.
    public static let parseErrorCriticalShare = 0.8

    public init(jobID: String, now: Date) {
        self.jobID = jobID
        self.lastGrowthAt = now
    }

    public enum Event: Hashable, Sendable {
        case stalled(secondsWithoutGrowth: Int, total: Int64)
        case cleared(stalledSeconds: Int, total: Int64)
        case parseErrors(count: Int64, maxParseExceptions: Int64, critical: Bool)
    }

    public var isStalled: Bool { stalledSince != nil }

    /// Any sign the job read data.
    public static func total(_ totals: IngestionJobTotals) -> Int64 {
        (totals.numRowsProcessed ?? 0) + (totals.numRowsProcessedWithWarning ?? 0)
            + (totals.numRowsSkippedByFilter ?? 0) + (totals.numRowsSkippedByError ?? 0)
    }

    /// One sample of a `running` job. `healthy` is health `ok`: a job with a warning or an
    /// error is the ladder's business, not a silent stall.
    public mutating func sample(
        _ totals: IngestionJobTotals, healthy: Bool, now: Date, afterSeconds: Double, maxParseExceptions: Int64
    ) -> [Event] {
        var events: [Event] = []
        lastSampledAt = now
        let total = Self.total(totals)
        if lastTotal == nil {
            lastGrowthAt = now  // the first sample (of a new, resumed or formerly idle job) starts the clock
        } else if let last = lastTotal, total != last {
            lastGrowthAt = now
            if let since = stalledSince {
                events.append(.cleared(stalledSeconds: Int(now.timeIntervalSince(since)), total: total))
            }
            stalledSince = nil
            replacedForStall = false
        } else if lastTotal != nil, healthy, stalledSince == nil, now.timeIntervalSince(lastGrowthAt) >= afterSeconds {
            stalledSince = now
            events.append(.stalled(secondsWithoutGrowth: Int(now.timeIntervalSince(lastGrowthAt)), total: total))
        }
        lastTotal = total

        let skipped = totals.numRowsSkippedByError ?? 0
        if let previous = lastSkippedByError, skipped > previous {
            let critical = Double(skipped) > Self.parseErrorCriticalShare * Double(maxParseExceptions)
            let due =
                parseErrorsReportedAt.map { now.timeIntervalSince($0) >= Self.parseErrorReportInterval } ?? true
            if due || (critical && !parseErrorsCritical) {
                events.append(.parseErrors(count: skipped, maxParseExceptions: maxParseExceptions, critical: critical))
                parseErrorsReportedAt = now
                parseErrorsCritical = critical
            }
        }
        lastSkippedByError = skipped
        return events
    }

    /// The job is not ingesting on purpose (idle, pending, suspended): its clock restarts, so a
    /// quiet stream is never a stall and a resumed job gets its grace period.
    public mutating func pause(now: Date) {
        lastGrowthAt = now
        lastTotal = nil
        if stalledSince != nil { stalledSince = nil }
        replacedForStall = false
    }
}

/// Which running jobs to sample this cycle, within the metrics budget.
public enum StallSampler {
    /// Metrics reads allowed per cycle: `metricsShare` of what the rate limit allows in one poll.
    public static func budgetPerCycle(share: Double, maxRequestsPerSecond: Double, pollSeconds: Double) -> Int {
        max(1, Int(share * maxRequestsPerSecond * pollSeconds))
    }

    /// Reads per cycle needed so each of `jobs` is read at least every `afterSeconds / 3`.
    public static func neededPerCycle(jobs: Int, afterSeconds: Double, pollSeconds: Double) -> Int {
        guard jobs > 0 else { return 0 }
        let interval = max(pollSeconds, afterSeconds / 3)
        return Int((Double(jobs) * pollSeconds / interval).rounded(.up))
    }

    /// Up to `budget` of `candidates`, the least recently sampled first (never sampled before
    /// all others, then by name): every candidate gets its turn within ⌈n / budget⌉ cycles, and
    /// the order survives a restart because the sample times are in the state file.
    public static func leastRecentlySampled(_ candidates: [(name: String, lastSampledAt: Date?)], budget: Int)
        -> [String]
    {
        guard budget > 0 else { return [] }
        let ordered = candidates.sorted { lhs, rhs in
            switch (lhs.lastSampledAt, rhs.lastSampledAt) {
            case (nil, .some): return true
            case (.some, nil): return false
            case (let left?, let right?) where left != right: return left < right
            default: return lhs.name < rhs.name
            }
        }
        return ordered.prefix(budget).map(\.name)
    }
}
