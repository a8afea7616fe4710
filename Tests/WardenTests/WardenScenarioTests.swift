import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

@testable import Warden

/// One scenario per row of the healing ladder and per fault, warden ↔ emulator on loopback.
/// Each asserts the outcome and the number and kind of API calls.
@Suite struct WardenScenarioTests {
    @Test func createsMissingConnectionAndJobThenSteadyStateOnlyLists() async throws {
        let harness = try await WardenHarness.make(jobs: ["wikipedia-kinesis", "orders"])
        await harness.cycle()
        #expect(await harness.emulator.connections().map(\.name) == ["stream-wiki"])
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").count == 1)
        #expect(await harness.aliveJobs(on: "orders").count == 1)
        #expect(harness.recorder.events("job-created").count == 2)
        #expect(harness.recorder.events("connection-created").count == 1)

        await harness.emulator.resetRequestLog()
        await harness.cycle()
        let requests = await harness.apiRequests()
        #expect(requests.allSatisfy { $0.method == "GET" })
        // A delta read (one page of the list by last update, plus the unhealthy subset) and the
        // connection list; the created jobs' specs are known, so no GET per job.
        #expect(requests.count == 3, "\(requests.map { "\($0.method) \($0.path)" })")
        await harness.stop()
    }

    @Test func failedJobIsRecreated() async throws {
        let harness = try await WardenHarness.make()
        let first = try await harness.jobIDAfterCycle()
        try await harness.emulator.failJob(id: first, code: "internal_error", message: "boom")
        await harness.emulator.resetRequestLog()
        await harness.cycles(until: { await harness.aliveJobs(on: "wikipedia-kinesis").count == 1 }, advance: 5)
        let second = try #require(await harness.ourJobID())
        #expect(second != first)
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").map(\.id) == [second])
        let creates = await harness.writes().filter { $0.method == "POST" && $0.path.hasSuffix("/jobs") }
        #expect(creates.count == 1)
        #expect(harness.recorder.events("job-failed").count == 1)
        let recreated = harness.recorder.events("job-recreated")
        #expect(recreated.count == 1)
        #expect(recreated.first?.metadata["POLARIS_JOB_ID"] == second)
        #expect(recreated.first?.metadata["POLARIS_TABLE"] == "wikipedia-kinesis")
        #expect(recreated.first?.metadata["WARDEN_ATTEMPT"] == "1")
        await harness.stop()
    }

    @Test func canceledJobIsRecreatedByDefault() async throws {
        let harness = try await WardenHarness.make()
        let first = try await harness.jobIDAfterCycle()
        try await harness.emulator.cancelJob(id: first)
        await harness.cycles(until: { await harness.aliveJobs(on: "wikipedia-kinesis").count == 1 }, advance: 5)
        #expect(await harness.ourJobID() != first)
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").count == 1)
        await harness.stop()
    }

    /// `onCanceled: leave` / `onSuspended: leave`: the job stays as it was, with no write and
    /// one report saying why.
    @Test(arguments: [ExecutionStatus.canceled, .suspended])
    func aStoppedJobIsLeftWhenConfigured(status: ExecutionStatus) async throws {
        var settings = SupervisorSettings.testDefaults
        let setting = status == .canceled ? "onCanceled" : "onSuspended"
        if status == .canceled { settings.onCanceled = .leave } else { settings.onSuspended = .leave }
        let harness = try await WardenHarness.make(settings: settings)
        let id = try await harness.jobIDAfterCycle()
        if status == .canceled {
            try await harness.emulator.cancelJob(id: id)
        } else {
            try await harness.emulator.suspendJob(id: id)
        }
        await harness.emulator.resetRequestLog()
        for _ in 0..<4 { await harness.cycle() }
        #expect(await harness.writes().isEmpty)
        #expect(await harness.emulator.job(id: id)?.executionStatus == status)
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").map(\.id) == (status.isTerminal ? [] : [id]))
        #expect(harness.recorder.all.filter { $0.message.contains("\(setting): leave") }.count == 1)
        await harness.stop()
    }

