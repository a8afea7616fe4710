import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

/// `idle`: "a streaming ingestion job has no data to ingest" (docs/polaris/api-reference.md §4.5, §4.9). The
/// emulator shows it on demand (a quiet Kinesis stream) and takes the job back to `running`.
@Suite("Idle streaming jobs")
struct IdleTests {
    @Test func adminAPIIdlesAndActivatesARunningJob() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            #expect(job.executionStatus == .running)

            let idle = try await harness.send(.POST, "/_emulator/jobs/\(job.id)/idle", auth: .none)
            #expect(idle.status == 200 && idle.json["executionStatus"] == "idle", "\(idle.text)")
            let fetched = try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self)
            #expect(fetched.executionStatus == .idle)
            #expect(fetched.desiredExecutionStatus == .running && fetched.health == .ok)
            #expect(try await harness.send(.GET, "jobs/\(job.id)/status").json["executionStatus"] == "idle")
            let listed = try await harness.send(.GET, "jobs?executionStatus=idle").decode(JobList.self)
            #expect(listed.values.map(\.id) == [job.id] && listed.values[0].executionStatus == .idle)
            // Idle again changes nothing.
            #expect(try await harness.send(.POST, "/_emulator/jobs/\(job.id)/idle", auth: .none).status == 200)

            let active = try await harness.send(.POST, "/_emulator/jobs/\(job.id)/active", auth: .none)
            #expect(active.status == 200 && active.json["executionStatus"] == "running")
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .running)
            let logs = try await harness.emulator.store.logs(jobID: job.id).map(\.code)
            #expect(logs == ["created", "running", "idle", "running"])
        }
    }

    @Test func inProcessHelpersMirrorTheAdminAPI() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            try await harness.emulator.idleJob(id: job.id)
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .idle)
            // A quiet job can still be suspended and resumed like any other.
            try await harness.emulator.suspendJob(id: job.id)
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .suspended)
            try await harness.emulator.resumeJob(id: job.id)
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .running)  // start delay 0
            try await harness.emulator.idleJob(id: job.id)
            try await harness.emulator.activateJob(id: job.id)
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .running)
        }
    }

    @Test func onlyARunningStreamingJobGoesIdle() async throws {
        try await EmulatorHarness.with(EmulatorHarness.configuration(startDelay: .seconds(30))) { harness in
            let pending = try await harness.createStreamingJob()
            let refused = try await harness.send(.POST, "/_emulator/jobs/\(pending.id)/idle", auth: .none)
            #expect(refused.status == 400 && refused.isErrorResponse)
            await #expect(throws: EmulatorError.self) { try await harness.emulator.idleJob(id: pending.id) }
            await #expect(throws: EmulatorError.self) { try await harness.emulator.activateJob(id: pending.id) }
            #expect(await harness.emulator.job(id: pending.id)?.executionStatus == .pending)

            await harness.emulator.advance(by: .seconds(31))
            try await harness.emulator.failJob(id: pending.id)
            #expect(try await harness.send(.POST, "/_emulator/jobs/\(pending.id)/idle", auth: .none).status == 400)
            #expect(try await harness.send(.POST, "/_emulator/jobs/missing/idle", auth: .none).status == 404)

            // A batch job never goes idle.
            let batch = try await harness.send(
                .POST, "jobs",
                json: json(
                    #"{"type":"batch","source":{"type":"uploaded","fileList":["a.json"]},"target":{"type":"table","tableName":"b"},"createTableIfNotExists":true}"#
                ))
            #expect(batch.status == 201, "\(batch.text)")
            let batchID = try #require(batch.json["id"]?.stringValue)
            await harness.emulator.advance(by: .seconds(31))
            #expect(try await harness.send(.POST, "/_emulator/jobs/\(batchID)/idle", auth: .none).status == 400)
        }
    }
}
