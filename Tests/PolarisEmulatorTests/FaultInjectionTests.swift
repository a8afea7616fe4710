import AsyncHTTPClient
import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

@Suite("Fault injection, request log and counters")
struct FaultInjectionTests {
    @Test func statusWithRetryAfterSecondsForTheNextNMatching() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.emulator.inject(
                .status(503, retryAfter: .seconds(7), count: 2, method: "GET", pathPrefix: "/jobs"))
            #expect(try await harness.send(.GET, "connections").status == 200)  // does not match
            for _ in 0..<2 {
                let reply = try await harness.send(.GET, "jobs")
                #expect(reply.status == 503)
                #expect(reply.headers.first(name: "Retry-After") == "7")
                #expect(reply.isErrorResponse)
            }
            #expect(try await harness.send(.GET, "jobs").status == 200)
            let counters = await harness.emulator.counters()
            #expect(counters["GET /jobs"] == 3)
            #expect(counters.count(status: 503) == 2)
            #expect(counters.total == 4)
        }
    }

    @Test func rateLimitWithHTTPDateRetryAfterViaAdminAPI() async throws {
        try await EmulatorHarness.with { harness in
            let armed = try await harness.send(
                .POST, "/_emulator/faults",
                json: json(
                    #"{"status":429,"retryAfterDate":"2015-10-21T07:28:00Z","pathPattern":"/jobs/[^/]+/status$"}"#),
                auth: .none)
            #expect(armed.status == 200)
            let job = try await harness.createStreamingJob()
            let reply = try await harness.send(.GET, "jobs/\(job.id)/status")
            #expect(reply.status == 429)
            #expect(reply.headers.first(name: "Retry-After") == "Wed, 21 Oct 2015 07:28:00 GMT")
            #expect(reply.json["message"]?.stringValue == "API rate limit exceeded")
            #expect(try await harness.send(.GET, "jobs/\(job.id)/status").status == 200)
        }
    }

    @Test func customBodyAndAuthIsNotCheckedForFaultedRequests() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.emulator.inject(.status(500, body: json(#"{"error":{"code":"Boom","message":"x"}}"#)))
            let reply = try await harness.send(.GET, "jobs", auth: .none)
            #expect(reply.status == 500)
            #expect(try reply.decode(PolarisErrorBody.self).code == "Boom")
        }
    }

    @Test func delayHoldsTheResponse() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.emulator.inject(.delay(.milliseconds(400), pathPrefix: "/connections"))
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await harness.send(.GET, "connections").status == 200)
            #expect(clock.now - start >= .milliseconds(400))
            #expect(await harness.emulator.store.armedFaults().isEmpty)  // used up after one request
            #expect(try await harness.send(.GET, "connections").status == 200)
        }
    }

    @Test func dropClosesTheConnectionWithoutAResponse() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.emulator.inject(.drop(count: 1, method: "POST", pathPrefix: "/jobs"))
            await #expect(throws: (any Error).self) {
                try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob())
            }
            #expect(try await harness.send(.GET, "jobs").status == 200)
            let log = await harness.emulator.requestLog()
            #expect(log.first?.status == nil && log.first?.route == "POST /jobs")
            #expect(await harness.emulator.counters().byStatus["dropped"] == 1)
        }
    }

    @Test func dropViaAdminAPIAndFaultListing() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.send(.POST, "/_emulator/faults", json: json(#"{"drop":true,"count":3}"#), auth: .none)
            let listed = try await harness.send(.GET, "/_emulator/faults", auth: .none)
            #expect(listed.json["values"]?.arrayValue?.first?["count"]?.intValue == 3)
            await #expect(throws: (any Error).self) { try await harness.send(.GET, "jobs") }
            try await harness.send(.DELETE, "/_emulator/faults", auth: .none)
            #expect(try await harness.send(.GET, "jobs").status == 200)
            let bad = try await harness.send(.POST, "/_emulator/faults", json: json(#"{"count":1}"#), auth: .none)
            #expect(bad.status == 400 && bad.isErrorResponse)
        }
    }

    @Test func requestLogAndCountersOverHTTPAndReset() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            try await harness.send(.GET, "jobs/\(job.id)?x=1")
            try await harness.send(.GET, "jobs/\(job.id)/status")
            let counters = try await harness.send(.GET, "/_emulator/counters", auth: .none)
            #expect(counters.json["byRoute"]?["GET /jobs/{jobId}"]?.intValue == 1)
            #expect(counters.json["byRoute"]?["POST /jobs"]?.intValue == 1)
            #expect(counters.json["byRoute"]?["POST /connections"]?.intValue == 1)
            #expect(counters.json["total"]?.intValue == 4)
            let log = await harness.emulator.requestLog()
            #expect(
                log.map(\.route) == [
                    "POST /connections", "POST /jobs", "GET /jobs/{jobId}", "GET /jobs/{jobId}/status",
                ])
            #expect(log[2].query == "x=1" && log[2].status == 200 && log[2].method == "GET")
            #expect(log[1].status == 201)
            try await harness.send(.DELETE, "/_emulator/requests", auth: .none)
            #expect(await harness.emulator.counters().total == 0)
            #expect(await harness.emulator.requestLog().isEmpty)
        }
    }

    @Test func adminJobFaults() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            let admin = "/_emulator/jobs/\(job.id)"
            try await harness.send(
                .POST, "\(admin)/health", json: json(#"{"status":"warn","code":"lost_connection_to_source"}"#),
                auth: .none)
            var current = try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self)
            #expect(current.health.status == .warn && current.health.code == "lost_connection_to_source")
            #expect(current.health.log?.code == "lost_connection_to_source")
            #expect(current.executionStatus == .running)

            try await harness.send(.POST, "\(admin)/hold", json: json(#"{"status":"unknown"}"#), auth: .none)
            #expect(
                try await harness.send(.GET, "jobs/\(job.id)/status").decode(JobStatusResponse.self).executionStatus
                    == .unknown)
            try await harness.send(.POST, "\(admin)/release", auth: .none)
            #expect(
                try await harness.send(.GET, "jobs/\(job.id)/status").decode(JobStatusResponse.self).executionStatus
                    == .running)

            try await harness.send(.POST, "\(admin)/suspend", auth: .none)
            current = try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self)
            #expect(current.executionStatus == .suspended)
            #expect(current.lastModifiedBy?.username == "someone-else@example.com")
            try await harness.send(.POST, "\(admin)/resume", auth: .none)

            let failed = try await harness.send(
                .POST, "\(admin)/fail", json: json(#"{"code":"could_not_connect_to_source","message":"denied"}"#),
                auth: .none)
            #expect(failed.status == 200)
            current = try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self)
            #expect(current.executionStatus == .failed)
            #expect(current.health.status == .error && current.health.code == "could_not_connect_to_source")
            #expect(current.health.message == "denied")
            // A failed job no longer holds its table.
            #expect(try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob()).status == 201)
            #expect(try await harness.send(.POST, "\(admin)/cancel", auth: .none).status == 400)
            #expect(try await harness.send(.POST, "/_emulator/jobs/nope/fail", auth: .none).status == 404)
        }
    }

    @Test func holdInPendingSurvivesTheStartDelay() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob()
            try await harness.emulator.holdJob(id: job.id, in: .pending)
            await harness.emulator.advance(by: .seconds(60))
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .pending)
            try await harness.emulator.releaseJob(id: job.id)
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .running)
            try await harness.emulator.cancelJob(id: job.id)
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .canceled)
        }
    }

    @Test func warningSpellingIsConfigurable() async throws {
        var configuration = EmulatorHarness.configuration()
        configuration.healthSpelling = .warning
        try await EmulatorHarness.with(configuration) { harness in
            let job = try await harness.createStreamingJob()
            try await harness.emulator.setHealth(jobID: job.id, JobHealth(status: .warn, code: "no_rows_found"))
            let reply = try await harness.send(.GET, "jobs/\(job.id)")
            #expect(reply.json["health"]?["status"]?.stringValue == "warning")
            #expect(try reply.decode(Job.self).health.status == .warn)
            // The list filter still says `warn`.
            let filtered = try await harness.send(.GET, "jobs?healthStatus=warn").decode(JobList.self)
            #expect(filtered.values.map(\.id) == [job.id])
            try await harness.send(.PUT, "/_emulator/settings", json: json(#"{"healthSpelling":"warn"}"#), auth: .none)
            #expect(try await harness.send(.GET, "jobs/\(job.id)").json["health"]?["status"]?.stringValue == "warn")
        }
    }

    @Test func stateDumpAndClockAdvanceOverHTTP() async throws {
        try await EmulatorHarness.with(EmulatorHarness.configuration(startDelay: .seconds(5))) { harness in
            let job = try await harness.createStreamingJob()
            #expect(job.executionStatus == .pending)
            try await harness.send(
                .POST, "/_emulator/clock/advance", json: json(#"{"milliseconds":5000}"#), auth: .none)
            let state = try await harness.send(.GET, "/_emulator/state", auth: .none)
            #expect(state.status == 200)
            #expect(state.json["jobs"]?.arrayValue?.first?["executionStatus"]?.stringValue == "running")
            #expect(state.json["connections"]?.arrayValue?.count == 1)
            #expect(state.json["tables"]?.arrayValue?.first?["name"]?.stringValue == "orders")
        }
    }
}
