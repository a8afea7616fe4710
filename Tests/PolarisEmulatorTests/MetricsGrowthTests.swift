import AsyncHTTPClient
import Foundation
import PolarisAPI
import PolarisEmulator
import TestSupport
import Testing

/// Job totals (`GET /jobs/{id}/metrics`, docs/polaris/api-reference.md §4.8) that grow while a streaming job
/// runs, a silent stall, and parse errors up to `maxParseExceptions` (issue 15).
///
/// Growth follows the emulator clock, which also runs with wall time; the tests move it by
/// minutes, so the milliseconds a test takes only show as the `slack` in an upper bound.
@Suite("Job metrics: growth, stalls, parse errors")
struct MetricsGrowthTests {
    /// Rows a test's own running time may add at 1,000 rows/s (5 s of wall time).
    static let slack: Int64 = 5_000

    static func totals(_ harness: EmulatorHarness, _ id: String) async throws -> IngestionJobTotals {
        let reply = try await harness.send(.GET, "jobs/\(id)/metrics")
        #expect(reply.status == 200, "\(reply.text)")
        return try reply.decode(JobMetrics.self).totals
    }

    static func rows(_ harness: EmulatorHarness, _ id: String) async throws -> Int64 {
        try #require(try await totals(harness, id).numRowsProcessed)
    }

    static func stateJob(_ harness: EmulatorHarness, _ id: String) async throws -> JSONValue? {
        let state = try await harness.send(.GET, "/_emulator/state", auth: .none).json
        return state["jobs"]?.arrayValue?.first { $0["id"]?.stringValue == id }
    }

    // MARK: Growth

    @Test func aRunningJobGrowsWithTheEmulatorClock() async throws {
        try await EmulatorHarness.with { harness in
            #expect(await harness.emulator.store.rowsPerSecond == 1000)  // the default
            let job = try await harness.createStreamingJob()
            #expect(job.executionStatus == .running)
            let before = try await Self.totals(harness, job.id)
            await harness.emulator.advance(by: .seconds(60))
            let after = try await Self.totals(harness, job.id)
            let grown = try #require(after.numRowsProcessed) - (before.numRowsProcessed ?? -1)
            #expect(grown >= 60_000 && grown < 60_000 + Self.slack, "grew \(grown) rows in 60 s at 1,000 rows/s")
            // Bytes grow with the rows (100 a row); the other counters stay put.
            #expect(after.numBytesProcessed == after.numRowsProcessed.map { $0 * 100 })
            #expect(after.numRowsSkippedByError == 0 && after.numRowsProcessedWithWarning == 0)
            #expect(after.numRowsSkippedByFilter == 0 && after.numRowsPersisted == nil)
            // The in-process view is the same counter.
            #expect(try await harness.emulator.metrics(jobID: job.id).numRowsProcessed! >= after.numRowsProcessed!)
        }
    }

