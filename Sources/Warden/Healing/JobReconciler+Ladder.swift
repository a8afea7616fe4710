import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The self-healing ladder: one observation in, at most one write out.
extension JobReconciler {
    /// What the ladder wants before crash-loop protection has its say.
    enum Intent {
        /// Nothing to write; the phase to show.
        case wait(JobPhase)
        /// A write; `budgeted` writes consume a crash-loop attempt; `phase` is shown once it is out.
        case write(JobAction, budgeted: Bool, phase: JobPhase)
        /// Test the connection: not a change to the job, so backoff does not hold it back.
        case probe
    }

    /// `lost_connection_to_source`: Polaris lost a source it had connected to (warn).
    static let lostConnectionCode = "lost_connection_to_source"
    /// Taken as the stale-offset signal: an inference, Polaris documents no dedicated code; a job
    /// whose checkpoint expired or whose stream was recreated cannot proceed from its offsets.
    static let staleOffsetsCode = "unable_to_proceed"

    /// Judges one cycle's observation: reports and at most one write.
    public mutating func observe(
        _ observation: JobObservation, settings: SupervisorSettings, now: Date,
        random: inout some RandomNumberGenerator
    ) -> JobStep {
        var step = JobStep()
        let waitForListing = track(observation, settings: settings, now: now, reports: &step.reports)
        budget.expire(now: now, settings: settings.recreate)
        if let since = budget.gaveUpSince {
            guard budget.hasRoom(settings.recreate) else {
                updateEvidence { $0.probe = .idle }
                phase = .gaveUp(since: since)
                return step
            }
            budget.leaveGaveUp()
            step.reports.append(.leftGaveUp)
        }

        let intent =
            waitForListing
            ? .wait(.starting) : decide(observation, settings: settings, now: now, reports: &step.reports)
        switch intent {
        case .wait(let waiting):
            phase = waiting
        case .probe:
            updateEvidence { $0.probe = .awaiting }
            step.write = JobWrite(.testConnection)
            phase = .unhealthy
        case .write(let action, let ownFailure, let issuedPhase):
            let budgeted = ownFailure && !observation.failureAttributed
            if budgeted, !budget.hasRoom(settings.recreate) {
                budget.giveUp(at: now)
                updateEvidence { $0.probe = .idle }
                step.reports.append(
                    .gaveUp(attempts: budget.attempts.count, windowSeconds: Int(settings.recreate.windowSeconds)))
                phase = .gaveUp(since: now)
            } else if let until = budget.nextActionAllowedAt, now < until {
                phase = .backingOff(until: until)
            } else {
                if budgeted { budget.consume(at: now, settings: settings.recreate, random: &random) }
                if case .resetOffsets = action { markers.insert(.offsetsReset) }
                let takesOver: Bool
                switch action {
                case .replace: takesOver = true
                case .create, .recreate: takesOver = needsReplaceRunning
                case .resume, .resetOffsets, .testConnection: takesOver = false
                }
                step.write = JobWrite(action, replaceRunning: takesOver, consumesBudget: budgeted)
                phase = issuedPhase
            }
        }
        return step
    }

