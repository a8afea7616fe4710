import Logging
import PolarisAPI

extension JobSupervisor {
    /// Turns a state machine report into one catalogued journal event.
    func log(_ report: JobReport, job: DesiredJob, observed: Job?, record: JobRecord) {
        var metadata = jobMetadata(job, observed: observed)
        let name = job.name
        switch report {
        case .failedObserved(let code, let message):
            logger.log(
                event: .jobFailed, "job \(name) failed: \(code ?? "no code")\(message.map { ": \($0)" } ?? "")",
                metadata: metadata)
        case .completedObserved(let code, _):
            logger.log(
                event: .jobFailed, "streaming job \(name) completed unexpectedly (\(code ?? "no code"))",
                metadata: metadata)
        case .unhealthy(let consecutive, let code, let message):
            metadata["WARDEN_ATTEMPT"] = "\(consecutive)"
            logger.log(
                event: .jobUnhealthy,
                "job \(name) unhealthy for \(consecutive) cycles: \(code ?? "error")\(message.map { ": \($0)" } ?? "")",
                metadata: metadata)
        case .drifted:
            let drift = record.specCheck?.differences ?? []
            if !drift.isEmpty { metadata["WARDEN_DRIFT"] = "\(SpecDriftText.summary(drift))" }
            logger.log(
                event: .jobDrifted,
                "job \(name) differs from the configured spec\(drift.isEmpty ? "" : ": " + SpecDriftText.summary(drift))",
                metadata: metadata)
        case .stalled(let status, let seconds):
            logger.log(event: .jobStalled, "job \(name) \(status.rawValue) for \(seconds)s", metadata: metadata)
        case .sourceUnreachable(let message):
            logger.log(
                event: .sourceUnreachable,
                "connection \(job.connectionName) of \(name) cannot reach its source: \(message)", metadata: metadata)
        case .leftCanceled:
            logger.log(
                event: .jobUnhealthy, "job \(name) was canceled; left as configured (onCanceled: leave)",
                metadata: metadata)
        case .leftSuspended:
            logger.log(
                event: .jobUnhealthy, "job \(name) is suspended; left as configured (onSuspended: leave)",
                metadata: metadata)
        case .unrecognizedStatus(let status):
            logger.log(event: .jobStalled, "job \(name) has an unrecognized status \(status)", metadata: metadata)
        case .offsetsStale(let resetting):
            logger.log(
                event: .jobUnhealthy,
                resetting
                    ? "job \(name) has stale offsets; resetting (autoResetOffsets)"
                    : "job \(name) has stale offsets; not resetting (autoResetOffsets is false)",
                metadata: metadata)
        case .tableHeld:
            logger.log(
                event: .jobActionFailed, "another streaming job holds table \(job.table); next create replaces it",
                metadata: metadata)
        case .actionFailed(let action, let terminal, let message, let retryIn):
            metadata["WARDEN_ACTION"] = "\(action.name)"
            metadata["WARDEN_BACKOFF_SEC"] = "\(retryIn)"
            logger.log(
                event: .jobActionFailed,
                "\(action.name) of \(name) failed\(terminal ? " (rejected by Polaris)" : ""): \(message); retry in \(retryIn)s",
                metadata: metadata)
        case .outcomeUnknown(let action, let message):
            metadata["WARDEN_ACTION"] = "\(action.name)"
            logger.log(
                event: .jobActionFailed, "\(action.name) of \(name) has an unknown outcome: \(message)",
                metadata: metadata)
        case .gaveUp(let attempts, let window):
            metadata["WARDEN_ATTEMPT"] = "\(attempts)"
            logger.log(
                event: .jobGaveUp,
                "gave up on \(name) after \(attempts) recoveries in \(window)s; run `polaris-warden retry \(name)`",
                metadata: metadata)
        case .leftGaveUp:
            logger.notice("job \(name) is no longer given up", metadata: metadata)
        case .recovered:
            logger.info("job \(name) is healthy again", metadata: metadata)
        }
    }
}
