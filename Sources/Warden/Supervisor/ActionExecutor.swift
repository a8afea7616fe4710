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

    public static func perform(_ write: JobWrite, for job: DesiredJob, client: PolarisClient) async -> Result {
        do {
            switch write.action {
            case .create, .recreate, .replace:
                var spec = job.spec
                let takesOver = write.replaceRunning
                if takesOver { spec.replaceRunning = true }
                let created: Job
                do throws(PolarisError) {
                    created = try await client.createJob(spec)
                } catch {
                    if !takesOver, error.status == 400 || error.status == 409,
                        await tableIsHeld(job.table, client: client)
                    {
                        return Result(outcome: .tableHeldByAnotherJob, error: error)
                    }
                    return Result(outcome: outcome(of: error), error: error)
                }
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
            }
        } catch {
            return Result(outcome: outcome(of: error), error: error)
        }
    }

    static func outcome(of error: PolarisError) -> ActionOutcome {
        if case .ambiguousCreate(_, let detail) = error { return .ambiguous(message: detail) }
        return .failed(terminal: error.isTerminal, message: error.description)
    }

    /// Whether another streaming job holds `table`: asked after a create is refused with a 400
    /// (or a 409), because the refusal's status and wording are undocumented (the reference
    /// marks both [INFERRED]). The state decides, not the message: one filtered list request.
    static func tableIsHeld(_ table: String, client: PolarisClient) async -> Bool {
        let filter = JobListFilter(types: ["streaming"], targetTableName: table)
        guard let jobs = try? await client.listJobs(filter) else { return false }
        return jobs.contains { $0.targetTable == table && !$0.executionStatus.isTerminal }
    }
}