    @Test func suspendedJobIsResumed() async throws {
        let harness = try await WardenHarness.make()
        let id = try await harness.jobIDAfterCycle()
        try await harness.emulator.suspendJob(id: id)
        await harness.emulator.resetRequestLog()
        await harness.cycles(until: { await harness.emulator.job(id: id)?.executionStatus == .running }, advance: 5)
        #expect(await harness.ourJobID() == id, "resumed in place, not recreated")
        let writes = await harness.writes()
        #expect(writes.map(\.method) == ["POST"])
        #expect(writes.first?.path.hasSuffix("/jobs/\(id)/status") == true)
        #expect(harness.recorder.events("job-resumed").count == 1)
        await harness.stop()
    }

    @Test func persistentErrorHealthIsReplacedAfterTheThreshold() async throws {
        let harness = try await WardenHarness.make()
        let id = try await harness.jobIDAfterCycle()
        try await harness.emulator.setHealth(jobID: id, JobHealth(status: .error, code: "internal_error", message: "x"))
        await harness.emulator.resetRequestLog()
        await harness.cycle()
        await harness.cycle()
        #expect(await harness.writes().isEmpty, "below unhealthyThreshold nothing happens")
        await harness.cycles(until: { await harness.ourJobID() != id }, advance: 5)
        let newID = try #require(await harness.ourJobID())
        #expect(newID != id)
        #expect(await harness.emulator.job(id: id)?.executionStatus == .canceled, "replaceRunning cancels the old job")
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").map(\.id) == [newID])
        #expect(harness.recorder.events("job-replaced").count == 1)
        #expect(harness.recorder.events("job-unhealthy").count == 1)
        await harness.stop()
    }

    @Test func flappingJobGivesUpAfterTheBudgetWithOneCriticalEvent() async throws {
        let harness = try await WardenHarness.make()
        await harness.cycle()
        for _ in 0..<12 {
            if let id = await harness.ourJobID(), await harness.emulator.job(id: id)?.executionStatus == .running {
                try await harness.emulator.failJob(id: id, code: "internal_error")
            }
            harness.clock.advance(seconds: 10)
            await harness.cycle()
        }
        let gaveUp = harness.recorder.events("job-gave-up")
        #expect(gaveUp.count == 1)
        #expect(gaveUp.first?.level == .critical)
        let creates = await harness.emulator.requestLog().filter { $0.method == "POST" && $0.path.hasSuffix("/jobs") }
        #expect(creates.count == 1 + 3, "the first create plus maxAttempts recreates")
        #expect(await harness.supervisor.statusLine().contains("gave up"))
        // No further writes while given up.
        await harness.emulator.resetRequestLog()
        for _ in 0..<3 { await harness.cycle() }
        #expect(await harness.writes().isEmpty)
        // `retry` brings it back.
        await harness.supervisor.retry(jobNamed: "wikipedia-kinesis")
        await harness.cycles(until: { await harness.aliveJobs(on: "wikipedia-kinesis").count == 1 }, advance: 10)
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").count == 1)
        await harness.stop()
    }

    @Test func restartBetweenIntentAndCreateAdoptsInsteadOfDuplicating() async throws {
        // A previous warden recorded the intent and its create reached Polaris, then it died.
        let first = try await WardenHarness.make()
        let created = try await first.jobIDAfterCycle()
        var state = WardenState()
        var record = JobRecord(jobName: "wikipedia-kinesis")
        record.pendingCreate = PendingCreate(table: "wikipedia-kinesis", startedAt: Date(), specFingerprint: "x")
        state.jobs["wikipedia-kinesis"] = record
        let restarted = try await first.restarted(initialState: state)
        await restarted.emulator.resetRequestLog()
        await restarted.cycle()
        await restarted.cycle()
        #expect(await restarted.aliveJobs(on: "wikipedia-kinesis").map(\.id) == [created])
        #expect(await restarted.writes().isEmpty)
        #expect(await restarted.ourJobID() == created)
        #expect(restarted.recorder.events("job-adopted").count == 1)
        #expect(await restarted.supervisor.state.jobs["wikipedia-kinesis"]?.pendingCreate == nil)
        await restarted.stop()
    }

    @Test func stateFileIsWrittenAndSurvivesARestart() async throws {
        let harness = try await WardenHarness.make()
        let id = try await harness.jobIDAfterCycle()
        let (loaded, result) = StateStore(path: harness.stateDirectory + "/state.json").load()
        guard case .loaded = result else {
            Issue.record("state file not loaded: \(result)")
            return
        }
        #expect(loaded.jobs["wikipedia-kinesis"]?.reconciler.jobID == id)
        let text = try String(contentsOfFile: harness.stateDirectory + "/state.json", encoding: .utf8)
        #expect(!text.contains(WardenHarness.apiKey))
        await harness.stop()
    }

