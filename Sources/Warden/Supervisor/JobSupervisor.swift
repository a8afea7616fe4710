import Logging
import PolarisAPI
import WardenPlatform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs reconcile cycles: observe through the paged list, match, decide with each
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
        /// The state machine's answer: reports and at most one write (none while held).
        public var step: JobStep

        /// What happens next, as `plan` and `doctor` say it: the reports, then the write.
        public var nextSteps: [String] {
            step.reports.map { "report \($0)" } + (step.write.map { [$0.action.summary] } ?? [])
        }
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

    public private(set) var config: WardenConfig {
        didSet {
            connectionNames = Self.connectionNames(of: config)
            stallTrackersMayBeStale = true
        }
    }
    /// The connections the declared jobs use, sorted: read every cycle, changed by a reload.
    private(set) var connectionNames: [String]
    /// True after a start, a reload or a takeover: jobs no longer watched may hold stall trackers,
    /// which `sampleStalls` then drops, instead of reading every unwatched job's record each cycle.
    var stallTrackersMayBeStale = true
    public internal(set) var state: WardenState
    public internal(set) var apiState: APIState = .unknown
    public private(set) var cyclesCompleted = 0
    var client: PolarisClient
    let store: StateStore?
    let logger: Logger
    /// The one clock (`WardenPlatform`): dates for the state machine, timers, progress pacing.
    let clock: any WallClock
    var random: SeededRandom
    var pendingConnectionTests: [String: ConnectionTestResult] = [:]
    var lastObserved: [String: Job] = [:]
    /// Polaris' streaming jobs between full sweeps (delta polling, `JobIndex`).
    var jobIndex = JobIndex()
    /// What the state file last written holds (its digest) and when it was written, so an
    /// unchanged state is not rewritten every cycle.
    var lastPersisted: (digest: PersistedDigest, at: Date)?
    /// Each desired job's spec fingerprint and the spec it was computed from (`fingerprint(of:)`).
    var fingerprints: [String: (spec: JobSpec, fingerprint: String)] = [:]
    /// An unchanged state file is still rewritten this often (seconds).
    static let unchangedRewriteInterval: Double = 60
    let metrics: WardenMetrics?
    /// The project and broken connections (`Incidents`), and whom failures are charged to.
    var incidents = Incidents()
    /// Each listed job's status in the previous cycle, to count jobs that newly failed.
    var lastStatuses: [String: ExecutionStatus] = [:]
    /// A create was refused since the project was last checked (a paused project refuses or
    /// fails new jobs).
    var createRefused = false
    /// The writes of the current cycle while they run (`STATUS=`: `healing 312/800 …`).
    public internal(set) var healProgress: HealProgress?
    /// Told after every completed write (watchdog progress) and, at most once a second, given
    /// the current `STATUS=` line; set by the daemon.
    var progressHandler: (@Sendable (_ status: String?) -> Void)?
    var lastProgressStatus: WallInstant?
    /// With `highAvailability`: the lease, asked before every write; nil on a single host.
    var authority: (any WriteAuthority)?
    /// The digest of the state last recorded in the fleet's store (`authority`), to skip
    /// unchanged records.
    var lastRecorded: PersistedDigest?

    public init(
        config: WardenConfig, client: PolarisClient, store: StateStore?, initialState: WardenState = WardenState(),
        logger: Logger, clock: any WallClock = SystemClock(), random: SeededRandom = SeededRandom(),
        metrics: WardenMetrics? = nil
    ) {
        self.config = config
        self.connectionNames = Self.connectionNames(of: config)
        self.client = client
        self.store = store
        self.state = initialState
        self.logger = logger
        self.clock = clock
        self.random = random
        self.metrics = metrics
    }

    /// With `highAvailability`: the lease every write asks first (`Coordinator`).
    /// The client asks it too, right before each attempt of a write leaves (a write that waited
    /// out a `Retry-After` is not sent by a warden that meanwhile lost the lease).
    public func setWriteAuthority(_ authority: (any WriteAuthority)?) {
        self.authority = authority
        if let authority { client = client.gated { await authority.mayWrite() } }
    }

    /// This warden became the leader: it continues from the fleet's state as the previous
    /// leader stored it (create intents, crash-loop budgets, gave-up marks, stall state), as a
    /// restarted warden continues from its state file. What it knew of the jobs' health is
    /// dropped (it was not acting); its view of the job list, kept warm on standby, stays.
    public func takeOver(state fleetState: WardenState) {
        state = fleetState
        stallTrackersMayBeStale = true
        lastRecorded = fleetState.persistedDigest
        lastPersisted = nil
        lastObserved = [:]
        lastStatuses = [:]
        pendingConnectionTests = [:]
        incidents = Incidents()
        createRefused = false
        persist()
    }

    /// A standby's cycle: reads the job list (delta polling keeps it cheap) so a takeover starts
    /// from a warm view; decides and writes nothing. False when Polaris could not be listed.
    @discardableResult
    public func watch() async -> Bool {
        do {
            _ = try await observeJobs()
            noteAPIReachable()
            return true
        } catch {
            jobIndex.invalidate()
            noteAPIFailure(error)
            return false
        }
    }

    /// With `highAvailability`: the role line beside the state file, for `polaris-warden status`.
    public func noteRole(_ line: String) { store?.saveRole(line) }

    /// How many streaming jobs the last read saw (a standby's STATUS=).
    public var listedJobCount: Int { jobIndex.jobs.count }

    /// The clock's current date, for the state machine and the state file.
    func now() -> Date { clock.now.date }

    // MARK: Cycle

    /// One full reconcile pass. Never throws: an unreachable API is reported and the cycle
    /// still counts as progress for the watchdog.
    public func runCycle() async {
        let started = clock.now
        let reachable = await reconcile()
        cyclesCompleted += 1
        guard let metrics else { return }
        metrics.cycleFinished(duration: started.duration(to: clock.now), outcome: reachable ? .ok : .apiError)
        metrics.jobsObserved(views: jobViews())
        let limiter = client.rateLimiter
        metrics.rateLimitWaits(count: await limiter.waits, seconds: await limiter.totalWait)
    }

    /// Observe, decide, act, persist; false when Polaris could not be listed.
    func reconcile() async -> Bool {
        let jobs: [Job]
        let connections: [Connection]
        do {
            async let listedConnections = client.listConnections()
            jobs = try await observeJobs()
            connections = try await listedConnections
        } catch let error as PolarisError {
            jobIndex.invalidate()
            noteAPIFailure(error)
            return false
        } catch {
            jobIndex.invalidate()
            noteAPIFailure(.transport(operation: "observe", detail: "\(type(of: error))"))
            return false
        }
        noteAPIReachable()
        await reconcileConnections(existing: connections)
        let held = await checkIncidents(jobs: jobs)
        if cyclesCompleted == 0, let warning = stallCoverageWarning() { logger.warning("\(warning)") }
        let stalled = incidents.projectHeld ? [] : await sampleStalls(jobs: jobs)
        let decisions = await decide(jobs: jobs, held: held, replaceForStall: stalled)
        await commit(decisions)
        // One digest of the cycle's final state serves the file and the fleet's store.
        let digest = state.persistedDigest
        persist(digest: digest)
        await recordFleetState(digest: digest)
        return true
    }

    /// Polaris' streaming jobs now: a full sweep when `JobIndex.sweepDue` says so, otherwise a
    /// delta read (the list by last update, newest first, until it reaches what was read
    /// before, plus the unhealthy subset): 2 requests when nothing changed, whatever N is.
    func observeJobs() async throws(PolarisError) -> [Job] {
        let date = now()
        if let reason = jobIndex.sweepDue(now: date, pollInterval: config.supervisor.pollIntervalSeconds) {
            // Page by page, each narrowed as it comes: never every page's full summaries at once.
            var swept: [Job] = []
            swept.reserveCapacity(jobIndex.jobs.count + 1000)
            var offset = 0
            while true {
                let page = try await client.listJobsPage(.allStreaming, limit: 1000, offset: offset)
                swept += page.values.map(jobIndex.narrowed)
                offset += page.values.count
                guard page.moreResultsAvailable, !page.values.isEmpty else { break }
            }
            jobIndex.absorbSweep(swept, at: date)
            metrics?.jobListRead(kind: "sweep")
            logger.debug("full sweep of the job list (\(reason.rawValue)): \(swept.count) jobs")
            return jobIndex.jobs
        }
        var changed: [Job] = []
        var offset = 0
        walk: while true {
            let page = try await client.listJobsPage(
                .recentlyUpdatedStreaming, limit: JobIndex.deltaPageSize, offset: offset)
            for job in page.values {
                if jobIndex.isSettled(job, now: date) { break walk }
                changed.append(job)
            }
            guard page.moreResultsAvailable, !page.values.isEmpty else { break }
            offset += page.values.count
        }
        let unhealthy = try await client.listJobs(.unhealthyStreaming)
        jobIndex.absorbDelta(changed: changed, unhealthy: unhealthy, at: date)
        metrics?.jobListRead(kind: "delta")
        return jobIndex.jobs
    }

    /// Called after every completed write, and with the `STATUS=` line at most once a second,
    /// so a long heal keeps the watchdog fed and shows how far it got.
    public func setProgressHandler(_ handler: @escaping @Sendable (_ status: String?) -> Void) {
        progressHandler = handler
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
        return (connectionActions, await decide(jobs: jobs, held: [], replaceForStall: []))
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

    static func connectionNames(of config: WardenConfig) -> [String] {
        Set(config.jobs.map(\.connectionName)).sorted()
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
        // After every cycle, for every declared job: one pass, one lookup of its record, and
        // its last observation only when it runs (not `jobViews()`, which copies both).
        var states: [StatusLine.JobState] = []
        states.reserveCapacity(config.jobs.count)
        for job in config.jobs {
            let record = state.jobs[job.name]
            let phase = record?.reconciler.phase ?? .creating
            if let since = record?.stall?.stalledSince, phase == .running {
                states.append(
                    StatusLine.JobState(
                        name: job.name, group: "stalled", note: "no rows for \(Int(date.timeIntervalSince(since)))s"))
                continue
            }
            states.append(
                StatusLine.JobState(
                    name: job.name,
                    group: StatusLine.group(of: phase) { lastObserved[job.name]?.executionStatus },
                    note: phase.statusNote(now: date)))
        }
        let healing = healProgress.map { $0.summary(now: date) + "; " } ?? ""
        return healing + incidentStatus() + StatusLine.render(jobs: states, api: apiState.summary)
    }

    // MARK: Steps

    func noteAPIFailure(_ error: PolarisError) {
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

    func noteAPIReachable() {
        switch apiState {
        case .unreachable, .authFailed:
            logger.log(event: .apiRecovered, "Polaris API reachable again")
        case .ok, .unknown:
            break
        }
        apiState = .ok
    }

    func reconcileConnections(existing: [Connection]) async {
        let actions = ConnectionPlanner.plan(
            desired: config.connections, existing: existing, prune: config.supervisor.prune)
        for action in actions {
            guard await mayWrite() else { return }
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
    /// What differs (`SpecDrift`), for `plan`, `status` and the drift event; absent in state
    /// files written before it was recorded.
    public var differences: [SpecDifference]?

    public init(jobID: String, fingerprint: String, differences: [SpecDifference]) {
        self.jobID = jobID
        self.fingerprint = fingerprint
        self.drifted = !differences.isEmpty
        self.differences = differences.isEmpty ? nil : differences
    }
}
