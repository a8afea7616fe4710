import Foundation
import PolarisAPI
import PolarisEmulator
import TestSupport
import Testing

@testable import Warden

/// A first start over a project where the user already made the seed's connection and job by
/// hand, with the exact request bodies of the Polaris docs ("Ingest data from Amazon Kinesis
/// by API"). The emulator echoes specs the way the live service does, so what the service
/// fills in (`isAggregation: null`, `flattenSpec: {}`, `target.intervals: []`, ...) must not
/// read as drift.
@Suite struct AdoptionScenarioTests {
    /// The docs' connection request body, verbatim.
    static let connectionRequest = JSONValue.object(SampleBodies.kinesisConnection())

    /// The docs' job request body, verbatim (the same as `WardenConfig.spec(table:)`).
    static var jobRequest: JSONValue { WardenConfig.spec(table: "wikipedia-kinesis").json }

    /// A harness whose emulator already holds the hand-made connection and job (id returned).
    static func handMade(
        jobBody: JSONValue = jobRequest, settings: SupervisorSettings = .testDefaults,
        configure: (inout WardenConfig) -> Void = { _ in }
    ) async throws -> (WardenHarness, String) {
        let emulator = try await WardenHarness.startedEmulator()
        _ = try await emulator.store.createConnection(connectionRequest)
        let id = try await emulator.store.createJob(jobBody)
        let harness = try await WardenHarness.make(settings: settings, emulator: emulator, configure: configure)
        await emulator.resetRequestLog()
        return (harness, id)
    }

    @Test func handMadeSeedIsAdoptedWithoutAnyWriteOverTenCycles() async throws {
        let (harness, id) = try await Self.handMade()
        for _ in 0..<10 { await harness.cycle() }
        let writes = await harness.writes()
        #expect(writes.isEmpty, "\(writes.map { "\($0.method) \($0.path)" })")
        #expect(await harness.ourJobID() == id)
        #expect(harness.recorder.events("job-adopted").count == 1)
        #expect(harness.recorder.events("job-drifted").isEmpty)
        #expect(harness.recorder.events("job-replaced").isEmpty)
        #expect(harness.recorder.events("connection-created").isEmpty)
        #expect(harness.recorder.events("connection-updated").isEmpty)
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").map(\.id) == [id])
        let check = try #require(await harness.supervisor.state.jobs["wikipedia-kinesis"]?.specCheck)
        #expect(check.jobID == id && !check.drifted, "the adopted job was compared and matched")
        await harness.stop()
    }

    @Test func specCopiedBackFromALiveGetAdoptsCleanly() async throws {
        let emulator = try await WardenHarness.startedEmulator()
        _ = try await emulator.store.createConnection(Self.connectionRequest)
        let id = try await emulator.store.createJob(Self.jobRequest)
        let live = try #require(await emulator.job(id: id)?.spec)
        #expect(live.fields["target"]?["intervals"] == [], "the emulator echoes like the live service")
        let harness = try await WardenHarness.make(emulator: emulator) { config in
            config.jobs = [DesiredJob(name: "wikipedia-kinesis", spec: live)]
        }
        await emulator.resetRequestLog()
        for _ in 0..<10 { await harness.cycle() }
        #expect(await harness.writes().isEmpty)
        #expect(await harness.ourJobID() == id)
        #expect(harness.recorder.events("job-drifted").isEmpty)
        #expect(harness.recorder.events("job-replaced").isEmpty)
        // A later recreate sends the pasted spec back: Polaris accepts it.
        try await emulator.failJob(id: id)
        await harness.cycles(until: { await harness.aliveJobs(on: "wikipedia-kinesis").count == 1 }, advance: 5)
        #expect(await harness.ourJobID() != id)
        #expect(harness.recorder.events("job-recreated").count == 1)
        await harness.stop()
    }

    static func driftedBody() -> JSONValue {
        var spec = WardenConfig.spec(table: "wikipedia-kinesis")
        spec.fields["mappings"] = [["columnName": "__time", "expression": "TIME_PARSE(\"ts\")"]]
        return spec.json
    }

    @Test func realDriftIsOnlyReportedWhenConfiguredSo() async throws {
        var settings = SupervisorSettings.testDefaults
        settings.onSpecDrift = .report
        let (harness, id) = try await Self.handMade(jobBody: Self.driftedBody(), settings: settings)
        for _ in 0..<5 { await harness.cycle() }
        #expect(await harness.writes().isEmpty)
        #expect(await harness.ourJobID() == id)
        let drifted = harness.recorder.events("job-drifted")
        #expect(drifted.count == 1)
        let expected =
            #"spec.mappings[columnName=__time].expression: desired "TIME_PARSE(\"timestamp\")", live "TIME_PARSE(\"ts\")""#
        #expect(drifted.first?.message.contains(expected) == true, "\(drifted.first?.message ?? "")")
        #expect(drifted.first?.metadata["WARDEN_DRIFT"] == expected)
        let check = try #require(await harness.supervisor.state.jobs["wikipedia-kinesis"]?.specCheck)
        #expect(check.differences?.map(\.description) == [expected], "status reads it from the state file")
        let status = await harness.supervisor.statusLine()
        #expect(status.contains("1 drifted"), "\(status)")
        await harness.stop()
    }