    @Test func corruptStateFileIsRebuiltByAdoption() async throws {
        let first = try await WardenHarness.make()
        let id = try await first.jobIDAfterCycle()
        try "{not json".write(toFile: first.stateDirectory + "/state.json", atomically: true, encoding: .utf8)
        let second = try await first.restarted()
        await second.emulator.resetRequestLog()
        await second.cycle()
        #expect(await second.ourJobID() == id)
        #expect(await second.writes().isEmpty)
        let files = try FileManager.default.contentsOfDirectory(atPath: first.stateDirectory)
        #expect(files.contains { $0.hasPrefix("state.json.corrupt-") }, "the unreadable file is kept aside")
        await second.stop()
    }

    @Test func recoversThroughA503StormAndA429WithRetryAfter() async throws {
        let harness = try await WardenHarness.make()
        let id = try await harness.jobIDAfterCycle()
        try await harness.emulator.failJob(id: id, code: "internal_error")
        _ = try await harness.emulator.inject(.status(503, count: 8))
        await harness.cycle()
        #expect(harness.recorder.events("api-unreachable").count == 1)
        #expect(await harness.supervisor.statusLine().contains("API unreachable"))
        _ = try await harness.emulator.inject(.status(429, retryAfter: .seconds(1), count: 1, method: "GET"))
        await harness.cycles(until: { await harness.aliveJobs(on: "wikipedia-kinesis").count == 1 }, advance: 5)
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").count == 1)
        #expect(harness.recorder.events("api-recovered").count == 1)
        #expect(await harness.supervisor.statusLine().hasSuffix("API ok"))
        await harness.stop()
    }

    @Test func specDriftIsReplaced() async throws {
        let harness = try await WardenHarness.make()
        let id = try await harness.jobIDAfterCycle()
        var config = harness.config
        config.jobs[0].spec.fields["filterExpression"] = "\"added\" IS NOT NULL"
        await harness.supervisor.apply(config: config)
        await harness.emulator.resetRequestLog()
        await harness.cycles(until: { await harness.ourJobID() != id }, advance: 5)
        let newID = try #require(await harness.ourJobID())
        #expect(newID != id)
        let fetched = try #require(await harness.emulator.job(id: newID))
        #expect(fetched.spec?.fields["filterExpression"] == "\"added\" IS NOT NULL")
        #expect(harness.recorder.events("job-replaced").count == 1)
        await harness.stop()
    }

    @Test func defaultsPolarisFillsInAreNotDrift() async throws {
        let harness = try await WardenHarness.make()
        let id = try await harness.jobIDAfterCycle()
        // A fresh warden (no state file) adopts and checks the echoed spec once.
        let second = try await WardenHarness.make(emulator: harness.emulator)
        await harness.emulator.resetRequestLog()
        await second.cycle()
        await second.cycle()
        #expect(await second.ourJobID() == id)
        #expect(await second.writes().isEmpty)
        let gets = await second.apiRequests().filter { $0.path.hasSuffix("/jobs/\(id)") }
        #expect(gets.count == 1, "drift is checked once per job and spec, not every cycle")
        await second.stop()
        await harness.stop()
    }

    @Test func unmanagedJobsAreNeverTouched() async throws {
        let harness = try await WardenHarness.make()
        await harness.cycle()
        let client = PolarisClient(
            configuration: try PolarisClientConfiguration(
                url: harness.emulator.baseURL, projectID: harness.emulator.projectID,
                authentication: .apiKey(Secret(WardenHarness.apiKey))))
        let foreign = try await client.createJob(WardenConfig.spec(table: "someone-elses-table"))
        try await harness.emulator.failJob(id: foreign.id, code: "internal_error")
        let other = try await client.createJob(WardenConfig.spec(table: "another-table"))
        try await harness.emulator.suspendJob(id: other.id)
        await harness.emulator.resetRequestLog()
        for _ in 0..<4 { await harness.cycle() }
        #expect(await harness.writes().isEmpty)
        #expect(await harness.emulator.job(id: foreign.id)?.executionStatus == .failed)
        #expect(await harness.emulator.job(id: other.id)?.executionStatus == .suspended)
        await harness.stop()
    }

