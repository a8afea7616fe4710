#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What happened to the writes: `record` learns from an outcome and returns follow-up reports.
/// It never returns a write; the next cycle decides, from a fresh observation.
extension JobReconciler {
    /// Learns what happened to `write` (the value `observe` returned) and returns the follow-up
    /// reports. Never a write: the next cycle decides, from a fresh observation.
    public mutating func record(
        _ outcome: ActionOutcome, of write: JobWrite, settings: SupervisorSettings, now: Date,
        random: inout some RandomNumberGenerator
    ) -> JobStep {
        let action = write.action
        var reports: [JobReport] = []
        switch outcome {
        case .created(let id):
            guard action.postsJob else { break }
            standing = .created(jobID: id)
            markers = []
            if action != .create { recoveries += 1 }
            phase = .starting
        case .resumed:
            if case .resume = action { recoveries += 1 }
            phase = .starting
        case .resetDone:
            break
        case .tableHeldByAnotherJob where action.postsJob && !write.replaceRunning:
            // The write never became a job: give its attempt back; the next cycle sends it
            // again with `replaceRunning: true`, which does consume one. (Refused again even
            // so, it is an ordinary failure below: backoff, never a tight loop.)
            if write.consumesBudget { budget.refund(restoringBackoff: true) }
            noteTableHeld()
            reports.append(.tableHeld)
            phase = .recovering
        case .tableHeldByAnotherJob:
            reports += fail(
                write, terminal: false, message: "another job holds the table", settings: settings, now: now,
                random: &random)
        case .failed(let terminal, let message):
            reports += fail(write, terminal: terminal, message: message, settings: settings, now: now, random: &random)
        case .ambiguous(let message):
            if action.postsJob {
                // A job may exist now that we do not know the id of: forget ours so the cycle adopts
                // the newest live job on the table (after a replace, the old id may be canceled).
                standing = .noJob(tableHeld: needsReplaceRunning)
                markers = []
            }
            reports.append(.outcomeUnknown(action, message: message))
            phase = .recovering
        }
        return JobStep(reports: reports)
    }

    /// A failed write. Transient: back off (jittered); a budgeted write gets its attempt back, so
    /// an API outage never ends in gave-up (api-unreachable reports that). Terminal (4xx
    /// validation): the same request cannot succeed, so wait the longest backoff without jitter
    /// and charge an attempt, so that repeated rejections end in gave-up instead of looping.
    mutating func fail(
        _ write: JobWrite, terminal: Bool, message: String, settings: SupervisorSettings, now: Date,
        random: inout some RandomNumberGenerator
    ) -> [JobReport] {
        let action = write.action
        let budgeted = write.consumesBudget
        let recreate = settings.recreate
        if action == .testConnection {
            // The test could not run; it is not a test result. Re-test next cycle, or after the
            // longest backoff when Polaris rejected the request itself.
            let probe: ConnectionProbe =
                terminal ? .failed(retestAt: now.addingTimeInterval(recreate.backoffMaxSeconds)) : .idle
            updateEvidence { $0.probe = probe }
            guard terminal else { return [] }
            return [
                .actionFailed(
                    action, terminal: true, message: message, retryInSeconds: Int(recreate.backoffMaxSeconds))
            ]
        }
        if case .resetOffsets = action, !terminal { markers.remove(.offsetsReset) }
        let delay: Double
        if terminal {
            if !budgeted { budget.charge(at: now) }
            delay = max(0, recreate.backoffMaxSeconds)
            budget.hold(until: now.addingTimeInterval(delay))
        } else if budgeted {
            budget.refund(restoringBackoff: false)
            delay = budget.backOff(from: now, settings: recreate, random: &random)
        } else {
            delay = budget.escalate(from: now, settings: recreate, random: &random)
        }
        var reports: [JobReport] = [
            .actionFailed(action, terminal: terminal, message: message, retryInSeconds: Int(delay.rounded(.up)))
        ]
        if terminal, !budget.hasRoom(recreate) {
            budget.giveUp(at: now)
            reports.append(.gaveUp(attempts: budget.attempts.count, windowSeconds: Int(recreate.windowSeconds)))
            phase = .gaveUp(since: now)
        } else {
            phase = .backingOff(until: now.addingTimeInterval(delay))
        }
        return reports
    }
}
