import Hummingbird
import Logging
import NIOCore
import PolarisAPI
import ServiceLifecycle
import Synchronization

/// A Polaris API emulator: the project-scoped Connections v1 and Jobs v1 API over HTTP, with
/// fault injection and request accounting, for tests and demos.
///
/// ```swift
/// let emulator = PolarisEmulator(configuration: .init(startDelay: .zero))
/// let port = try await emulator.start()          // 127.0.0.1, ephemeral port
/// try await emulator.inject(.status(503, retryAfter: .seconds(2), count: 2, pathPrefix: "/jobs"))
/// // … point a client at emulator.baseURL with emulator.configuration.apiKey …
/// let calls = await emulator.counters()["POST /jobs"]
/// await emulator.stop()
/// ```
///
/// All state lives in `store` (an actor); the methods here forward to it so tests rarely need
/// to reach for it.
public final class PolarisEmulator: Sendable {
    public let configuration: EmulatorConfiguration
    public let store: EmulatorStore
    private let server = Mutex<(task: Task<Void, any Error>?, group: ServiceGroup?, port: Int?)>((nil, nil, nil))

    public init(configuration: EmulatorConfiguration = EmulatorConfiguration()) {
        self.configuration = configuration
        self.store = EmulatorStore(configuration: configuration)
    }

    /// The bound port once started.
    public var port: Int? { server.withLock { $0.port } }

    /// `http://HOST:PORT`; what the client's base URL should be (it appends `/v1/projects/…`).
    public var baseURL: String {
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "http://\(host):\(port ?? configuration.port)"
    }

    /// `baseURL` plus `/v1/projects/{projectId}`.
    public var projectURL: String { "\(baseURL)/v1/projects/\(configuration.projectID)" }

    public var projectID: String { configuration.projectID }

    // MARK: Serving

    /// Starts serving in a background task and returns the bound port (useful with port 0).
    @discardableResult
    public func start() async throws -> Int {
        if let port = server.withLock({ $0.task == nil ? nil : $0.port }) { return port }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = makeApplication { port in
            continuation.yield(port)
            continuation.finish()
        }
        // A service group of our own, so `stop()` can shut down gracefully (idle keep-alive
        // connections closed, in-flight requests finished) instead of cancelling handlers.
        let group = ServiceGroup(
            configuration: .init(services: [application], gracefulShutdownSignals: [], logger: configuration.logger))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        for await port in ports {
            server.withLock { $0 = (task, group, port) }
            return port
        }
        try await task.value
        throw EmulatorError(
            status: .internalServerError, code: "StartFailed",
            message: "The emulator stopped before it was listening on \(configuration.host):\(configuration.port).")
    }

    /// Stops a server started with `start()` and waits for it to finish.
    public func stop() async {
        let (task, group) = server.withLock { state -> (Task<Void, any Error>?, ServiceGroup?) in
            defer { state = (nil, nil, nil) }
            return (state.task, state.group)
        }
        await group?.triggerGracefulShutdown()
        _ = try? await task?.value
    }

    /// Serves in the foreground until SIGINT or SIGTERM, then shuts down gracefully (the CLI).
    /// `onStarted` receives the bound port.
    public func run(onStarted: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let application = makeApplication { [self] port in
            server.withLock { $0.port = port }
            onStarted(port)
        }
        try await application.runService()
    }