    @Test func adoptsTheNewestAliveJobOnFirstInstall() async throws {
        let emulator = try await WardenHarness.startedEmulator()
        let client = PolarisClient(
            configuration: try PolarisClientConfiguration(
                url: emulator.baseURL, projectID: emulator.projectID,
                authentication: .apiKey(Secret(WardenHarness.apiKey))))
        _ = try await client.createConnection(WardenConfig.connectionFields("stream-wiki"))
        let existing = try await client.createJob(WardenConfig.spec(table: "wikipedia-kinesis"))
        let harness = try await WardenHarness.make(emulator: emulator)
        await emulator.resetRequestLog()
        await harness.cycle()
        #expect(await harness.ourJobID() == existing.id)
        #expect(await harness.writes().isEmpty)
        await harness.stop()
    }

    @Test func planMakesNoWriteCall() async throws {
        let harness = try await WardenHarness.make(jobs: ["a", "b"])
        await harness.emulator.resetRequestLog()
        let plan = try await harness.supervisor.plan()
        #expect(plan.connections.map(\.connectionName) == ["stream-wiki"])
        #expect(plan.jobs.map { $0.step.write?.action } == [.create, .create])
        #expect(await harness.writes().isEmpty)
        #expect(await harness.emulator.allJobs().isEmpty)
        await harness.stop()
    }

    @Test func connectionDriftIsPatched() async throws {
        let harness = try await WardenHarness.make()
        await harness.cycle()
        var config = harness.config
        config.connections[0].fields["stream"] = "new-stream"
        await harness.supervisor.apply(config: config)
        await harness.emulator.resetRequestLog()
        await harness.cycle()
        let patches = await harness.writes().filter { $0.method == "PATCH" }
        #expect(patches.count == 1)
        #expect(await harness.emulator.connections().first?.stream == "new-stream")
        #expect(harness.recorder.events("connection-updated").count == 1)
        await harness.stop()
    }

    @Test func aCreateWhoseAnswerWasLostIsAdoptedWhenItLandsNotSentTwice() async throws {
        // The emulator holds the POST for 4 s (real time, 8 × the client's timeout) and then
        // creates the job; the client gave up after 0.5 s, so the warden does not know whether
        // the create happened. Cycles while the supervisor's clock stands still (inside the
        // settle window) must not send it again, and the job is adopted once it lands, however
        // long a loaded machine takes to get there.
        let hold = Duration.seconds(4)
        let harness = try await WardenHarness.make(requestTimeout: .milliseconds(500))
        _ = try await harness.emulator.inject(.delay(hold, count: 1, method: "POST", pathPattern: "/jobs$"))
        await harness.cycle()
        #expect(await harness.ourJobID() == nil)
        let patience = ContinuousClock.now + hold * 15
        while await harness.ourJobID() == nil, ContinuousClock.now < patience {
            try await Task.sleep(for: .milliseconds(50))
            await harness.cycle(advance: false)
        }
        let adopted = try #require(await harness.ourJobID())
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").map(\.id) == [adopted])
        let creates = await harness.emulator.requestLog().filter { $0.method == "POST" && $0.path.hasSuffix("/jobs") }
        #expect(creates.count == 1, "never a second create while the first may still land")
        #expect(harness.recorder.events("job-adopted").count == 1)
        await harness.stop()
    }

    @Test func adoptionChecksDriftInBoundedBatchesPerCycle() async throws {
        let tables = (1...25).map { "adopted-\($0)" }
        let first = try await WardenHarness.make(jobs: tables)
        await first.cycle()
        // A fresh warden (no state file) adopts all 25 jobs; with 1 request/s allowed it checks
        // at most max(10, 1 × 5 s / 2) = 10 specs per cycle.
        let second = try await WardenHarness.make(jobs: tables, emulator: first.emulator)
        var config = second.config
        config.polaris.maxRequestsPerSecond = 1
        await second.supervisor.apply(config: config)
        var perCycle: [Int] = []
        for _ in 0..<4 {
            await first.emulator.resetRequestLog()
            await second.cycle()
            let gets = await second.apiRequests().filter { $0.method == "GET" && $0.path.contains("/jobs/") }
            perCycle.append(gets.count)
        }
        #expect(perCycle == [10, 10, 5, 0])
        #expect(await second.writes().isEmpty)
        await second.stop()
        await first.stop()
    }
}
