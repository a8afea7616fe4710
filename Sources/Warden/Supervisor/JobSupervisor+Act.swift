import Logging
import PolarisAPI
import WardenPlatform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Act and persist (docs/architecture.md, "One reconcile cycle", steps 6–7): intents on disk before creates, writes with
/// bounded concurrency, outcomes back into each job's state machine, events for each result.
extension JobSupervisor {
    func commit(_ decisions: [Decision]) async {
        // Kept only where a refused fleet record must roll the cycle back: a copy of the state
        // costs a second set of records (megabytes at 10,000 jobs) once a record changes.
        let before = authority == nil ? nil : state
        var writes: [(DesiredJob, JobWrite)] = []
        let date = now()
        // Grown once, not doubled step by step while the first cycle adds every job's record.
        state.jobs.reserveCapacity(decisions.count)
        for decision in decisions {
            let name = decision.job.name
            if !pendingConnectionTests.isEmpty { pendingConnectionTests[name] = nil }
            if let observed = decision.observed { lastObserved[name] = observed } else { lastObserved[name] = nil }
            if decision.adopted, let observed = decision.observed {
                logger.log(
                    event: .jobAdopted, "adopted existing job \(observed.id) for \(name)",
                    metadata: jobMetadata(decision.job, observed: observed))
            }
            var record = decision.record
            for report in decision.step.reports {
                log(report, job: decision.job, observed: decision.observed, record: record)
            }
            if let write = decision.step.write {
                if write.action.postsJob {
                    record.pendingCreate = PendingCreate(
                        table: decision.job.table, startedAt: date, specFingerprint: fingerprint(of: decision.job))
                }
                writes.append((decision.job, write))
            }
            state.jobs[name] = record
        }
        guard !writes.isEmpty else { return }
        // The intent is on disk before any create is sent: a crash now ends in adoption.
        if writes.contains(where: { $0.1.action.postsJob }) { persist() }
        // With wardens sharing the project, the intents are in the fleet's store first, in a
        // transaction that checks the lease: a warden that lost it cannot record them, so it
        // sends nothing (its state is reloaded from the store when it leads again).
        if let authority {
            do {
                try await authority.record(state)
                lastRecorded = state.persistedDigest
            } catch {
                // Nothing was sent: the next cycle (or the next leader) decides afresh.
                if let before { state = before }
                logger.warning("\(writes.count) writes not sent: \(error)")
                return
            }
        }
        await execute(ordered(writes))
    }

    /// `HealOrder`: priority, then the oldest failure first, then name.
    func ordered(_ writes: [(DesiredJob, JobWrite)]) -> [(DesiredJob, JobWrite)] {
        guard writes.count > 1 else { return writes }
        let keyed = writes.map { write in
            let since = lastObserved[write.0.name]?.lastUpdatedTimestamp?.date
            return (write, HealOrder.Key(name: write.0.name, priority: write.0.priority, since: since))
        }
        return keyed.sorted { HealOrder.precedes($0.1, $1.1) }.map(\.0)
    }

    /// One write finished: the watchdog hears of it every time, `STATUS=` at most once a second.
    func noteWriteFinished() {
        guard var progress = healProgress else { return }
        progress.done += 1
        healProgress = progress
        guard let progressHandler else { return }
        let instant = clock.now
        if let last = lastProgressStatus, last.duration(to: instant) < .seconds(1) {
            progressHandler(nil)
            return
        }
        lastProgressStatus = instant
        let line = statusLine()
        store?.saveProgress(progress.summary(now: now()))
        progressHandler(line)
    }

    func execute(_ writes: [(DesiredJob, JobWrite)]) async {
        let client = self.client
        let limit = max(1, config.supervisor.maxConcurrentActions)
        healProgress = HealProgress(
            total: writes.count, startedAt: now(), nominalRate: config.polaris.maxRequestsPerSecond)
        lastProgressStatus = nil
        defer {
            healProgress = nil
            store?.saveProgress(nil)
        }
        await withTaskGroup(of: (DesiredJob, JobWrite, ActionExecutor.Result).self) { group in
            var iterator = writes.makeIterator()
            // A long heal may outlast the lease: each write asks first (self-fencing).
            func startNext() async -> Bool {
                guard let (job, write) = iterator.next(), await mayWrite() else { return false }
                group.addTask {
                    let result = await ActionExecutor.perform(write, for: job, client: client)
                    return (job, write, result)
                }
                return true
            }
            for _ in 0..<limit where !(await startNext()) { break }
            while let (job, write, result) = await group.next() {
                apply(result, of: write, for: job)
                noteWriteFinished()
                _ = await startNext()
            }
        }
    }

