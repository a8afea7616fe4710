import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

@testable import Warden

/// The healing ladder under every reading of what the reference marks [INFERRED]: the status
/// of a table-held refusal, what a replaced job becomes, `warn` or `warning`, what a resume
/// answers, whether `Retry-After` is sent. One scenario, run once per `LiveBehaviour`
/// alternative (and once under the standard reading): the warden must heal correctly under
/// all of them.
@Suite struct LiveBehaviourScenarioTests {
    static let readings: [(name: String, behaviour: LiveBehaviour)] =
        [("standard", LiveBehaviour.standard)] + LiveBehaviour.alternatives

    @Test func everyAlternativeIsExercised() {
        #expect(LiveBehaviour.alternatives.count >= 5)
        #expect(Set(LiveBehaviour.alternatives.map(\.behaviour)).count == LiveBehaviour.alternatives.count)
        #expect(!LiveBehaviour.alternatives.map(\.behaviour).contains(LiveBehaviour.standard))
    }

    @Test(arguments: readings.map(\.name)) func ladderHealsUnder(reading: String) async throws {
        let behaviour = try #require(Self.readings.first { $0.name == reading }?.behaviour)
        let emulator = PolarisEmulator(configuration: EmulatorConfiguration(apiKey: WardenHarness.apiKey))
        await emulator.setBehaviour(behaviour)
        let harness = try await WardenHarness.make(jobs: ["wikipedia-kinesis", "orders"], emulator: emulator)
        let table = "wikipedia-kinesis"
        func settled() async -> Bool {
            let alive = await harness.aliveJobs(on: table)
            let ours = await harness.ourJobID()
            return alive.count == 1 && alive.first?.id == ours && alive.first?.executionStatus == .running
        }
        func creates() async -> Int {
            await emulator.requestLog().filter { $0.method == "POST" && $0.path.hasSuffix("/jobs") && $0.status == 201 }
                .count
        }

        // First start: both jobs created and running.
        #expect(await harness.cycles(until: settled, advance: 5) <= 5)
        #expect(await creates() == 2)

        // Failed: recreated once.
        try await emulator.failJob(id: try #require(await harness.ourJobID()))
        #expect(await harness.cycles(until: settled, advance: 5) <= 10, "\(reading): recreate")
        #expect(await creates() == 3)

        // Suspended: resumed, not recreated.
        try await emulator.suspendJob(id: try #require(await harness.ourJobID()))
        #expect(await harness.cycles(until: settled, advance: 5) <= 10, "\(reading): resume")
        #expect(await creates() == 3)
        #expect(harness.recorder.events("job-resumed").count == 1)

        // A warning (spelled either way) is not an error: nothing written.
        let id = try #require(await harness.ourJobID())
        try await emulator.setHealth(jobID: id, JobHealth(status: .warn, code: "some_warning", message: "heads up"))
        await emulator.resetRequestLog()
        for _ in 0..<4 { await harness.cycle() }
        #expect(await harness.writes().isEmpty, "\(reading): warn")

        // Unhealthy for the threshold: replaced exactly once, whatever the old job becomes.
        try await emulator.setHealth(jobID: id, JobHealth(status: .error, code: "internal_error", message: "sick"))
        #expect(await harness.cycles(until: { await harness.ourJobID() != id }, advance: 5) <= 10, "\(reading)")
        #expect(await harness.cycles(until: settled, advance: 5) <= 10, "\(reading): replace")
        #expect(await creates() == 1, "\(reading): one replace since the request log was reset")
        #expect(harness.recorder.events("job-replaced").count == 1)

        // Throttled (with or without Retry-After): the cycle still gets through.
        _ = try await emulator.inject(
            .status(429, retryAfter: .seconds(1), count: 1, method: "GET", pathPattern: "/jobs$"))
        await harness.cycle()
        #expect(await harness.supervisor.apiState == .ok, "\(reading): 429")

        // The other job was never touched; nobody gave up; never two alive jobs on a table
        // once settled.
        #expect(await harness.aliveJobs(on: "orders").count == 1)
        #expect(harness.recorder.events("job-gave-up").isEmpty)
        await harness.stop()
    }

    /// The refusal when a table is held, under both statuses and a wording never seen before,
    /// during a heal: the recreate that is refused is followed by one that takes the table over
    /// (or by adoption of the holder), never by a gave-up or a second holder.
    @Test(arguments: [400, 409]) func recreateRefusedByAHolderHeals(status: Int) async throws {
        let emulator = WardenHarness.emulatorRefusingHeldTables(status: status, message: "E_CONFLICT")
        let harness = try await WardenHarness.make(emulator: emulator)
        let first = try await harness.jobIDAfterCycle()
        try await emulator.failJob(id: first)
        // A stale list (answered as it was before the failure would not help): the warden sees
        // its job failed, while a hand-made job appears on the table before the recreate lands.
        let holder = try await emulator.store.createJob(WardenConfig.spec(table: "wikipedia-kinesis").json)
        try await emulator.answerNextJobListEmpty()
        await harness.cycles(
            until: {
                let alive = await harness.aliveJobs(on: "wikipedia-kinesis").count
                let ours = await harness.ourJobID()
                return alive == 1 && ours != first
            }, limit: 10, advance: 5)
        let alive = await harness.aliveJobs(on: "wikipedia-kinesis")
        #expect(alive.count == 1)
        let ours = await harness.ourJobID()
        #expect(alive.first?.id == ours)
        #expect([holder].contains(alive.first?.id ?? "") || alive.first?.spec?.replaceRunning == true)
        #expect(harness.recorder.events("job-gave-up").isEmpty)
        await harness.stop()
    }
}