    /// Updates where the job stands and the evidence; runs every cycle, gave-up or not, so a
    /// healthy period is noticed whatever the machine is waiting for. True when a job was just
    /// created and the listing does not show it yet: wait a cycle rather than create another.
    mutating func track(
        _ observation: JobObservation, settings: SupervisorSettings, now: Date, reports: inout [JobReport]
    ) -> Bool {
        guard let job = observation.job else {
            switch standing {
            case .created(let id):
                standing = .unseen(jobID: id, tableHeld: false)
                return true
            case .noJob:
                break
            case .unseen(_, let held):
                standing = .noJob(tableHeld: held)
                markers = []
            case .seen(_, let evidence):
                standing = .noJob(tableHeld: evidence.tableHeld)
                markers = []
            }
            return false
        }
        let status = job.executionStatus
        var evidence: Evidence
        switch standing {
        case .seen(let id, let known) where id == job.id:
            evidence = known
            if status != evidence.status {
                evidence.status = status
                evidence.since = now
                markers.subtract([.stalled, .unrecognizedStatus])
            }
        case .unseen(let id, let held) where id == job.id:
            evidence = Evidence(status: status, since: now, tableHeld: held)
            markers.subtract([.stalled, .unrecognizedStatus])
        default:
            // Another job than the one we knew (or none): nothing of the old one carries over.
            evidence = Evidence(status: status, since: now, tableHeld: needsReplaceRunning)
            markers = []
        }
        if !status.isTerminal { evidence.tableHeld = false }
        if status != .suspended { markers.remove(.leftSuspended) }

        let live = status == .running || status == .idle
        let health = job.health
        if live, health.status == .warn, health.code == Self.lostConnectionCode {
            evidence.lostConnectionCycles += 1
        } else {
            evidence.lostConnectionCycles = 0
            evidence.probe = .idle
            markers.remove(.sourceUnreachable)
        }
        if !(live && health.status == .warn && health.code == Self.staleOffsetsCode) {
            markers.remove(.offsetsStale)
        }

        // Hysteresis: one `ok` does not clear the error count (flapping still accumulates); only
        // `healthyThreshold` consecutive `ok` cycles do, and they also reset the backoff.
        if live {
            switch health.status {
            case .ok:
                evidence.healthyCycles += 1
                if evidence.healthyCycles >= settings.healthyThreshold {
                    let troubled = evidence.errorCycles > 0 || budget.consecutive > 0 || markers.contains(.unhealthy)
                    evidence.errorCycles = 0
                    markers.remove(.unhealthy)
                    budget.resetBackoff()
                    if troubled { reports.append(.recovered) }
                }
            case .error:
                evidence.errorCycles += 1
                evidence.healthyCycles = 0
            case .warn, .unrecognized:
                evidence.healthyCycles = 0
            }
        }
        standing = .seen(jobID: job.id, evidence)
        return false
    }

    /// The evidence of the job seen this cycle (`track` always leaves a seen job in `.seen`).
    var evidence: Evidence {
        if case .seen(_, let evidence) = standing { return evidence }
        return Evidence(status: .unknown, since: .distantPast)
    }

    /// The ladder's rows, in priority order.
    mutating func decide(
        _ observation: JobObservation, settings: SupervisorSettings, now: Date, reports: inout [JobReport]
    ) -> Intent {
        guard let job = observation.job else {
            return .write(.create, budgeted: needsReplaceRunning, phase: .creating)
        }
        let health = job.health
        switch job.executionStatus {
        case .failed:
            if mark(.failedObserved) { reports.append(.failedObserved(code: health.code, message: health.message)) }
            return .write(.recreate(reason: .failed), budgeted: true, phase: .recovering)
        case .completed:
            if mark(.completedObserved) {
                reports.append(.completedObserved(code: health.code, message: health.message))
            }
            return .write(.recreate(reason: .completed), budgeted: true, phase: .recovering)
        case .canceled:
            switch settings.onCanceled {
            case .recreate:
                return .write(.recreate(reason: .canceled), budgeted: true, phase: .recovering)
            case .leave:
                if mark(.leftCanceled) { reports.append(.leftCanceled) }
                return .wait(.canceledLeft)
            }
        case .suspended:
            switch settings.onSuspended {
            case .resume:
                return .write(.resume(jobID: job.id), budgeted: false, phase: .recovering)
            case .leave:
                if mark(.leftSuspended) { reports.append(.leftSuspended) }
                return .wait(.suspendedLeft)
            }
        case .unrecognized(let raw):
            if mark(.unrecognizedStatus) { reports.append(.unrecognizedStatus(raw)) }
            return .wait(.unrecognized(raw))
        case .pending, .unknown, .running, .idle:
            return decideAlive(job, observation, settings: settings, now: now, reports: &reports)
        }
    }

