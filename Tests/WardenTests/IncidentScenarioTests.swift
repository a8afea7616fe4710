import Foundation
import PolarisAPI
import PolarisEmulator
import Synchronization
import Systemd
import Testing
import WardenPlatform

@testable import Warden

/// Correlated incidents against the emulator: a paused project, a broken connection, a long
/// API outage and a mass failure healed at the rate limit without a watchdog restart.
@Suite struct IncidentScenarioTests {
    static func tables(_ count: Int, prefix: String = "t") -> [String] {
        (0..<count).map { "\(prefix)\($0)" }
    }

    /// Exactly one alive job per table, and it is running (one listing of the emulator).
    static func allRunning(_ harness: WardenHarness, _ tables: [String]) async -> Bool {
        var alive: [String: [Job]] = [:]
        for job in await harness.emulator.allJobs() where !job.executionStatus.isTerminal {
            alive[job.targetTable ?? "", default: []].append(job)
        }
        return tables.allSatisfy { alive[$0]?.count == 1 && alive[$0]?.first?.executionStatus == .running }
    }

    static func budgetsUsed(_ harness: WardenHarness) async -> Int {
        await harness.supervisor.state.jobs.values.map { $0.reconciler.budget.attempts.count }.reduce(0, +)
    }

    @Test func aPausedProjectHoldsEveryWriteAndHealsAllOnResume() async throws {
        let tables = Self.tables(20)
        let harness = try await WardenHarness.make(jobs: tables)
        #expect(await harness.cycles(until: { await Self.allRunning(harness, tables) }, advance: 5) <= 3)
        await harness.emulator.pauseProject()
        await harness.emulator.resetRequestLog()
        // 40 s of pause at a 5 s poll.
        for _ in 0..<8 { await harness.cycle() }
        let writesDuringPause = await harness.writes()
        #expect(writesDuringPause.count <= 2, "\(writesDuringPause.map { "\($0.method) \($0.path)" })")
        #expect(harness.recorder.events("project-not-running").count == 1)
        let status = await harness.supervisor.statusLine()
        #expect(status.hasPrefix("project paused: holding 20 jobs;"), "\(status)")
        #expect(harness.recorder.events("job-gave-up").isEmpty)

        await harness.emulator.resumeProject()
        let polls = await harness.cycles(until: { await Self.allRunning(harness, tables) }, advance: 5)
        #expect(polls <= 3, "all jobs running within 3 polls of the resume")
        #expect(harness.recorder.events("project-running").count == 1)
        #expect(harness.recorder.events("job-gave-up").isEmpty)
        #expect(await Self.budgetsUsed(harness) == 0, "the pause was the project's fault, not the jobs'")
        await harness.stop()
    }

    @Test func aBrokenConnectionIsOneIncidentNotFifty() async throws {
        let tables = Self.tables(50)
        let harness = try await WardenHarness.make(jobs: tables)
        #expect(await harness.cycles(until: { await Self.allRunning(harness, tables) }, advance: 5) <= 3)
        await harness.emulator.breakConnection(
            name: "stream-wiki", message: "AccessDenied: not authorized to assume role")
        await harness.emulator.resetRequestLog()
        // Broken for 60 s at a 5 s poll.
        for _ in 0..<12 { await harness.cycle() }
        let requests = await harness.apiRequests()
        let creates = requests.filter { $0.method == "POST" && $0.path.hasSuffix("/jobs") }
        #expect(creates.isEmpty, "no job recreated while the connection is broken")
        let tests = requests.filter { $0.path.hasSuffix("/connections/stream-wiki/test") }
        // Tested at the break, then after 5, 10, 20, 40 s of backoff: 4 tests in 60 s.
        #expect(tests.count == 4, "\(tests.count) tests")
        let broken = harness.recorder.events("connection-broken")
        #expect(broken.count == 1)
        #expect(broken.first?.message.contains("AccessDenied") == true)
        #expect(broken.first?.metadata["POLARIS_CONNECTION"] == "stream-wiki")
        let status = await harness.supervisor.statusLine()
        #expect(status.hasPrefix("connection stream-wiki broken: holding 50 jobs;"), "\(status)")

        await harness.emulator.restoreConnection(name: "stream-wiki")
        #expect(await harness.cycles(until: { await Self.allRunning(harness, tables) }, limit: 12, advance: 5) <= 10)
        #expect(harness.recorder.events("connection-restored").count == 1)
        #expect(harness.recorder.events("job-gave-up").isEmpty)
        #expect(await Self.budgetsUsed(harness) == 0)
        await harness.stop()
    }

    @Test func aJobThatFailsOnItsOwnStillUsesItsBudget() async throws {
        let harness = try await WardenHarness.make(jobs: Self.tables(8))
        #expect(await harness.cycles(until: { await Self.allRunning(harness, Self.tables(8)) }, advance: 5) <= 3)
        let id = try #require(await harness.ourJobID("t0"))
        try await harness.emulator.failJob(id: id, code: "cannot_parse_source", message: "bad data")
        await harness.cycles(until: { await Self.allRunning(harness, Self.tables(8)) }, advance: 5)
        #expect(await Self.budgetsUsed(harness) == 1)
        #expect(harness.recorder.events("project-not-running").isEmpty)
        await harness.stop()
    }

