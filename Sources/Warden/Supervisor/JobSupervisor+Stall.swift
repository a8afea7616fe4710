import Logging
import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Silent-stall and parse-error detection (`supervisor.stall`): metrics of running jobs read
/// within a share of the rate limit, round robin, fed to each job's `StallTracker`.
extension JobSupervisor {
    /// Samples this cycle's share of running jobs; returns the jobs to replace for a stall.
    func sampleStalls(jobs: [Job]) async -> Set<String> {
        let date = now()
        // Most configs watch no job: then this costs one pass over the config, no index of the
        // listed jobs (it was a dictionary of every job, built every cycle).
        lazy var byID: [String: Job] = Dictionary(jobs.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var candidates: [String] = []
        var watched: [String: (DesiredJob, SupervisorSettings.Stall)] = [:]
        let dropStaleTrackers = stallTrackersMayBeStale
        stallTrackersMayBeStale = false
        for job in config.jobs {
            guard let settings = job.stallSettings(config.supervisor) else {
                if dropStaleTrackers, state.jobs[job.name]?.stall != nil { state.jobs[job.name]?.stall = nil }
                continue
            }
            guard var record = state.jobs[job.name], let id = record.reconciler.jobID, let observed = byID[id]
            else { continue }
            if record.stall?.jobID != id { record.stall = StallTracker(jobID: id, now: date) }
            if observed.executionStatus == .running {
                candidates.append(job.name)
                watched[job.name] = (job, settings)
            } else {
                record.stall?.pause(now: date)
            }
            state.jobs[job.name] = record
        }
        guard !candidates.isEmpty else {
            metrics?.stallSampled(reads: 0, stalled: 0)
            return []
        }
        // Least recently sampled first (kept in the state file), so a restart does not start the
        // rotation over at the first name.
        let picked = StallSampler.leastRecentlySampled(
            candidates.map { ($0, state.jobs[$0]?.stall?.lastSampledAt) }, budget: stallBudgetPerCycle)

        let client = self.client
        let reads: [(String, String, IngestionJobTotals?)] = await withTaskGroup(
            of: (String, String, IngestionJobTotals?).self
        ) { group in
            var results: [(String, String, IngestionJobTotals?)] = []
            var iterator = picked.makeIterator()
            func startNext() -> Bool {
                guard let name = iterator.next(), let id = state.jobs[name]?.stall?.jobID else { return false }
                group.addTask { (name, id, try? await client.jobMetrics(id: id)) }
                return true
            }
            for _ in 0..<max(1, config.supervisor.maxConcurrentActions) where !startNext() { break }
            while let result = await group.next() {
                results.append(result)
                _ = startNext()
            }
            return results
        }

        var replace: Set<String> = []
        let sampledAt = now()
        for (name, id, totals) in reads {
            guard let totals, let (job, settings) = watched[name], var record = state.jobs[name],
                var tracker = record.stall, tracker.jobID == id
            else { continue }
            let healthy = byID[id]?.health.status == .ok
            let events = tracker.sample(
                totals, healthy: healthy, now: sampledAt, afterSeconds: settings.afterSeconds,
                maxParseExceptions: job.maxParseExceptions)
            for event in events { log(event, job: job, observed: byID[id]) }
            record.stall = tracker
            state.jobs[name] = record
        }
        var stalled = 0
        for name in candidates {
            guard var tracker = state.jobs[name]?.stall, tracker.isStalled else { continue }
            stalled += 1
            // A replace that did not become a job (refused, answered ambiguously, or lost with a
            // warden killed after its intent): the stalled job is still ours and no create is in
            // flight, so this stall has not been replaced yet.
            if tracker.replacedForStall, state.jobs[name]?.pendingCreate == nil,
                state.jobs[name]?.reconciler.jobID == tracker.jobID
            {
                tracker.replacedForStall = false
                state.jobs[name]?.stall = tracker
            }
            if watched[name]?.1.action == .replace, !tracker.replacedForStall { replace.insert(name) }
        }
        metrics?.stallSampled(reads: reads.count, stalled: stalled)
        return replace
    }

    /// Metrics reads per cycle: `stall.metricsShare` of the rate limit over one poll interval.
    var stallBudgetPerCycle: Int {
        StallSampler.budgetPerCycle(
            share: stallMetricsShare,
            maxRequestsPerSecond: config.polaris.maxRequestsPerSecond,
            pollSeconds: config.supervisor.pollIntervalSeconds)
    }

    /// `stall.metricsShare`, or its default when only jobs turn detection on.
    var stallMetricsShare: Double { (config.supervisor.stall ?? SupervisorSettings.Stall()).metricsShare }

    /// A warning when the metrics budget cannot read every watched job at least every
    /// `afterSeconds / 3`; nil when it can (or detection is off). Logged at start and shown by `plan`.
    public func stallCoverageWarning() -> String? {
        let watched = config.jobs.compactMap { $0.stallSettings(config.supervisor) }
        guard let shortest = watched.map(\.afterSeconds).min() else { return nil }
        let poll = config.supervisor.pollIntervalSeconds
        let needed = StallSampler.neededPerCycle(jobs: watched.count, afterSeconds: shortest, pollSeconds: poll)
        let budget = stallBudgetPerCycle
        guard needed > budget else { return nil }
        let interval = Int((Double(watched.count) / Double(budget)).rounded(.up) * poll)
        return
            "stall detection: \(watched.count) jobs need \(needed) metrics reads per poll to be read every "
            + "\(Int(max(poll, shortest / 3))) s, but the budget (\(Int(stallMetricsShare * 100)) % "
            + "of \(Self.format(config.polaris.maxRequestsPerSecond))/s) allows \(budget): each job is read about every "
            + "\(interval) s, so stalls are found later; raise stall.metricsShare or maxRequestsPerSecond"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    func log(_ event: StallTracker.Event, job: DesiredJob, observed: Job?) {
        var metadata = jobMetadata(job, observed: observed)
        switch event {
        case .stalled(let seconds, let total):
            metadata["WARDEN_STALL_SEC"] = "\(seconds)"
            metadata["WARDEN_ROWS"] = "\(total)"
            logger.log(
                event: .jobStalled,
                "job \(job.name) is running with health ok but read no rows for \(seconds)s (rows: \(total))",
                metadata: metadata)
        case .cleared(let seconds, let total):
            metadata["WARDEN_STALL_SEC"] = "\(seconds)"
            metadata["WARDEN_ROWS"] = "\(total)"
            logger.log(
                event: .jobStallCleared, "job \(job.name) reads rows again after a \(seconds)s stall (rows: \(total))",
                metadata: metadata)
        case .parseErrors(let count, let limit, let critical):
            metadata["WARDEN_PARSE_ERRORS"] = "\(count)"
            metadata["WARDEN_MAX_PARSE_EXCEPTIONS"] = "\(limit)"
            let text =
                "job \(job.name) skipped \(count) rows it could not parse (maxParseExceptions \(limit))"
                + (critical ? ": past 80 %, Polaris fails the job at the limit" : "")
            logger.log(
                level: critical ? .error : WardenEvent.jobParseErrors.priority, "\(text)",
                metadata: metadata.merging(WardenEvent.jobParseErrors.metadata) { _, event in event })
        }
    }
}
