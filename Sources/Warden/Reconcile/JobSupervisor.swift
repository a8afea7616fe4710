import Logging
import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs reconcile cycles (design §4): observe through the paged list, match, decide with each
/// job's pure state machine, act with bounded concurrency, persist, report.
///
/// An actor: the state machines and the state file are touched only here; HTTP calls run
/// concurrently in child tasks and their outcomes are applied back on the actor.
public actor JobSupervisor {
    /// What one desired job looks like after a cycle, for STATUS=, `status` and the demo.
    public struct JobView: Sendable, Hashable {
        public var name: String
        public var table: String
        public var jobID: String?
        public var executionStatus: String?
        public var health: String?
        public var phase: JobPhase
        public var recoveries: Int
    }

    /// A decision for one job (also what `plan` prints).
    public struct Decision: Sendable {
        public var job: DesiredJob
        public var record: JobRecord
        public var observed: Job?
        public var adopted: Bool
        public var specDrifted: Bool
        public var actions: [JobAction]
    }

    /// Whether the last cycle could talk to Polaris.
    public enum APIState: Sendable, Equatable {
        case unknown, ok
        case unreachable(detail: String)
        case authFailed(detail: String)

        var summary: String {
            switch self {
            case .unknown: "not checked yet"
            case .ok: "ok"
            case .unreachable: "unreachable"
            case .authFailed: "auth failed"
            }
        }
    }

    public private(set) var config: WardenConfig
    public private(set) var state: WardenState
    public private(set) var apiState: APIState = .unknown
    public private(set) var cyclesCompleted = 0
    private var client: PolarisClient
    private let store: StateStore?
    let logger: Logger
    private let now: @Sendable () -> Date
    private var random: SeededRandom
    private var pendingConnectionTests: [String: ConnectionTestResult] = [:]
    private var lastObserved: [String: Job] = [:]
    private let metrics: WardenMetrics?

    public init(
        config: WardenConfig, client: PolarisClient, store: StateStore?, initialState: WardenState = WardenState(),
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }, random: SeededRandom = SeededRandom(),
        metrics: WardenMetrics? = nil
    ) {
        self.config = config
        self.client = client
        self.store = store
        self.state = initialState
        self.logger = logger
        self.now = now
        self.random = random
        self.metrics = metrics
    }

    // MARK: Cycle

    /// One full reconcile pass. Never throws: an unreachable API is reported and the cycle
    /// still counts as progress for the watchdog.
    public func runCycle() async {
        let started = ContinuousClock.now
        let reachable = await reconcile()
        cyclesCompleted += 1
        guard let metrics else { return }
        metrics.cycleFinished(duration: ContinuousClock.now - started, outcome: reachable ? .ok : .apiError)
        metrics.jobsObserved(views: jobViews())
        let limiter = client.rateLimiter
        metrics.rateLimitWaits(count: await limiter.waits, seconds: await limiter.totalWait)
    }

    /// Observe, decide, act, persist; false when Polaris could not be listed.
    private func reconcile() async -> Bool {
        let jobs: [Job]
        let connections: [Connection]
        do {
            async let listedJobs = client.listJobs(.allStreaming)
            async let listedConnections = client.listConnections()
            (jobs, connections) = try await (listedJobs, listedConnections)
        } catch let error as PolarisError {
            noteAPIFailure(error)
            return false
        } catch {
            noteAPIFailure(.transport(operation: "observe", detail: "\(type(of: error))"))
            return false
        }
        noteAPIReachable()
        await reconcileConnections(existing: connections)
        let decisions = await decide(jobs: jobs)
        await commit(decisions)
        persist()
        return true
    }

    /// Lists, matches and decides without writing to Polaris or the state file (`plan`).
    public func plan() async throws(PolarisError) -> (connections: [ConnectionAction], jobs: [Decision]) {
        async let listedJobs = client.listJobs(.allStreaming)
        async let listedConnections = client.listConnections()
        let jobs: [Job]
        let connections: [Connection]
        do {
            (jobs, connections) = try await (listedJobs, listedConnections)
        } catch let error as PolarisError {
            throw error
        } catch {
            throw .transport(operation: "observe", detail: "\(type(of: error))")
        }
        let connectionActions = ConnectionPlanner.plan(
            desired: config.connections, existing: connections, prune: config.supervisor.prune)
        return (connectionActions, await decide(jobs: jobs))
    }

    /// Swaps in a validated config. Jobs whose spec changed leave gave-up; records of jobs no
    /// longer declared are dropped (their Polaris jobs are left alone). A new client is built
    /// when the connection settings changed (or the credential was rotated).
    public func apply(config newConfig: WardenConfig, clientConfiguration: PolarisClientConfiguration? = nil) {
        if let clientConfiguration {
            client = client.reconfigured(clientConfiguration)
        }
        let date = now()
        for job in newConfig.jobs {
            if let old = config.job(named: job.name), old.spec != job.spec {
                state.jobs[job.name]?.reconciler.specChanged(now: date)
            }
        }
        let names = Set(newConfig.jobs.map(\.name))
        state.jobs = state.jobs.filter { names.contains($0.key) }
        config = newConfig
        persist()
    }

    /// `polaris-warden retry JOB`: clears gave-up and the crash-loop budget.
    @discardableResult
    public func retry(jobNamed name: String) -> Bool {
        guard config.job(named: name) != nil else { return false }
        var record = state.jobs[name] ?? JobRecord(jobName: name)
        record.reconciler.retry(now: now())
        state.jobs[name] = record
        logger.log(event: .jobRetryRequested, "retry requested for \(name)", metadata: ["POLARIS_JOB": "\(name)"])
        persist()
        return true
    }

    // MARK: Views

    public func jobViews() -> [JobView] {
        config.jobs.map { job in
            let record = state.jobs[job.name] ?? JobRecord(jobName: job.name)
            let observed = lastObserved[job.name]
            return JobView(
                name: job.name, table: job.table, jobID: record.reconciler.jobID,
                executionStatus: observed?.executionStatus.rawValue, health: observed?.health.status.rawValue,
                phase: record.reconciler.phase, recoveries: record.reconciler.recoveries)
        }
    }

    public func statusLine() -> String {
        let date = now()
        let views = jobViews()
        let states = views.map { view in
            StatusLine.JobState(
                name: view.name, group: view.phase.statusGroup,
                note: view.phase.statusNote(now: date))
        }
        return StatusLine.render(jobs: states, api: apiState.summary)
    }

    // MARK: Steps

    private func noteAPIFailure(_ error: PolarisError) {
        let detail = error.description
        if error.isAuthFailure {
            if case .authFailed = apiState {
            } else {
                logger.log(event: .authFailed, "Polaris rejected the credential: \(detail)")
            }
            apiState = .authFailed(detail: detail)
        } else {
            if case .unreachable = apiState {
            } else {
                logger.log(event: .apiUnreachable, "Polaris API unreachable: \(detail)")
            }
            apiState = .unreachable(detail: detail)
        }
    }

    private func noteAPIReachable() {
        switch apiState {
        case .unreachable, .authFailed:
            logger.log(event: .apiRecovered, "Polaris API reachable again")
        case .ok, .unknown:
            break
        }
        apiState = .ok
    }

    private func reconcileConnections(existing: [Connection]) async {
        let actions = ConnectionPlanner.plan(
            desired: config.connections, existing: existing, prune: config.supervisor.prune)
        for action in actions {
            let metadata: Logger.Metadata = ["POLARIS_CONNECTION": "\(action.connectionName)"]
            do {
                switch action {
                case .create(let name, let fields):
                    _ = try await client.createConnection(fields)
                    logger.log(event: .connectionCreated, "created connection \(name)", metadata: metadata)
                case .update(let name, let type, let changes):
                    _ = try await client.updateConnection(named: name, type: type, changes: changes)
                    let fields = changes.keys.sorted().joined(separator: ",")
                    logger.log(
                        event: .connectionUpdated, "updated connection \(name) (\(fields))", metadata: metadata)
                case .delete(let name):
                    try await client.deleteConnection(named: name)
                    logger.notice("deleted undeclared connection \(name) (prune)", metadata: metadata)
                }
            } catch {
                logger.log(
                    event: .jobActionFailed, "connection \(action.connectionName): \(error.description)",
                    metadata: metadata)
            }
        }
    }

    private func decide(jobs: [Job]) async -> [Decision] {
        let knownIDs = state.jobs.compactMapValues { $0.reconciler.jobID }
        let matches = JobMatcher.match(desired: config.jobs, polarisJobs: jobs, knownIDs: knownIDs)
        let date = now()
        var decisions: [Decision] = []
        for job in config.jobs {
            var record = state.jobs[job.name] ?? JobRecord(jobName: job.name)
            let match = matches[job.name] ?? JobMatcher.Match(job: nil, adopted: false)
            if let found = match.job, match.adopted {
                record.reconciler.adopted(jobID: found.id)
            }
            if match.job != nil { record.pendingCreate = nil }
            let drifted = await checkDrift(of: job, observed: match.job, record: &record)
            let observation = JobObservation(
                job: match.job.map {
                    ObservedJob(
                        id: $0.id, executionStatus: $0.executionStatus, health: $0.health,
                        createdTimestamp: $0.createdTimestamp)
                },
                specDrifted: drifted, connectionTest: pendingConnectionTests[job.name])
            let actions = record.reconciler.observe(
                observation, settings: config.supervisor, now: date, random: &random)
            decisions.append(
                Decision(
                    job: job, record: record, observed: match.job, adopted: match.adopted, specDrifted: drifted,
                    actions: actions))
        }
        return decisions
    }

    /// Drift is checked when the job or the desired spec changed since the last check: one
    /// `GET /jobs/{id}` then, never one per job per cycle.
    private func checkDrift(of job: DesiredJob, observed: Job?, record: inout JobRecord) async -> Bool {
        guard let observed, !observed.executionStatus.isTerminal else { return false }
        let fingerprint = SpecFingerprint.of(job.spec)
        if let check = record.specCheck, check.jobID == observed.id, check.fingerprint == fingerprint {
            return check.drifted
        }
        guard let full = try? await client.getJob(id: observed.id), let echoed = full.spec else { return false }
        let drifted = !job.spec.isSatisfied(by: echoed)
        record.specCheck = SpecCheck(jobID: observed.id, fingerprint: fingerprint, drifted: drifted)
        return drifted
    }

    private func commit(_ decisions: [Decision]) async {
        var writes: [(DesiredJob, JobAction)] = []
        let date = now()
        for decision in decisions {
            let name = decision.job.name
            pendingConnectionTests[name] = nil
            if let observed = decision.observed { lastObserved[name] = observed } else { lastObserved[name] = nil }
            if decision.adopted, let observed = decision.observed {
                logger.log(
                    event: .jobAdopted, "adopted existing job \(observed.id) for \(name)",
                    metadata: jobMetadata(decision.job, observed: observed))
            }
            var record = decision.record
            for action in decision.actions {
                if case .report(let report) = action {
                    log(report, job: decision.job, observed: decision.observed, record: record)
                } else {
                    if action.createsJob {
                        record.pendingCreate = PendingCreate(
                            table: decision.job.table, startedAt: date,
                            specFingerprint: SpecFingerprint.of(decision.job.spec))
                    }
                    writes.append((decision.job, action))
                }
            }
            state.jobs[name] = record
        }
        guard !writes.isEmpty else { return }
        // The intent is on disk before any create is sent: a crash now ends in adoption.
        if writes.contains(where: { $0.1.createsJob }) { persist() }
        await execute(writes)
    }

    private func execute(_ writes: [(DesiredJob, JobAction)]) async {
        let client = self.client
        let limit = max(1, config.supervisor.maxConcurrentActions)
        let inputs = writes.map { job, action in
            let reconciler = state.jobs[job.name]?.reconciler
            return (job, action, reconciler?.jobID, reconciler?.needsReplaceRunning ?? false)
        }
        await withTaskGroup(of: (DesiredJob, JobAction, ActionExecutor.Result).self) { group in
            var iterator = inputs.makeIterator()
            func startNext() -> Bool {
                guard let (job, action, jobID, replaceRunning) = iterator.next() else { return false }
                group.addTask {
                    let result = await ActionExecutor.perform(
                        action, for: job, currentJobID: jobID, replaceRunning: replaceRunning, client: client)
                    return (job, action, result)
                }
                return true
            }
            for _ in 0..<limit where !startNext() { break }
            while let (job, action, result) = await group.next() {
                apply(result, of: action, for: job)
                _ = startNext()
            }
        }
    }

    private func apply(_ result: ActionExecutor.Result, of action: JobAction, for job: DesiredJob) {
        let date = now()
        var record = state.jobs[job.name] ?? JobRecord(jobName: job.name)
        metrics?.actionFinished(action: action.name, outcome: WardenMetrics.ActionResult(result))
        if let test = result.connectionTest { pendingConnectionTests[job.name] = test }
        if let outcome = result.outcome {
            let followUps = record.reconciler.record(
                outcome, of: action, settings: config.supervisor, now: date, random: &random)
            for case .report(let report) in followUps {
                log(report, job: job, observed: lastObserved[job.name], record: record)
            }
        }
        var metadata = jobMetadata(job, observed: lastObserved[job.name])
        metadata["WARDEN_ACTION"] = "\(action.name)"
        switch result.outcome {
        case .created(let id):
            record.pendingCreate = nil
            record.specCheck = SpecCheck(jobID: id, fingerprint: SpecFingerprint.of(job.spec), drifted: false)
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
                logger.log(
                    event: .jobReplaced, "replaced \(job.name) with \(id) (\(reason.rawValue))", metadata: metadata)
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
            if action.createsJob { record.pendingCreate = nil }
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

    private func persist() {
        guard let store else { return }
        do {
            try store.save(state)
        } catch {
            logger.error("could not write the state file: \(error)")
        }
    }

    func jobMetadata(_ job: DesiredJob, observed: Job?) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "POLARIS_JOB": "\(job.name)", "POLARIS_TABLE": "\(job.table)",
            "POLARIS_CONNECTION": "\(job.connectionName)",
        ]
        if let observed {
            metadata["POLARIS_JOB_ID"] = "\(observed.id)"
            metadata["POLARIS_EXECUTION_STATUS"] = "\(observed.executionStatus.rawValue)"
            metadata["POLARIS_HEALTH"] = "\(observed.health.status.rawValue)"
            if let code = observed.health.code { metadata["POLARIS_HEALTH_CODE"] = "\(code)" }
        }
        return metadata
    }
}

/// The result of the last drift check of a job against a desired spec.
public struct SpecCheck: Codable, Hashable, Sendable {
    public var jobID: String
    public var fingerprint: String
    public var drifted: Bool
}

extension JobAction {
    /// True for the actions that POST a new job (and so need an intent on disk first).
    var createsJob: Bool {
        switch self {
        case .create, .recreate, .replace: true
        default: false
        }
    }

    /// A short kebab-case name for `WARDEN_ACTION` and `plan`.
    public var name: String {
        switch self {
        case .create: "create"
        case .recreate: "recreate"
        case .replace: "replace"
        case .resume: "resume"
        case .resetOffsets: "reset-offsets"
        case .testConnection: "test-connection"
        case .report: "report"
        }
    }
}