    @Test func realDriftIsReplacedExactlyOnce() async throws {
        let (harness, id) = try await Self.handMade(jobBody: Self.driftedBody())
        for _ in 0..<6 { await harness.cycle() }
        let creates = await harness.writes().filter { $0.method == "POST" && $0.path.hasSuffix("/jobs") }
        #expect(creates.count == 1)
        #expect(harness.recorder.events("job-replaced").count == 1)
        let replaced = try #require(harness.recorder.events("job-replaced").first)
        #expect(replaced.message.contains("spec.mappings[columnName=__time].expression"), "\(replaced.message)")
        let alive = await harness.aliveJobs(on: "wikipedia-kinesis")
        #expect(alive.count == 1 && alive.first?.id != id)
        #expect(await harness.ourJobID() == alive.first?.id)
        await harness.stop()
    }

    /// A create refused because another job holds the table is recognised by looking at the
    /// table's jobs, whatever the refusal says and whether it is a 400 or a 409. The list the
    /// warden acted on was stale (a fault answers it empty) while a hand-made job holds the table.
    @Test(arguments: [400, 409]) func tableHeldIsRecognisedByStateNotWording(status: Int) async throws {
        let emulator = WardenHarness.emulatorRefusingHeldTables(
            status: status, message: "Zugriff verweigert: Ressource belegt (Fehler 7731).")
        _ = try await emulator.start()
        _ = try await emulator.store.createConnection(Self.connectionRequest)
        let holder = try await emulator.store.createJob(Self.jobRequest)
        let harness = try await WardenHarness.make(emulator: emulator)
        try await emulator.answerNextJobListEmpty()
        await harness.cycle()
        let creates = await harness.writes().filter { $0.method == "POST" && $0.path.hasSuffix("/jobs") }
        #expect(creates.map(\.status) == [status])
        let lookups = await harness.apiRequests().filter {
            $0.method == "GET" && ($0.query ?? "").contains("targetTableName")
        }
        #expect(lookups.count == 1, "the table's jobs were asked for")
        #expect(harness.recorder.all.contains { $0.message.contains("another streaming job holds table") })
        // The next cycle sees the holder and adopts it instead of fighting it.
        for _ in 0..<3 { await harness.cycle() }
        #expect(await harness.ourJobID() == holder)
        #expect(await harness.writes().filter { $0.method == "POST" }.count == 1)
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").map(\.id) == [holder])
        await harness.stop()
    }

    /// The same refusal text on a table nobody holds is an ordinary (terminal) failure: no
    /// `replaceRunning` on the strength of a message alone.
    @Test func refusalOnATableNobodyHoldsIsAnOrdinaryFailure() async throws {
        let harness = try await WardenHarness.make()
        let refusal: JSONValue = [
            "code": "InvalidArgument",
            "message": "Table [wikipedia-kinesis] already has a streaming ingestion job; set replaceRunning to true.",
        ]
        _ = try await harness.emulator.inject(
            .status(400, body: refusal, count: 1, method: "POST", pathPattern: "/jobs$"))
        await harness.cycle()
        #expect(harness.recorder.all.contains { $0.message.contains("rejected by Polaris") })
        #expect(!harness.recorder.all.contains { $0.message.contains("another streaming job holds table") })
        await harness.cycles(until: { await harness.aliveJobs(on: "wikipedia-kinesis").count == 1 }, advance: 10)
        let job = try #require(await harness.aliveJobs(on: "wikipedia-kinesis").first)
        #expect(job.spec?.replaceRunning != true)
        await harness.stop()
    }

    @Test func idleJobIsHealthyAndCounted() async throws {
        let harness = try await WardenHarness.make(jobs: ["wikipedia-kinesis", "orders"])
        await harness.cycle()
        let id = try await harness.jobIDAfterCycle()
        try await harness.emulator.idleJob(id: id)
        await harness.emulator.resetRequestLog()
        for _ in 0..<5 { await harness.cycle() }
        #expect(await harness.writes().isEmpty)
        #expect(await harness.supervisor.statusLine().hasPrefix("2 jobs: 1 running, 1 idle;"))
        #expect(harness.recorder.events("job-unhealthy").isEmpty)
        try await harness.emulator.activateJob(id: id)
        await harness.cycle()
        #expect(await harness.supervisor.statusLine().hasPrefix("2 jobs: 2 running;"))
        #expect(await harness.writes().isEmpty)
        await harness.stop()
    }
}