    @Test func everyMillisecondShowsMoreRowsAt1000PerSecond() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            var last = try await harness.emulator.metrics(jobID: job.id).numRowsProcessed!
            for _ in 0..<200 {
                await harness.emulator.advance(by: .milliseconds(1))
                let now = try await harness.emulator.metrics(jobID: job.id).numRowsProcessed!
                #expect(now > last)
                last = now
            }
        }
    }

    @Test func growthStartsWhenAPendingJobStartsRunning() async throws {
        try await EmulatorHarness.with(EmulatorHarness.configuration(startDelay: .seconds(30))) { harness in
            let job = try await harness.createStreamingJob()
            #expect(job.executionStatus == .pending)
            // 20 of the 30 s: the 10 s left absorb the wall time a loaded machine lets pass.
            await harness.emulator.advance(by: .seconds(20))
            #expect(try await Self.rows(harness, job.id) == 0)
            await harness.emulator.advance(by: .seconds(20))  // running for 10 s (plus wall time)
            let rows = try await Self.rows(harness, job.id)
            #expect(rows >= 10_000 && rows < 10_000 + Self.slack, "\(rows)")
        }
    }

    @Test func noGrowthWhileIdleSuspendedHeldOrEnded() async throws {
        try await EmulatorHarness.with { harness in
            let emulator = harness.emulator
            let job = try await harness.createStreamingJob()

            func unchanged(_ what: Comment) async throws {
                let before = try await Self.totals(harness, job.id)
                await emulator.advance(by: .seconds(600))
                #expect(try await Self.totals(harness, job.id) == before, what)
            }
            func grows(_ what: Comment) async throws {
                let before = try await Self.rows(harness, job.id)
                await emulator.advance(by: .seconds(10))
                let grown = try await Self.rows(harness, job.id) - before
                #expect(grown >= 10_000 && grown < 10_000 + Self.slack, what)
            }

            try await emulator.idleJob(id: job.id)
            try await unchanged("idle")
            try await emulator.activateJob(id: job.id)
            try await grows("running again after idle")
            try await emulator.suspendJob(id: job.id)
            try await unchanged("suspended")
            try await emulator.resumeJob(id: job.id)  // start delay 0: running at once
            try await grows("resumed")
            try await emulator.holdJob(id: job.id, in: .unknown)
            try await unchanged("held unknown")
            try await emulator.releaseJob(id: job.id)
            try await grows("released")
            try await emulator.failJob(id: job.id)
            try await unchanged("failed")

            let canceled = try await harness.createStreamingJob(table: "other")
            try await emulator.cancelJob(id: canceled.id)
            let atCancel = try await Self.totals(harness, canceled.id)
            await emulator.advance(by: .seconds(600))
            #expect(try await Self.totals(harness, canceled.id) == atCancel)

            // A batch job's totals never grow, running or completed.
            let batch = try await harness.send(
                .POST, "jobs",
                json: json(
                    #"{"type":"batch","source":{"type":"uploaded","fileList":["a.json"]},"target":{"type":"table","tableName":"b"},"createTableIfNotExists":true}"#
                ))
            let batchID = try #require(batch.json["id"]?.stringValue)
            await emulator.advance(by: .seconds(600))
            #expect(try await Self.totals(harness, batchID).numRowsProcessed == 0)
        }
    }

    @Test func aReplacedJobThatRunsUntilStoppedGrowsOnlyUntilItStops() async throws {
        try await EmulatorHarness.with(EmulatorHarness.configuration(startDelay: .seconds(20))) { harness in
            var behaviour = LiveBehaviour.standard
            behaviour.replacedJob = .runningUntilStopped
            await harness.emulator.setBehaviour(behaviour)
            let old = try await harness.createStreamingJob()
            await harness.emulator.advance(by: .seconds(20))
            let before = try await Self.rows(harness, old.id)
            let replacing = try await harness.send(
                .POST, "jobs", json: EmulatorHarness.streamingJob(extra: ["replaceRunning": true]))
            #expect(replacing.status == 201, "\(replacing.text)")
            await harness.emulator.advance(by: .seconds(600))  // it stops 20 s after the replace
            #expect(await harness.emulator.job(id: old.id)?.executionStatus == .canceled)
            let grown = try await Self.rows(harness, old.id) - before
            #expect(grown >= 20_000 && grown < 20_000 + Self.slack, "\(grown)")
        }
    }

    @Test func setTotalsAreWhereGrowthContinues() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            let put = try await harness.send(
                .PUT, "/_emulator/jobs/\(job.id)/metrics",
                json: json(#"{"numRowsProcessed": 5000000, "numRowsSkippedByError": 7}"#), auth: .none)
            #expect(put.status == 200)
            await harness.emulator.advance(by: .seconds(2))
            let totals = try await Self.totals(harness, job.id)
            let rows = try #require(totals.numRowsProcessed)
            #expect(rows >= 5_002_000 && rows < 5_002_000 + Self.slack, "\(rows)")
            #expect(totals.numRowsSkippedByError == 7)
            #expect(totals.numBytesProcessed == nil)  // a counter set to absent stays absent
        }
    }

    // MARK: Stall

    @Test func aStalledJobStaysRunningAndHealthyWithFrozenCounters() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            await harness.emulator.advance(by: .seconds(5))
            let before = try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self)
            let logsBefore = try await harness.emulator.store.logs(jobID: job.id)

            let stall = try await harness.send(.POST, "/_emulator/jobs/\(job.id)/stall", auth: .none)
            #expect(stall.status == 200 && stall.json["stalled"] == true, "\(stall.text)")
            #expect(try await Self.stateJob(harness, job.id)?["_emulator"]?["stalled"] == true)
            let frozen = try await Self.totals(harness, job.id)
            #expect(try #require(frozen.numRowsProcessed) >= 5_000)
            await harness.emulator.advance(by: .seconds(3600))
            #expect(try await Self.totals(harness, job.id) == frozen)

            // Silent: the job looks exactly as it did.
            let during = try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self)
            #expect(during.executionStatus == .running && during.health == .ok)
            #expect(during.lastUpdatedTimestamp == before.lastUpdatedTimestamp)
            #expect(try await harness.emulator.store.logs(jobID: job.id) == logsBefore)
            // Stalling again changes nothing.
            #expect(try await harness.send(.POST, "/_emulator/jobs/\(job.id)/stall", auth: .none).status == 200)

            let unstall = try await harness.send(.POST, "/_emulator/jobs/\(job.id)/unstall", auth: .none)
            #expect(unstall.status == 200 && unstall.json["stalled"] == false)
            #expect(try await Self.stateJob(harness, job.id)?["_emulator"]?["stalled"] == false)
            await harness.emulator.advance(by: .seconds(10))
            let grown = try #require(try await Self.totals(harness, job.id).numRowsProcessed) - frozen.numRowsProcessed!
            #expect(grown >= 10_000 && grown < 10_000 + Self.slack, "grows from where it froze: \(grown)")
        }
    }

    @Test func inProcessStallOutlastsSuspendAndResume() async throws {
        try await EmulatorHarness.with { harness in
            let emulator = harness.emulator
            let job = try await harness.createStreamingJob()
            try await emulator.stallJob(id: job.id)
            let frozen = try await emulator.metrics(jobID: job.id)
            try await emulator.suspendJob(id: job.id)
            try await emulator.resumeJob(id: job.id)
            await emulator.advance(by: .seconds(600))
            #expect(await emulator.job(id: job.id)?.executionStatus == .running)
            #expect(try await emulator.metrics(jobID: job.id) == frozen)
            try await emulator.unstallJob(id: job.id)
            try await emulator.unstallJob(id: job.id)  // not stalled: nothing changes
            await emulator.advance(by: .seconds(1))
            #expect(try await emulator.metrics(jobID: job.id).numRowsProcessed! >= frozen.numRowsProcessed! + 1000)

            // A job that replaces a stalled one starts unstalled.
            try await emulator.stallJob(id: job.id)
            let replacing = try await harness.send(
                .POST, "jobs", json: EmulatorHarness.streamingJob(extra: ["replaceRunning": true]))
            let newID = try #require(replacing.json["id"]?.stringValue)
            #expect(try await Self.stateJob(harness, newID)?["_emulator"]?["stalled"] == false)
            await emulator.advance(by: .seconds(1))
            #expect(try await emulator.metrics(jobID: newID).numRowsProcessed! >= 1000)
        }
    }

    @Test func onlyAStreamingJobThatHasNotEndedStalls() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            try await harness.emulator.failJob(id: job.id)
            let refused = try await harness.send(.POST, "/_emulator/jobs/\(job.id)/stall", auth: .none)
            #expect(refused.status == 400 && refused.isErrorResponse)
            await #expect(throws: EmulatorError.self) { try await harness.emulator.stallJob(id: job.id) }
            #expect(try await harness.send(.POST, "/_emulator/jobs/missing/stall", auth: .none).status == 404)
            #expect(try await harness.send(.POST, "/_emulator/jobs/missing/unstall", auth: .none).status == 404)
            let batch = try await harness.send(
                .POST, "jobs",
                json: json(
                    #"{"type":"batch","source":{"type":"uploaded","fileList":["a.json"]},"target":{"type":"table","tableName":"b"},"createTableIfNotExists":true}"#
                ))
            let batchID = try #require(batch.json["id"]?.stringValue)
            #expect(try await harness.send(.POST, "/_emulator/jobs/\(batchID)/stall", auth: .none).status == 400)
        }
    }

    // MARK: Parse errors

    @Test func parseErrorsAddUpAndTheJobKeepsRunning() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            let added = try await harness.send(
                .POST, "/_emulator/jobs/\(job.id)/parse-errors", json: ["count": 5], auth: .none)
            #expect(added.status == 200, "\(added.text)")
            #expect(added.json["numRowsSkippedByError"] == 5 && added.json["executionStatus"] == "running")
            try await harness.emulator.addParseErrors(jobID: job.id, count: 3)
            #expect(try await Self.totals(harness, job.id).numRowsSkippedByError == 8)
            let fetched = try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self)
            #expect(fetched.executionStatus == .running && fetched.health == .ok)
            let logs = try await harness.emulator.store.logs(jobID: job.id)
            #expect(logs.filter { $0.code == "invalid_rows_found" }.count == 2)

            for bad: JSONValue in [["count": 0], ["count": -2], ["count": "5"], [:]] {
                let reply = try await harness.send(
                    .POST, "/_emulator/jobs/\(job.id)/parse-errors", json: bad, auth: .none)
                #expect(reply.status == 400 && reply.isErrorResponse, "\(bad)")
            }
            await #expect(throws: EmulatorError.self) {
                try await harness.emulator.addParseErrors(jobID: job.id, count: 0)
            }
            #expect(try await Self.totals(harness, job.id).numRowsSkippedByError == 8)
            let missing = try await harness.send(
                .POST, "/_emulator/jobs/missing/parse-errors", json: ["count": 1], auth: .none)
            #expect(missing.status == 404)
        }
    }

    @Test func passingMaxParseExceptionsFailsTheJob() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob(extra: ["maxParseExceptions": 10])
            try await harness.emulator.addParseErrors(jobID: job.id, count: 10)
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .running, "10 of 10 is not past it")

            let past = try await harness.send(
                .POST, "/_emulator/jobs/\(job.id)/parse-errors", json: ["count": 1], auth: .none)
            #expect(past.json["executionStatus"] == "failed" && past.json["numRowsSkippedByError"] == 11)
            let failed = try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self)
            #expect(failed.executionStatus == .failed)
            #expect(failed.health.status == .error && failed.health.code == "cannot_parse_source")
            #expect(failed.health.message?.contains("maxParseExceptions (10)") == true)
            // Terminal: no more parse errors, and the table is free for a new job.
            let after = try await harness.send(
                .POST, "/_emulator/jobs/\(job.id)/parse-errors", json: ["count": 1], auth: .none)
            #expect(after.status == 400)
            let next = try await harness.createStreamingJob()
            #expect(next.executionStatus == .running)
        }
    }

    @Test func theDefaultMaxParseExceptionsIsTheEchoedOne() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            #expect(job.otherFields["maxParseExceptions"] == 2_147_483_647)
            try await harness.emulator.addParseErrors(jobID: job.id, count: 2_147_483_647)
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .running)
            try await harness.emulator.addParseErrors(jobID: job.id, count: 1)
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .failed)
        }
    }

    // MARK: Settings and the CLI flag

    @Test func rowsPerSecondIsASetting() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            await harness.emulator.advance(by: .seconds(10))
            let put = try await harness.send(.PUT, "/_emulator/settings", json: ["rowsPerSecond": 0], auth: .none)
            #expect(put.status == 200 && put.json["rowsPerSecond"] == 0, "\(put.text)")
            // What grew at the old rate stays; nothing grows at 0.
            let kept = try await Self.rows(harness, job.id)
            #expect(kept >= 10_000)
            await harness.emulator.advance(by: .seconds(600))
            #expect(try await Self.rows(harness, job.id) == kept)

            #expect(
                try await harness.send(.PUT, "/_emulator/settings", json: ["rowsPerSecond": 10], auth: .none).status
                    == 200)
            #expect(try await harness.send(.GET, "/_emulator/state", auth: .none).json["rowsPerSecond"] == 10)
            await harness.emulator.advance(by: .seconds(100))
            let grown = try await Self.rows(harness, job.id) - kept
            #expect(grown >= 1_000 && grown < 1_000 + Self.slack / 100, "\(grown) rows in 100 s at 10 rows/s")

            // Bad values change nothing, not even the valid keys beside them.
            for bad: JSONValue in [-1, "fast", 1_000_000_001, 1.5] {
                let reply = try await harness.send(
                    .PUT, "/_emulator/settings", json: ["rowsPerSecond": bad, "startDelayMilliseconds": 9000],
                    auth: .none)
                #expect(reply.status == 400 && reply.json["target"] == "rowsPerSecond", "\(reply.text)")
            }
            let state = try await harness.send(.GET, "/_emulator/state", auth: .none).json
            #expect(state["rowsPerSecond"] == 10 && state["startDelayMilliseconds"] == 0)
            await #expect(throws: EmulatorError.self) { try await harness.emulator.setRowsPerSecond(-5) }
            try await harness.emulator.setRowsPerSecond(2000)
            #expect(await harness.emulator.store.rowsPerSecond == 2000)
        }
    }

    @Test func rowsPerSecondIsAConfiguration() async throws {
        var configuration = EmulatorHarness.configuration()
        configuration.rowsPerSecond = 0
        try await EmulatorHarness.with(configuration) { harness in
            let job = try await harness.createStreamingJob()
            await harness.emulator.advance(by: .seconds(600))
            #expect(try await Self.rows(harness, job.id) == 0)
        }
    }

    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/polaris-emulator").path

    /// Runs the built `polaris-emulator` to completion (it exits at once on a bad flag).
    static func runCLI(_ arguments: [String]) throws -> FinishedProcess { try runProcess(binary, arguments) }

    @Test func theCLIFlagSetsTheRate() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("\(Self.binary) not built") }
            return
        }
        let help = try Self.runCLI(["--help"])
        #expect(help.output.contains("--rows-per-second"), "\(help.output)")
        for bad in ["--rows-per-second=-1", "--rows-per-second=1000000001"] {
            let refused = try Self.runCLI([bad, "--port", "0"])
            #expect(refused.status != 0 && refused.output.contains("rows-per-second"), "\(refused.output)")
        }

        // Serve with the flag and read the rate back from the admin API.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--port", "0", "--rows-per-second", "7", "--start-delay", "0"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        var banner = ""
        while !banner.contains("\n"), case let chunk = pipe.fileHandleForReading.availableData, !chunk.isEmpty {
            banner += String(decoding: chunk, as: UTF8.self)
        }
        let base = try #require(banner.split(separator: "\n").first?.split(separator: " ").last.map(String.init))
        #expect(base.hasPrefix("http://127.0.0.1:"), "\(banner)")
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: base + "/_emulator/state"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let state = try JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
        #expect(response.status.code == 200 && state["rowsPerSecond"] == 7, "\(state)")
    }
}