    /// A job that is not terminal, suspended or unrecognized.
    mutating func decideAlive(
        _ job: LiveJob, _ observation: JobObservation, settings: SupervisorSettings, now: Date,
        reports: inout [JobReport]
    ) -> Intent {
        if observation.specDrifted {
            switch settings.onSpecDrift {
            case .replace:
                return .write(.replace(reason: .specDrift), budgeted: true, phase: .recovering)
            case .report:
                if mark(.drifted) { reports.append(.drifted) }
            }
        } else {
            markers.remove(.drifted)
        }
        let calm: JobPhase = markers.contains(.drifted) ? .drifted : .running

        switch job.executionStatus {
        case .pending, .unknown:
            let pending = job.executionStatus == .pending
            let timeout = pending ? settings.pendingTimeoutSeconds : settings.unknownTimeoutSeconds
            let elapsed = now.timeIntervalSince(evidence.since)
            guard elapsed > timeout else { return .wait(pending ? .starting : .statusUnknown) }
            if mark(.stalled) { reports.append(.stalled(job.executionStatus, seconds: Int(elapsed))) }
            return .write(
                .replace(reason: pending ? .stalledPending : .stalledUnknown), budgeted: true, phase: .recovering)
        default:
            break
        }

        let health = job.health
        if observation.replaceForStall, health.status == .ok {
            return .write(.replace(reason: .stalledIngestion), budgeted: true, phase: .recovering)
        }
        switch health.status {
        case .error:
            guard evidence.errorCycles >= settings.unhealthyThreshold else { return .wait(.unhealthy) }
            if mark(.unhealthy) {
                reports.append(
                    .unhealthy(consecutive: evidence.errorCycles, code: health.code, message: health.message))
            }
            return .write(.replace(reason: .unhealthy), budgeted: true, phase: .recovering)
        case .warn where health.code == Self.lostConnectionCode:
            return decideLostConnection(observation, settings: settings, now: now, reports: &reports)
        case .warn where health.code == Self.staleOffsetsCode:
            if settings.autoResetOffsets, !markers.contains(.offsetsReset) {
                if mark(.offsetsStale) { reports.append(.offsetsStale(resetting: true)) }
                return .write(.resetOffsets(jobID: job.id), budgeted: false, phase: .recovering)
            }
            if mark(.offsetsStale) { reports.append(.offsetsStale(resetting: false)) }
            return .wait(.offsetsStale)
        case .ok, .warn, .unrecognized:
            return .wait(calm)
        }
    }

    /// `lost_connection_to_source` for `lostConnectionThreshold` cycles: test the connection first.
    /// A failing test is a source/IAM problem a new job cannot fix: report it once and re-test
    /// every `backoffMaxSeconds`; a passing test means Polaris's side is stuck: replace.
    mutating func decideLostConnection(
        _ observation: JobObservation, settings: SupervisorSettings, now: Date, reports: inout [JobReport]
    ) -> Intent {
        guard evidence.lostConnectionCycles >= settings.lostConnectionThreshold else { return .wait(.unhealthy) }
        if evidence.probe == .awaiting {
            switch observation.connectionTest {
            case .ok:
                updateEvidence { $0.probe = .passed }
            case .failed(let message):
                let retestAt = now.addingTimeInterval(settings.recreate.backoffMaxSeconds)
                updateEvidence { $0.probe = .failed(retestAt: retestAt) }
                if mark(.sourceUnreachable) { reports.append(.sourceUnreachable(message: message)) }
                return .wait(.sourceUnreachable)
            case nil:
                updateEvidence { $0.probe = .idle }
            }
        }
        switch evidence.probe {
        case .passed:
            return .write(.replace(reason: .lostConnection), budgeted: true, phase: .recovering)
        case .failed(let retestAt) where now < retestAt:
            return .wait(.sourceUnreachable)
        case .idle, .awaiting, .failed:
            return .probe
        }
    }
}