    func apply(_ result: ActionExecutor.Result, of write: JobWrite, for job: DesiredJob) {
        let action = write.action
        let date = now()
        var record = state.jobs[job.name] ?? JobRecord(jobName: job.name)
        metrics?.actionFinished(action: action.name, outcome: WardenMetrics.ActionResult(result))
        if let test = result.connectionTest { pendingConnectionTests[job.name] = test }
        if let outcome = result.outcome {
            let followUp = record.reconciler.record(
                outcome, of: write, settings: config.supervisor, now: date, random: &random)
            for report in followUp.reports {
                log(report, job: job, observed: lastObserved[job.name], record: record)
            }
        }
        var metadata = jobMetadata(job, observed: lastObserved[job.name])
        metadata["WARDEN_ACTION"] = "\(action.name)"
        switch result.outcome {
        case .created(let id):
            record.pendingCreate = nil
            let drift = record.specCheck?.differences ?? []
            record.specCheck = SpecCheck(jobID: id, fingerprint: fingerprint(of: job), differences: [])
            metadata["POLARIS_JOB_ID"] = "\(id)"
            if let previous = lastObserved[job.name]?.id, previous != id {
                metadata["POLARIS_PREVIOUS_JOB_ID"] = "\(previous)"
            }
            if case .create = action {
            } else {
                // Which recovery of the crash-loop window this was (1 = first).
                metadata["WARDEN_ATTEMPT"] = "\(record.reconciler.budget.attempts.count)"
            }
            switch action {
            case .recreate(let reason):
                logger.log(
                    event: .jobRecreated, "recreated \(job.name) as \(id) (\(reason.rawValue))", metadata: metadata)
            case .replace(let reason):
                var detail = ""
                if reason == .specDrift, !drift.isEmpty {
                    metadata["WARDEN_DRIFT"] = "\(SpecDriftText.summary(drift))"
                    detail = ": " + SpecDriftText.summary(drift)
                }
                logger.log(
                    event: .jobReplaced, "replaced \(job.name) with \(id) (\(reason.rawValue))\(detail)",
                    metadata: metadata)
            default:
                logger.log(event: .jobCreated, "created \(job.name) as \(id)", metadata: metadata)
            }
        case .resumed:
            logger.log(event: .jobResumed, "resumed \(job.name)", metadata: metadata)
        case .resetDone:
            logger.log(event: .jobReset, "reset the offsets of \(job.name)", metadata: metadata)
        case .ambiguous(let message):
            logger.log(event: .jobActionFailed, "\(action.name) of \(job.name): \(message)", metadata: metadata)
        case .failed, .tableHeldByAnotherJob:
            if action.postsJob {
                record.pendingCreate = nil
                createRefused = true
            }
            logger.log(
                event: .jobActionFailed,
                "\(action.name) of \(job.name) failed: \(result.error?.description ?? "refused")", metadata: metadata)
        case nil:
            if case .failed(let message) = result.connectionTest {
                metadata["POLARIS_CONNECTION"] = "\(job.connectionName)"
                logger.debug("connection test failed: \(message)", metadata: metadata)
            }
        }
        state.jobs[job.name] = record
    }

    /// True on a single host; with `highAvailability`, while this warden holds the lease.
    func mayWrite() async -> Bool {
        guard let authority else { return true }
        return await authority.mayWrite()
    }

    /// With `highAvailability`: the state in the fleet's store when it changed, fenced by the
    /// lease (the next leader starts from it). A refusal is logged; the writes already stopped.
    /// `digest` is the state's `persistedDigest`, computed once for this and `persist`.
    func recordFleetState(digest: PersistedDigest) async {
        guard let authority, lastRecorded != digest else { return }
        do {
            try await authority.record(state)
            lastRecorded = digest
        } catch {
            logger.warning("the fleet state was not recorded: \(error)")
        }
    }

    /// Writes the state file when what it holds changed (or `unchangedRewriteInterval` passed):
    /// a steady cycle changes nothing persisted, and encoding plus fsync of every record each
    /// cycle dominated the warden's CPU time at 10,000 jobs. `known` is the state's
    /// `persistedDigest` when the caller has it already (hashing every record is per-job work).
    func persist(digest known: PersistedDigest? = nil) {
        guard let store else { return }
        let date = now()
        let digest = known ?? state.persistedDigest
        if let last = lastPersisted, last.digest == digest,
            abs(date.timeIntervalSince(last.at)) < Self.unchangedRewriteInterval
        {
            return
        }
        do {
            try store.save(state)
            lastPersisted = (digest, date)
        } catch {
            lastPersisted = nil
            logger.error("could not write the state file: \(error)")
        }
    }
}