    @Test func healsGoHigherPriorityFirst() async throws {
        var settings = SupervisorSettings.testDefaults
        settings.maxConcurrentActions = 1
        let tables = ["low", "high", "mid"]
        let harness = try await WardenHarness.make(jobs: tables, settings: settings) { config in
            config.jobs = config.jobs.map { job in
                var job = job
                job.priority = ["low": 0, "high": 10, "mid": 5][job.name] ?? 0
                return job
            }
        }
        #expect(await harness.cycles(until: { await Self.allRunning(harness, tables) }, advance: 5) <= 3)
        var failed: [String] = []
        for table in tables { failed.append(try #require(await harness.ourJobID(table))) }
        for id in failed { try await harness.emulator.failJob(id: id) }
        await harness.cycles(until: { await Self.allRunning(harness, tables) }, advance: 5)
        let recreated = await harness.emulator.allJobs().filter {
            !failed.contains($0.id) && !$0.executionStatus.isTerminal
        }
        let order = recreated.sorted { ($0.createdTimestamp!, $0.id) < ($1.createdTimestamp!, $1.id) }.map(
            \.targetTable)
        #expect(order == ["high", "mid", "low"])
        await harness.stop()
    }

    /// Thirty minutes of API outage (the warden's clock): no give-up, every fault healed after.
    @Test func aThirtyMinuteOutageEndsWithEverythingHealed() async throws {
        let tables = Self.tables(5)
        let harness = try await WardenHarness.make(jobs: tables)
        #expect(await harness.cycles(until: { await Self.allRunning(harness, tables) }, advance: 5) <= 3)
        let id = try #require(await harness.ourJobID("t1"))
        try await harness.emulator.failJob(id: id)
        _ = try await harness.emulator.inject(.status(503, count: 100_000))
        for _ in 0..<(30 * 60 / 60) {
            await harness.cycle()
            harness.clock.advance(seconds: 55)
        }
        #expect(await harness.supervisor.apiState != .ok)
        #expect(harness.recorder.events("api-unreachable").count == 1)
        await harness.emulator.clearFaults()
        #expect(await harness.cycles(until: { await Self.allRunning(harness, tables) }, advance: 5) <= 4)
        #expect(harness.recorder.events("api-recovered").count == 1)
        #expect(harness.recorder.events("job-gave-up").isEmpty)
        await harness.stop()
    }

    /// 1,000 jobs fail at once at 10 requests/s: the heal takes ~100 s, far past the watchdog's
    /// stall timeout, yet every completed write is progress, so the watchdog never triggers; the
    /// STATUS line shows how far the heal got. (Real time: the rate limit is real.)
    @Test(.timeLimit(.minutes(4))) func aThousandJobsFailingAtOnceHealWithoutAWatchdogTrigger() async throws {
        let count = 1000
        let tables = Self.tables(count, prefix: "mass-")
        let emulator = try await WardenHarness.startedEmulator()
        _ = try await emulator.store.createConnection(
            .object(WardenConfig.connectionFields("stream-wiki")))
        var ids: [String] = []
        for table in tables { ids.append(try await emulator.store.createJob(WardenConfig.spec(table: table).json)) }
        var settings = SupervisorSettings.testDefaults
        settings.maxConcurrentActions = 8
        let harness = try await WardenHarness.make(
            jobs: tables, settings: settings, emulator: emulator, maxRequestsPerSecond: 10,
            requestTimeout: .seconds(5))
        await harness.cycle()  // adopts all
        #expect(await harness.supervisor.state.jobs.values.compactMap(\.reconciler.jobID).count == count)

        let decisions = Mutex<[WatchdogPolicy.Decision]>([])
        let statuses = Mutex<[String]>([])
        let watchdog = WatchdogService(
            policy: WatchdogPolicy(interval: .seconds(4), stallTimeout: .seconds(15))
        ) { decision in decisions.withLock { $0.append(decision) } }
        await harness.supervisor.setProgressHandler { status in
            watchdog.reportProgress()
            if let status { statuses.withLock { $0.append(status) } }
        }
        let ticking = Task { await watchdog.run() }
        for id in ids { try await emulator.failJob(id: id) }
        let started = ContinuousClock.now
        while !(await Self.allRunning(harness, tables)), ContinuousClock.now - started < .seconds(200) {
            await harness.cycle()
            watchdog.reportProgress()
        }
        let elapsed = ContinuousClock.now - started
        ticking.cancel()
        #expect(await Self.allRunning(harness, tables))
        // N / rate + 3 polls (the list and the project check share the rate limit).
        #expect(elapsed < .seconds(Double(count) / 10 + 3 * 5 + 5), "healed in \(elapsed)")
        #expect(!decisions.withLock { $0 }.contains(.trigger), "no WATCHDOG=trigger during the heal")
        #expect(decisions.withLock { $0 }.filter { $0 == .ping }.count >= 10)
        let lines = statuses.withLock { $0 }
        #expect(lines.contains { $0.hasPrefix("healing ") && $0.contains("/1000 (") }, "\(lines.prefix(3))")
        #expect(harness.recorder.events("job-gave-up").isEmpty)
        await harness.stop()
    }

    /// The watchdog still fires when the loop is truly wedged: no cycle end and no write.
    @Test func aWedgedLoopStillTriggersTheWatchdog() async throws {
        let clock = ManualClock()
        let decisions = Mutex<[WatchdogPolicy.Decision]>([])
        let watchdog = WatchdogService(
            policy: WatchdogPolicy(interval: .seconds(4), stallTimeout: .seconds(15)), clock: clock
        ) { decision in decisions.withLock { $0.append(decision) } }
        clock.advance(by: .seconds(10))
        watchdog.reportProgress()  // a write completed
        clock.advance(by: .seconds(10))
        #expect(watchdog.tick() == .ping)
        clock.advance(by: .seconds(6))
        #expect(watchdog.tick() == .trigger)
    }
}
