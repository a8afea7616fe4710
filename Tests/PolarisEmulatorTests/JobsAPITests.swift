import Foundation
import NIOHTTP1
import PolarisAPI
import PolarisEmulator
import Testing

@Suite("Jobs v1")
struct JobsAPITests {
    @Test func createEchoesSpecAndFillsDefaults() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.send(.POST, "connections", json: EmulatorHarness.kinesisConnection())
            let body = EmulatorHarness.streamingJob(extra: ["futureField": .int(7), "maxParseExceptions": .int(1000)])
            let reply = try await harness.send(.POST, "jobs", json: body)
            #expect(reply.status == 201)
            let job = try reply.decode(Job.self)
            #expect(reply.headers.first(name: "Location") == "\(harness.emulator.projectURL)/jobs/\(job.id)")
            #expect(UUID(uuidString: job.id) != nil)
            #expect(job.type == "streaming")
            // As sent (unknown fields kept) plus what the live service fills in (LiveEchoTests
            // compares the whole shape with the docs' sample response).
            var expected = try #require(body.objectValue)
            expected["source"] = json(
                #"{"type":"connection","connectionName":"orders-kinesis","formatSettings":{"format":"nd-json","flattenSpec":{}}}"#
            )
            expected["target"] = json(#"{"type":"table","tableName":"orders","intervals":[]}"#)
            for (key, value) in [
                "readFromPoint": "latest", "lateMessageRejectionPeriod": "P30D",
                "earlyMessageRejectionPeriod": "P2000D",
                "dimensionExclusions": [], "filterExpression": nil, "replaceRunning": false,
                "desiredExecutionStatus": "running",
            ] as [String: JSONValue] {
                expected[key] = value
            }
            #expect(job.spec?.fields == expected)
            #expect(job.targetTable == "orders" && job.connectionName == "orders-kinesis")
            #expect(job.source?["formatSettings"]?["format"]?.stringValue == "nd-json")
            #expect(job.otherFields["readFromPoint"] == .string("latest"))
            #expect(job.otherFields["maxParseExceptions"] == .int(1000))
            #expect(job.otherFields["lateMessageRejectionPeriod"] == .string("P30D"))
            #expect(job.otherFields["earlyMessageRejectionPeriod"] == .string("P2000D"))
            #expect(job.otherFields["mappings"] != nil)
            #expect(job.otherFields["futureField"] == nil)
            #expect(job.createdBy?.username != nil && job.createdTimestamp != nil)
            #expect(job.desiredExecutionStatus == .running)
            #expect(job.health == .ok)
            #expect(body.objectValue.map { JobSpec(fields: $0) }?.isSatisfied(by: job.spec!) == true)

            let fetched = try await harness.send(.GET, "jobs/\(job.id)")
            #expect(fetched.status == 200)
            #expect(try fetched.decode(Job.self).id == job.id)
        }
    }

    @Test func creationRules() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.send(.POST, "connections", json: EmulatorHarness.kinesisConnection())
            func expect400(_ body: JSONValue, _ why: Comment) async throws {
                let reply = try await harness.send(.POST, "jobs", json: body)
                #expect(reply.status == 400, why)
                #expect(reply.isErrorResponse, why)
            }
            try await expect400(
                EmulatorHarness.streamingJob(extra: ["createTableIfNotExists": false]), "table does not exist")
            try await expect400(EmulatorHarness.streamingJob(connection: "missing"), "connection does not exist")
            try await expect400(
                EmulatorHarness.streamingJob(extra: ["source": json(#"{"type":"s3","bucket":"b"}"#)]),
                "streaming needs a connection source")
            try await expect400(EmulatorHarness.streamingJob(extra: ["type": .string("nonsense")]), "unknown type")
            try await expect400(EmulatorHarness.streamingJob(extra: ["target": json(#"{"type":"table"}"#)]), "no table")
            try await expect400(.array([]), "not an object")
            try await expect400(
                EmulatorHarness.streamingJob(extra: ["createTableIfNotExists": .string("yes")]), "flag not a bool")

            let wrongMedia = try await harness.send(.POST, "jobs", rawBody: "{}", contentType: "text/plain")
            #expect(wrongMedia.status == 415 && wrongMedia.isErrorResponse)
            let unparsable = try await harness.send(.POST, "jobs", rawBody: "{")
            #expect(unparsable.status == 400 && unparsable.isErrorResponse)

            // Once the table exists, createTableIfNotExists is no longer needed.
            let first = try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob())
            #expect(first.status == 201)
            let firstJob = try first.decode(Job.self)
            try await harness.send(
                .POST, "jobs/\(firstJob.id)/status", json: json(#"{"desiredExecutionStatus":"canceled"}"#))
            let second = try await harness.send(
                .POST, "jobs", json: EmulatorHarness.streamingJob(extra: ["createTableIfNotExists": false]))
            #expect(second.status == 201)
        }
    }

    @Test func oneStreamingJobPerTableAndReplaceRunning() async throws {
        try await EmulatorHarness.with { harness in
            let first = try await harness.createStreamingJob()

            let rejected = try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob())
            #expect(rejected.status == 400)
            let error = try rejected.decode(PolarisErrorBody.self)
            #expect(error.code == "InvalidArgument")
            #expect(error.message?.contains("orders") == true && error.message?.contains(first.id) == true)

            // Another table is fine.
            #expect(
                try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob(table: "other")).status == 201)

            let replacement = try await harness.send(
                .POST, "jobs", json: EmulatorHarness.streamingJob(extra: ["replaceRunning": true]))
            #expect(replacement.status == 201)
            let newJob = try replacement.decode(Job.self)
            let old = try await harness.send(.GET, "jobs/\(first.id)").decode(Job.self)
            #expect(old.executionStatus == .canceled)
            #expect(old.desiredExecutionStatus == .canceled)
            #expect(old.health.status == .error && old.health.code == "canceled")
            #expect(newJob.executionStatus == .running)
            let onTable = await harness.emulator.jobs(onTable: "orders")
            #expect(onTable.map(\.id) == [first.id, newJob.id])

            // replaceRunning with nothing to replace is allowed.
            let fresh = try await harness.send(
                .POST, "jobs", json: EmulatorHarness.streamingJob(table: "fresh", extra: ["replaceRunning": true]))
            #expect(fresh.status == 201)
        }
    }

    @Test func suspendResumeCancelAndTerminalState() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            let suspend = try await harness.send(
                .POST, "jobs/\(job.id)/status", json: json(#"{"desiredExecutionStatus":"suspended"}"#))
            #expect(suspend.status == 200)
            #expect(try suspend.decode(JobStatusResponse.self).executionStatus == .suspended)
            let status = try await harness.send(.GET, "jobs/\(job.id)/status")
            #expect(try status.decode(JobStatusResponse.self).executionStatus == .suspended)

            let resume = try await harness.send(
                .POST, "jobs/\(job.id)/status", json: try JSONValue(JobStatusRequest(desiredExecutionStatus: .running)))
            #expect(try resume.decode(JobStatusResponse.self).executionStatus == .running)  // start delay 0

            // The legacy PUT answers the whole job.
            let put = try await harness.send(
                .PUT, "jobs/\(job.id)", json: json(#"{"desiredExecutionStatus":"suspended"}"#))
            #expect(put.status == 200)
            #expect(try put.decode(Job.self).executionStatus == .suspended)
            #expect(try put.decode(Job.self).spec != nil)

            let unsupported = try await harness.send(
                .POST, "jobs/\(job.id)/status", json: json(#"{"desiredExecutionStatus":"paused"}"#))
            #expect(unsupported.status == 400 && unsupported.isErrorResponse)
            let missing = try await harness.send(.POST, "jobs/\(job.id)/status", json: json("{}"))
            #expect(missing.status == 400)
            let wrongMedia = try await harness.send(
                .POST, "jobs/\(job.id)/status", rawBody: #"{"desiredExecutionStatus":"running"}"#,
                contentType: "text/plain")
            #expect(wrongMedia.status == 415)
            let putWrongMedia = try await harness.send(
                .PUT, "jobs/\(job.id)", rawBody: #"{"desiredExecutionStatus":"running"}"#, contentType: "text/plain")
            #expect(putWrongMedia.status == 415)

            let cancel = try await harness.send(
                .POST, "jobs/\(job.id)/status", json: json(#"{"desiredExecutionStatus":"canceled"}"#))
            #expect(try cancel.decode(JobStatusResponse.self).executionStatus == .canceled)
            for desired in ["running", "suspended", "canceled"] {
                let reply = try await harness.send(
                    .POST, "jobs/\(job.id)/status", json: json("{\"desiredExecutionStatus\":\"\(desired)\"}"))
                #expect(reply.status == 400, "canceled is terminal (\(desired))")
                #expect(reply.isErrorResponse)
            }
            #expect(try await harness.send(.POST, "jobs/\(job.id)/reset").status == 400)
        }
    }

    @Test func unknownJobIs404Everywhere() async throws {
        try await EmulatorHarness.with { harness in
            let id = "efb35e3e-406e-4127-ad2e-280fede4f431"
            for (method, path) in [
                (HTTPMethod.GET, "jobs/\(id)"), (.GET, "jobs/\(id)/status"), (.POST, "jobs/\(id)/reset"),
                (.GET, "jobs/\(id)/progress"), (.GET, "jobs/\(id)/logs"), (.GET, "jobs/\(id)/metrics"),
            ] {
                let reply = try await harness.send(method, path)
                #expect(reply.status == 404, "\(method) \(path)")
                #expect(reply.isErrorResponse)
            }
            let status = try await harness.send(
                .POST, "jobs/\(id)/status", json: json(#"{"desiredExecutionStatus":"running"}"#))
            #expect(status.status == 404)
            let put = try await harness.send(.PUT, "jobs/\(id)", json: json(#"{"desiredExecutionStatus":"running"}"#))
            #expect(put.status == 404)
        }
    }

    @Test func resetLogsMetricsAndProgress() async throws {
        try await EmulatorHarness.with { harness in
            // Exact totals: no growth while the test runs (MetricsGrowthTests covers growth).
            try await harness.emulator.setRowsPerSecond(0)
            let job = try await harness.createStreamingJob()
            let reset = try await harness.send(.POST, "jobs/\(job.id)/reset")
            #expect(reset.status == 200 && reset.body.isEmpty)
            #expect(await harness.emulator.resetCount(jobID: job.id) == 1)

            let logs = try await harness.send(.GET, "jobs/\(job.id)/logs").decode(JobLogs.self)
            #expect(logs.logs.map(\.code) == ["created", "running", "reset"])
            #expect(logs.logs.allSatisfy { $0.timestamp != nil })

            let metrics = try await harness.send(.GET, "jobs/\(job.id)/metrics")
            #expect(metrics.status == 200)
            #expect(try metrics.decode(JobMetrics.self).totals.numRowsProcessed == 0)
            #expect(metrics.json["totals"]?["numRowsPersisted"] == nil)  // streaming jobs do not report it
            try await harness.emulator.setMetrics(
                jobID: job.id, IngestionJobTotals(numRowsProcessed: 42, numRowsSkippedByError: 3))
            let updated = try await harness.send(.GET, "jobs/\(job.id)/metrics").decode(JobMetrics.self)
            #expect(updated.totals.numRowsProcessed == 42 && updated.totals.numRowsSkippedByError == 3)

            let progress = try await harness.send(.GET, "jobs/\(job.id)/progress")
            #expect(progress.status == 200)
            let value = try #require(progress.json["overallProgress"]?.doubleValue)
            #expect((0...1).contains(value))
        }
    }

    @Test func lifecycleFollowsTheStartDelay() async throws {
        try await EmulatorHarness.with(EmulatorHarness.configuration(startDelay: .seconds(30))) { harness in
            let job = try await harness.createStreamingJob()
            #expect(job.executionStatus == .pending)
            #expect(job.startedTimestamp == nil)
            #expect(try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self).executionStatus == .pending)

            await harness.emulator.advance(by: .seconds(31))
            let running = try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self)
            #expect(running.executionStatus == .running)
            let started = try #require(running.startedTimestamp)
            #expect(started > running.createdTimestamp!)

            // Resume goes through pending again.
            try await harness.send(
                .POST, "jobs/\(job.id)/status", json: json(#"{"desiredExecutionStatus":"suspended"}"#))
            let resumed = try await harness.send(
                .POST, "jobs/\(job.id)/status", json: json(#"{"desiredExecutionStatus":"running"}"#))
            #expect(try resumed.decode(JobStatusResponse.self).executionStatus == .pending)
            await harness.emulator.advance(by: .seconds(31))
            let again = try await harness.send(.GET, "jobs/\(job.id)/status").decode(JobStatusResponse.self)
            #expect(again.executionStatus == .running)
            // startedTimestamp keeps the first start.
            #expect(try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self).startedTimestamp == started)
        }
    }

    @Test func creationTimesStrictlyIncrease() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.emulator.seed(connection: "c", jobs: 200)
            let jobs = await harness.emulator.allJobs()
            let times = jobs.compactMap(\.createdTimestamp)
            #expect(times.count == 200)
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
        }
    }
}

extension JSONValue {
    /// Re-reads an `Encodable` model as JSON (to send the library's own request types).
    init(_ value: some Encodable) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }
}