    private func makeApplication(onListening: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router(context: EmulatorRequestContext.self)
        // Middleware first: Hummingbird wraps only routes added after it.
        router.add(
            middleware: EmulatorGateMiddleware(
                store: store, apiKey: configuration.apiKey, projectID: configuration.projectID))
        PolarisRoutes(store: store).register(on: router)
        AdminRoutes(store: store).register(on: router)
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "polaris-emulator"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: configuration.logger)
    }

    // MARK: Faults and observation

    /// Arms a fault for the next `fault.count` matching requests; returns its id.
    @discardableResult
    public func inject(_ fault: InjectedFault) async throws -> Int { try await store.inject(fault) }

    public func clearFaults() async { await store.clearFaults() }

    public func requestLog() async -> [RequestRecord] { await store.requestLog() }

    public func counters() async -> EmulatorCounters { await store.counters() }

    public func resetRequestLog() async { await store.resetRequestLog() }

    /// Moves the emulator clock forward: start delays elapse, tokens expire.
    public func advance(by duration: Duration) async { await store.advanceClock(by: duration) }

    /// Switches the readings of the [INFERRED] live behaviours (`LiveBehaviour`).
    public func setBehaviour(_ behaviour: LiveBehaviour) async { await store.setBehaviour(behaviour) }

    /// The current readings of the [INFERRED] live behaviours.
    public func behaviour() async -> LiveBehaviour { await store.behaviour }

    // MARK: Jobs

    /// Fails a job (terminal), with health `error` and this code.
    public func failJob(id: String, code: String = "internal_error", message: String? = nil) async throws {
        try await store.failJob(id: id, code: code, message: message)
    }

    /// Sets a job's health; its execution status is unchanged.
    public func setHealth(jobID: String, _ health: JobHealth) async throws {
        try await store.setHealth(jobID: jobID, health)
    }

    /// Cancels a job as another user would (the job's owner did not ask for it).
    public func cancelJob(id: String) async throws {
        try await store.setDesiredStatus(jobID: id, .canceled, by: EmulatorStore.otherUser)
    }

    /// Suspends a streaming job as another user would.
    public func suspendJob(id: String) async throws {
        try await store.setDesiredStatus(jobID: id, .suspended, by: EmulatorStore.otherUser)
    }

    /// Resumes a job as another user would.
    public func resumeJob(id: String) async throws {
        try await store.setDesiredStatus(jobID: id, .running, by: EmulatorStore.otherUser)
    }

    /// Puts a running streaming job in `idle`, as a quiet Kinesis stream does.
    public func idleJob(id: String) async throws {
        try await store.setIdle(jobID: id, true)
    }

    /// Takes an idle streaming job back to `running` (data arrives again).
    public func activateJob(id: String) async throws {
        try await store.setIdle(jobID: id, false)
    }

    /// Holds a job in `.pending` or `.unknown` until `releaseJob(id:)`.
    public func holdJob(id: String, in status: ExecutionStatus) async throws {
        try await store.holdJob(id: id, in: status)
    }

    public func releaseJob(id: String) async throws { try await store.releaseJob(id: id) }

    /// Sets the totals `GET /jobs/{id}/metrics` reports now; a running job grows from them.
    public func setMetrics(jobID: String, _ totals: IngestionJobTotals) async throws {
        try await store.setMetrics(jobID: jobID, totals)
    }

    /// The totals `GET /jobs/{id}/metrics` would report now.
    public func metrics(jobID: String) async throws -> IngestionJobTotals {
        try await store.metrics(jobID: jobID)
    }

    /// Freezes a streaming job's counters while it stays `running` with health `ok` (a silent
    /// stall) until `unstallJob(id:)`.
    public func stallJob(id: String) async throws { try await store.stallJob(id: id) }

    /// Lets a stalled job's counters grow again.
    public func unstallJob(id: String) async throws { try await store.unstallJob(id: id) }

    /// Adds rows that could not be parsed to `numRowsSkippedByError`; past the job's
    /// `maxParseExceptions` the job fails (`cannot_parse_source`).
    public func addParseErrors(jobID: String, count: Int64) async throws {
        try await store.addParseErrors(jobID: jobID, count: count)
    }

    /// How fast running streaming jobs' `numRowsProcessed` grows from now on (0 stops growth).
    public func setRowsPerSecond(_ rate: Int64) async throws { try await store.setRowsPerSecond(rate) }

    public func job(id: String) async -> Job? { await store.job(id: id) }

    public func jobs(onTable table: String) async -> [Job] { await store.jobs(onTable: table) }

    public func allJobs() async -> [Job] { await store.allJobs() }

    /// Runs `hook` before each `GET /jobs` page is built (offset, sorted by last update): a test
    /// changes jobs between the pages of one walk. nil removes it.
    public func setListPageHook(_ hook: (@Sendable (_ offset: Int, _ byLastUpdate: Bool) async -> Void)?) async {
        await store.setListPageHook(hook)
    }

    public func resetCount(jobID: String) async -> Int? { await store.resetCount(jobID: jobID) }

    /// Bulk-creates running streaming jobs (10,000 in well under a second); returns their ids.
    @discardableResult
    public func seed(connection: String, jobs count: Int, tablePrefix: String = "seed-table-") async throws -> [String]
    {
        try await store.seed(connection: connection, jobs: count, tablePrefix: tablePrefix)
    }

    // MARK: Connections

    public func connections() async -> [Connection] { await store.connectionList() }

    /// Creates a connection directly (no HTTP), e.g. to set up a test.
    @discardableResult
    public func createConnection(_ connection: Connection) async throws -> Connection {
        try await store.createConnection(.object(connection.json))
    }

    /// Makes `POST /connections/{name}/test` fail with 400 (`nil` heals it).
    public func setConnectionTestFailure(name: String, _ failure: (code: String, message: String)?) async {
        await store.setConnectionTestFailure(name: name, code: failure?.code, message: failure?.message)
    }

    // MARK: Incidents

    /// Pauses the project: its jobs fail, and every new job fails until `resumeProject()`.
    public func pauseProject() async { await store.setProjectState(.paused) }

    /// The project runs again; failed jobs stay failed (they must be recreated).
    public func resumeProject() async { await store.setProjectState(.running) }

    /// Breaks a connection: its test fails with `message`, its jobs fail with
    /// `could_not_connect_to_source`, and so does every new job on it until restored.
    public func breakConnection(name: String, message: String) async {
        await store.breakConnection(name: name, message: message)
    }

    public func restoreConnection(name: String) async { await store.restoreConnection(name: name) }
}
