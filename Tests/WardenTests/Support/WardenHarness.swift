import Foundation
import Logging
import PolarisAPI
import PolarisEmulator
import Testing
import WardenPlatform

@testable import Warden

/// A warden wired to an in-process emulator on loopback, with a manual clock, a temporary
/// state directory and recorded events.
struct WardenHarness {
    static let apiKey = "pok_harness_secret_4f1d"

    let emulator: PolarisEmulator
    let supervisor: JobSupervisor
    let clock: ManualClock
    let recorder: LogRecorder
    let stateDirectory: String
    let config: WardenConfig
    /// When each API request was sent (after the rate limiter let it through).
    let sends: SendLog

    static func make(
        jobs: [String] = ["wikipedia-kinesis"], settings: SupervisorSettings = .testDefaults,
        extraConnections: [DesiredConnection] = [], stateDirectory: String? = nil, emulator: PolarisEmulator? = nil,
        initialState: WardenState? = nil, metrics: WardenMetrics? = nil, maxRequestsPerSecond: Double = 1000,
        requestTimeout: Duration = .seconds(15), clock sharedClock: ManualClock? = nil,
        configure: (inout WardenConfig) -> Void = { _ in }
    ) async throws -> WardenHarness {
        let emulator = emulator ?? PolarisEmulator(configuration: EmulatorConfiguration(apiKey: apiKey))
        if emulator.port == nil { _ = try await emulator.start() }
        let directory =
            stateDirectory
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("warden-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var config = WardenConfig.test(
            url: emulator.baseURL, projectID: emulator.projectID, jobs: jobs, settings: settings)
        config.connections += extraConnections
        configure(&config)
        let clock = sharedClock ?? ManualClock(start: WallInstant(secondsSince1970: 1_800_000_000))
        let recorder = LogRecorder()
        let sends = SendLog()
        let client = PolarisClient(
            configuration: try PolarisClientConfiguration(
                url: emulator.baseURL, projectID: emulator.projectID, authentication: .apiKey(Secret(apiKey)),
                requestTimeout: requestTimeout, maxRequestsPerSecond: maxRequestsPerSecond,
                retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(5), maxDelay: .milliseconds(50))),
            observer: { @Sendable exchange in
                sends.record(exchange)
                metrics?.apiExchange(exchange)
            })
        let store = StateStore(path: directory + "/state.json")
        let state = initialState ?? store.load().0
        let supervisor = JobSupervisor(
            config: config, client: client, store: store, initialState: state, logger: recorder.logger,
            clock: clock, random: SeededRandom(seed: 42), metrics: metrics)
        return WardenHarness(
            emulator: emulator, supervisor: supervisor, clock: clock, recorder: recorder, stateDirectory: directory,
            config: config, sends: sends)
    }

    /// A started emulator with the harness's key, to seed before a harness is made on it.
    static func startedEmulator() async throws -> PolarisEmulator {
        let emulator = PolarisEmulator(configuration: EmulatorConfiguration(apiKey: apiKey))
        _ = try await emulator.start()
        return emulator
    }

    /// This warden after a restart: a new one over the same emulator, state directory, jobs and
    /// settings, starting from `initialState` when given instead of what the state file holds.
    func restarted(initialState: WardenState? = nil) async throws -> WardenHarness {
        try await WardenHarness.make(
            jobs: config.jobs.map(\.name), settings: config.supervisor, stateDirectory: stateDirectory,
            emulator: emulator, initialState: initialState)
    }

    /// Runs one cycle after moving the clock by one poll interval.
    func cycle(advance: Bool = true) async {
        if advance { clock.advance(seconds: config.supervisor.pollIntervalSeconds) }
        await supervisor.runCycle()
    }

    /// Runs one cycle and returns the id of the job `name` (that cycle, or an earlier one,
    /// created it); a test failure at the caller when there is none.
    func jobIDAfterCycle(
        _ name: String = "wikipedia-kinesis", sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> String {
        await cycle()
        return try #require(await ourJobID(name), sourceLocation: sourceLocation)
    }

    /// Runs cycles until `condition` holds (at most `limit`), returning how many ran.
    @discardableResult
    func cycles(until condition: () async -> Bool, limit: Int = 20, advance: Double? = nil) async -> Int {
        for index in 1...limit {
            if let advance { clock.advance(seconds: advance) }
            await cycle()
            if await condition() { return index }
        }
        return limit + 1
    }

    func jobs(on table: String) async -> [Job] { await emulator.jobs(onTable: table) }

    func aliveJobs(on table: String) async -> [Job] {
        await jobs(on: table).filter { !$0.executionStatus.isTerminal }
    }

    func ourJobID(_ name: String = "wikipedia-kinesis") async -> String? {
        await supervisor.state.jobs[name]?.reconciler.jobID
    }

    /// Requests since the last `resetRequestLog`, without the admin API.
    func apiRequests() async -> [RequestRecord] {
        await emulator.requestLog().filter { !$0.path.hasPrefix("/_emulator") }
    }

    func writes() async -> [RequestRecord] {
        await apiRequests().filter { $0.method != "GET" }
    }

    func stop() async {
        await emulator.stop()
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}

extension WardenHarness {
    /// An emulator (not started) with the harness's key whose create on a table another job
    /// holds is refused with `status` and `message` (`LiveBehaviour.tableHeldStatus`/`Message`).
    static func emulatorRefusingHeldTables(status: Int, message: String) -> PolarisEmulator {
        var behaviour = LiveBehaviour.standard
        behaviour.tableHeldStatus = status
        behaviour.tableHeldMessage = message
        return PolarisEmulator(configuration: EmulatorConfiguration(apiKey: apiKey, behaviour: behaviour))
    }
}

extension PolarisEmulator {
    /// The next `GET …/jobs` answers an empty page: whoever lists jobs next acts on a stale list.
    func answerNextJobListEmpty() async throws {
        _ = try await inject(
            .status(
                200, body: ["values": [], "moreResultsAvailable": false], count: 1, method: "GET", pathPattern: "/jobs$"
            ))
    }
}

extension SupervisorSettings {
    /// Thresholds small enough for quick scenarios; backoff short but real.
    static var testDefaults: SupervisorSettings {
        var settings = SupervisorSettings()
        settings.pollIntervalSeconds = 5
        settings.unhealthyThreshold = 3
        settings.healthyThreshold = 3
        settings.recreate.maxAttempts = 3
        settings.recreate.windowSeconds = 3600
        settings.recreate.backoffInitialSeconds = 1
        settings.recreate.backoffMaxSeconds = 4
        settings.pendingTimeoutSeconds = 30
        settings.unknownTimeoutSeconds = 30
        settings.lostConnectionThreshold = 2
        return settings
    }
}

extension WardenConfig {
    static func connectionFields(_ name: String, stream: String = "demo-stream") -> [String: JSONValue] {
        SampleBodies.kinesisConnection(name: name, stream: stream)
    }

    static func spec(table: String, connection: String = "stream-wiki") -> JobSpec {
        SampleBodies.streamingSpec(table: table, connection: connection)
    }

    /// Jobs named after their tables, all on the `stream-wiki` connection.
    static func test(url: String, projectID: String, jobs: [String], settings: SupervisorSettings) -> WardenConfig {
        WardenConfig(
            polaris: PolarisSettings(
                url: url, projectId: projectID, auth: .apiKey(.env("POLARIS_API_KEY")), requestTimeoutSeconds: 2,
                maxRequestsPerSecond: 1000),
            supervisor: settings,
            connections: [
                DesiredConnection(
                    name: "stream-wiki", managed: true, type: "kinesis", fields: connectionFields("stream-wiki"))
            ],
            jobs: jobs.map { DesiredJob(name: $0, spec: spec(table: $0)) })
    }
}
