import PolarisAPI

/// Carries out one healing action against Polaris and turns the answer into an
/// `ActionOutcome` for the job's state machine. Stateless: the supervisor records intents
/// and outcomes.
public enum ActionExecutor {
    /// The result of a write, with the new job when one was created.
    public struct Result: Sendable {
        /// nil for a connection test: its result feeds the next observation instead.
        public var outcome: ActionOutcome?
        public var createdJob: Job?
        public var connectionTest: ConnectionTestResult?
        public var error: PolarisError?
    }

    public static func perform(
        _ action: JobAction, for job: DesiredJob, replaceRunning: Bool, client: PolarisClient
    ) async -> Result {
        do {
            switch action {
            case .create, .recreate, .replace:
                var spec = job.spec
                // A replace always takes the table over; a create only after Polaris said
                // another job holds it (the state machine's `needsReplaceRunning`).
                if action.isReplace || replaceRunning { spec.replaceRunning = true }
                let created = try await client.createJob(spec)
                return Result(outcome: .created(jobID: created.id), createdJob: created)
            case .resume(let id):
                try await client.setJobStatus(id: id, to: .running)
                return Result(outcome: .resumed)
            case .resetOffsets(let id):
                try await client.resetJob(id: id)
                return Result(outcome: .resetDone)
            case .testConnection:
                do {
                    try await client.testConnection(named: job.connectionName)
                    return Result(outcome: nil, connectionTest: .ok)
                } catch let error where error.status == 400 {
                    let message = error.polarisMessage ?? "connection test failed"
                    return Result(outcome: nil, connectionTest: .failed(message: message), error: error)
                }
            case .report:
                return Result(outcome: nil)
            }
        } catch {
            return Result(outcome: outcome(of: error), error: error)
        }
    }

    static func outcome(of error: PolarisError) -> ActionOutcome {
        if isTableHeld(error) { return .tableHeldByAnotherJob }
        if case .ambiguousCreate(_, let detail) = error { return .ambiguous(message: detail) }
        return .failed(terminal: error.isTerminal, message: error.description)
    }

    /// Polaris refuses a second streaming job on a table with a 400 (or possibly 409) whose
    /// message names the conflict; the exact code is undocumented (api-reference §9), so the
    /// message is matched loosely.
    static func isTableHeld(_ error: PolarisError) -> Bool {
        guard case .http(let operation, let status, let body) = error, operation == "createJob",
            status == 400 || status == 409
        else { return false }
        let text = ((body?.message ?? "") + " " + (body?.code ?? "")).lowercased()
        return text.contains("replacerunning") || text.contains("already has")
            || text.contains("already being ingested") || text.contains("only be targeted by one")
            || text.contains("another streaming job") || text.contains("holds the table")
    }
}

extension JobAction {
    var isReplace: Bool {
        if case .replace = self { return true }
        return false
    }
}
