import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

@testable import Warden

/// The remaining ladder rows against the emulator: lost connection, stalls, offsets, and the
/// rate limit through an API storm.
@Suite struct WardenLadderScenarioTests {
    @Test func lostConnectionIsTestedReportedAndReplacedOnlyWhenTheSourceIsReachable() async throws {
        let harness = try await WardenHarness.make()
        let id = try await harness.jobIDAfterCycle()
        try await harness.emulator.setHealth(
            jobID: id, JobHealth(status: .warn, code: "lost_connection_to_source", message: "stream gone"))
        await harness.emulator.setConnectionTestFailure(
            name: "stream-wiki", (code: "AccessDenied", message: "sts:AssumeRole denied"))
        await harness.emulator.resetRequestLog()
        for _ in 0..<6 { await harness.cycle() }
        let tests = await harness.writes().filter { $0.path.hasSuffix("/connections/stream-wiki/test") }
        #expect(tests.count >= 1)
        #expect(await harness.writes().filter { $0.path.hasSuffix("/jobs") }.isEmpty, "no replace while IAM is broken")
        let unreachable = harness.recorder.events("source-unreachable")
        #expect(unreachable.count == 1)
        #expect(unreachable.first?.message.contains("sts:AssumeRole denied") == true)

        await harness.emulator.setConnectionTestFailure(name: "stream-wiki", nil)
        await harness.cycles(until: { await harness.ourJobID() != id }, advance: 300)
        #expect(await harness.ourJobID() != id)
        #expect(harness.recorder.events("job-replaced").count == 1)
        #expect(await harness.aliveJobs(on: "wikipedia-kinesis").count == 1)
        await harness.stop()
    }

    @Test func pendingIsReportedAndReplacedOnlyPastItsTimeout() async throws {
        let harness = try await WardenHarness.make()
        let id = try await harness.jobIDAfterCycle()
        try await harness.emulator.holdJob(id: id, in: .pending)
        await harness.emulator.resetRequestLog()
        for _ in 0..<4 { await harness.cycle() }  // 20 s < pendingTimeoutSeconds (30 s)
        #expect(await harness.writes().isEmpty)
        await harness.cycles(until: { await harness.ourJobID() != id }, advance: 5)
        #expect(harness.recorder.events("job-stalled").count == 1)
        #expect(harness.recorder.events("job-replaced").count == 1)
        await harness.stop()
    }

    @Test func staleOffsetsAreNeverResetUnlessEnabled() async throws {
        for enabled in [false, true] {
            var settings = SupervisorSettings.testDefaults
            settings.autoResetOffsets = enabled
            let harness = try await WardenHarness.make(settings: settings)
            let id = try await harness.jobIDAfterCycle()
            try await harness.emulator.setHealth(
                jobID: id, JobHealth(status: .warn, code: "unable_to_proceed", message: "offset expired"))
            for _ in 0..<5 { await harness.cycle() }
            let resets = await harness.emulator.requestLog().filter { $0.path.hasSuffix("/reset") }
            #expect(resets.count == (enabled ? 1 : 0), "autoResetOffsets \(enabled)")
            #expect(await harness.emulator.resetCount(jobID: id) == (enabled ? 1 : 0))
            await harness.stop()
        }
    }

    @Test func aStormOfFailuresAndAPIErrorsNeverExceedsTheRateLimit() async throws {
        var settings = SupervisorSettings.testDefaults
        settings.recreate.maxAttempts = 50
        settings.maxConcurrentActions = 8
        let tables = (1...12).map { "table-\($0)" }
        let harness = try await WardenHarness.make(jobs: tables, settings: settings, maxRequestsPerSecond: 20)
        await harness.cycle()
        for job in await harness.emulator.allJobs() {
            try await harness.emulator.failJob(id: job.id, code: "internal_error")
        }
        _ = try await harness.emulator.inject(.status(503, count: 5))
        _ = try await harness.emulator.inject(.status(429, retryAfter: .seconds(1), count: 2, method: "GET"))
        await harness.cycles(
            until: {
                var alive = 0
                for table in tables { alive += await harness.aliveJobs(on: table).count }
                return alive == tables.count
            }, limit: 30, advance: 10)
        for table in tables { #expect(await harness.aliveJobs(on: table).count == 1, "\(table)") }
        // Token bucket: burst 20 plus 20/s; one more for a grant exactly on the window's edge.
        #expect(harness.sends.maximumIn(seconds: 1) <= 41)
        await harness.stop()
    }
}
