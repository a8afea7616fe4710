import Logging
import PolarisAPI
import WardenPlatform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Match and decide (docs/architecture.md, "One reconcile cycle", steps 3–5): which Polaris job is ours, has it drifted, and
/// what its state machine wants next. Reads Polaris; writes nothing.
extension JobSupervisor {
    /// - Parameter held: desired jobs whose writes an incident holds this cycle: matched and
    ///   shown, not judged (their state machines do not move, so no budget is used).
    /// - Parameter replaceForStall: jobs whose ingestion stalled with `stall.action: replace`.
    func decide(jobs: [Job], held: Set<String>, replaceForStall: Set<String>) async -> [Decision] {
        let matches = JobMatcher.matches(desired: config.jobs, polarisJobs: jobs) { state.jobs[$0]?.reconciler.jobID }
        let date = now()
        var decisions: [Decision] = []
        decisions.reserveCapacity(config.jobs.count)
        var driftChecksLeft = driftChecksPerCycle
        for (position, job) in config.jobs.enumerated() {
            var record = state.jobs[job.name] ?? JobRecord(jobName: job.name)
            let match = matches[position]
            if let found = match.job, match.adopted {
                record.reconciler.adopted(jobID: found.id)
            }
            if let found = match.job, !found.executionStatus.isTerminal { record.pendingCreate = nil }
            if !held.isEmpty, held.contains(job.name) {
                decisions.append(
                    Decision(
                        job: job, record: record, observed: match.job, adopted: match.adopted, specDrifted: false,
                        step: JobStep()))
                continue
            }
            if let intent = record.pendingCreate, match.job?.executionStatus.isTerminal ?? true,
                date.timeIntervalSince(intent.startedAt) < createSettleSeconds
            {
                // A create whose answer was lost may still land in Polaris: give it time to show
                // up in the list (and be adopted) before sending another.
                decisions.append(
                    Decision(
                        job: job, record: record, observed: match.job, adopted: false, specDrifted: false,
                        step: JobStep()))
                continue
            }
            let drifted = await checkDrift(
                of: job, observed: match.job, record: &record, checksLeft: &driftChecksLeft)
            let observation = JobObservation(
                job: match.job.map {
                    LiveJob(
                        id: $0.id, executionStatus: $0.executionStatus, health: $0.health,
                        createdTimestamp: $0.createdTimestamp)
                },
                specDrifted: drifted,
                connectionTest: pendingConnectionTests.isEmpty ? nil : pendingConnectionTests[job.name],
                failureAttributed: match.job.map {
                    incidents.attribute(LiveJob($0), connection: job.connectionName) != .job
                } ?? false, replaceForStall: !replaceForStall.isEmpty && replaceForStall.contains(job.name))
            let step = record.reconciler.observe(
                observation, settings: config.supervisor, now: date, random: &random)
            if step.write?.action == .replace(reason: .stalledIngestion) { record.stall?.replacedForStall = true }
            decisions.append(
                Decision(
                    job: job, record: record, observed: match.job, adopted: match.adopted, specDrifted: drifted,
                    step: step))
        }
        return decisions
    }

    /// Drift checks (one `GET /jobs/{id}` each) allowed per cycle: half of what the rate limit
    /// allows in one poll interval, at least 10.
    var driftChecksPerCycle: Int {
        max(10, Int(config.polaris.maxRequestsPerSecond * config.supervisor.pollIntervalSeconds / 2))
    }

    /// How long an unanswered create may take to appear in the job list: two request timeouts,
    /// and at least one poll interval.
    var createSettleSeconds: Double {
        max(config.polaris.requestTimeoutSeconds * 2, config.supervisor.pollIntervalSeconds)
    }

    /// `SpecFingerprint.of(job.spec)`, remembered per job: encoding every desired spec each
    /// cycle was a third of the warden's CPU time at 10,000 jobs. The comparison with the
    /// remembered spec is O(1) while the config is unchanged (they share storage).
    func fingerprint(of job: DesiredJob) -> String {
        if let known = fingerprints[job.name], known.spec == job.spec { return known.fingerprint }
        let fingerprint = SpecFingerprint.of(job.spec)
        fingerprints[job.name] = (job.spec, fingerprint)
        return fingerprint
    }

    /// Drift is checked when the job or the desired spec changed since the last check: one
    /// `GET /jobs/{id}` then, never one per job per cycle.
    func checkDrift(
        of job: DesiredJob, observed: Job?, record: inout JobRecord, checksLeft: inout Int
    ) async -> Bool {
        guard let observed, !observed.executionStatus.isTerminal else { return false }
        let fingerprint = fingerprint(of: job)
        if let check = record.specCheck, check.jobID == observed.id, check.fingerprint == fingerprint {
            return check.drifted
        }
        // Unchecked until a later cycle: a first start adopting thousands of jobs must not
        // spend minutes of GETs before READY=1.
        guard checksLeft > 0 else { return false }
        checksLeft -= 1
        guard let full = try? await client.getJob(id: observed.id), let echoed = full.spec else { return false }
        let check = SpecCheck(
            jobID: observed.id, fingerprint: fingerprint,
            differences: SpecDrift.differences(desired: job.spec, live: echoed))
        record.specCheck = check
        return check.drifted
    }
}
