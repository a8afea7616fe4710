import AsyncHTTPClient
import Foundation
import Logging
import PolarisAPI
import PolarisEmulator
import Testing

@testable import Warden

/// The Prometheus metrics: a scenario against the emulator scraped over HTTP from the real
/// `MetricsServer`, and the `WardenMetrics` bookkeeping on its own.
@Suite struct MetricsTests {
    @Test func scenarioIsScrapedOverHTTPWithTheExpectedValues() async throws {
        let metrics = WardenMetrics()
        let harness = try await WardenHarness.make(jobs: ["wikipedia-kinesis", "orders"], metrics: metrics)
        // Create both jobs and wait until both run.
        await harness.cycle()
        await harness.cycles(until: { await Self.allRunning(harness) }, advance: 5)
        // Fail one; the warden recreates it and it runs again.
        let failed = try #require(await harness.ourJobID("orders"))
        try await harness.emulator.failJob(id: failed, code: "internal_error", message: "boom")
        await harness.cycles(
            until: {
                guard await harness.ourJobID("orders") != failed else { return false }
                return await Self.allRunning(harness)
            }, advance: 5)
        #expect(await Self.allRunning(harness))
        let cycles = await harness.supervisor.cyclesCompleted
        let views = await harness.supervisor.jobViews()

        let (text, contentType, notFound) = try await Self.scrape(metrics)
        await harness.stop()
        #expect(contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(notFound == 404, "only /metrics is served")
        let scrape = try Exposition(text)
        Self.expectWellFormed(scrape)

        let cycleCount = Double(cycles)
        #expect(cycles >= 3)
        #expect(scrape.value(WardenMetrics.Name.cycles, ["outcome": "ok"]) == cycleCount)
        #expect(scrape.value(WardenMetrics.Name.cycles, ["outcome": "api_error"]) == 0)
        #expect(scrape.value(WardenMetrics.Name.cycleDuration + "_count") == cycleCount)
        // Measured on the supervisor's clock: the harness's manual clock does not move within a cycle.
        #expect((scrape.value(WardenMetrics.Name.cycleDuration + "_sum") ?? -1) >= 0)

        #expect(scrape.value(WardenMetrics.Name.healingActions, ["action": "create", "outcome": "ok"]) == 2)
        #expect(scrape.value(WardenMetrics.Name.healingActions, ["action": "recreate", "outcome": "ok"]) == 1)
        #expect(scrape.sum(WardenMetrics.Name.healingActions) == 3, "no other action: \(text)")

        #expect(scrape.value(WardenMetrics.Name.jobs, ["state": "running"]) == 2)
        for state in WardenMetrics.jobStates where state != "running" {
            #expect(scrape.value(WardenMetrics.Name.jobs, ["state": state]) == 0, "state \(state)")
        }
        #expect(scrape.value(WardenMetrics.Name.jobsGaveUp) == 0)
        let health = try #require(views.first?.health)
        #expect(scrape.value(WardenMetrics.Name.polarisJobs, ["execution_status": "running", "health": health]) == 2)
        #expect(scrape.sum(WardenMetrics.Name.polarisJobs) == 2)

        // No fault and one page each: a sweep is one listJobs, a delta read two (the list by last
        // update and the unhealthy subset); one listConnections per cycle.
        let sweeps = try #require(scrape.value(WardenMetrics.Name.jobListReads, ["kind": "sweep"]))
        let deltas = try #require(scrape.value(WardenMetrics.Name.jobListReads, ["kind": "delta"]))
        #expect(sweeps >= 1)
        #expect(sweeps + deltas == cycleCount)
        let listReads = sweeps + 2 * deltas
        #expect(scrape.value(WardenMetrics.Name.apiRequests, ["operation": "listJobs", "status": "200"]) == listReads)
        #expect(
            scrape.value(WardenMetrics.Name.apiRequests, ["operation": "listConnections", "status": "200"])
                == cycleCount)
        #expect(scrape.value(WardenMetrics.Name.apiRequests, ["operation": "createJob", "status": "201"]) == 3)
        #expect(scrape.value(WardenMetrics.Name.apiDuration + "_count", ["operation": "listJobs"]) == listReads)
        #expect(scrape.value(WardenMetrics.Name.apiReachable) == 1)
        let last = try #require(scrape.value(WardenMetrics.Name.lastCycle))
        #expect(abs(last - Date().timeIntervalSince1970) < 300)
        #expect(scrape.value(WardenMetrics.Name.rateLimitWaits) != nil)
        #expect(scrape.value(WardenMetrics.Name.rateLimitWaitSeconds) != nil)
    }

    @Test func apiErrorsCountAsFailedCyclesWithTheirStatus() async throws {
        let metrics = WardenMetrics()
        let harness = try await WardenHarness.make(metrics: metrics)
        await harness.cycle()
        // Every attempt (3) of the job list answers 503: the cycle cannot supervise.
        _ = try await harness.emulator.inject(.status(503, count: 3, method: "GET", pathPrefix: "/jobs"))
        await harness.cycle()
        var scrape = try Exposition(metrics.exposition())
        #expect(scrape.value(WardenMetrics.Name.cycles, ["outcome": "api_error"]) == 1)
        #expect(scrape.value(WardenMetrics.Name.cycles, ["outcome": "ok"]) == 1)
        #expect(scrape.value(WardenMetrics.Name.apiRequests, ["operation": "listJobs", "status": "503"]) == 3)
        #expect(scrape.value(WardenMetrics.Name.apiReachable) == 0)

        // No response at all is status "none".
        _ = try await harness.emulator.inject(.drop(count: 3, method: "GET", pathPrefix: "/jobs"))
        await harness.cycle()
        await harness.cycle()
        await harness.stop()
        scrape = try Exposition(metrics.exposition())
        #expect(scrape.value(WardenMetrics.Name.cycles, ["outcome": "api_error"]) == 2)
        #expect(scrape.value(WardenMetrics.Name.cycles, ["outcome": "ok"]) == 2)
        #expect(scrape.value(WardenMetrics.Name.apiRequests, ["operation": "listJobs", "status": "none"]) == 3)
        #expect(scrape.value(WardenMetrics.Name.apiReachable) == 1)
        Self.expectWellFormed(scrape)
    }

    @Test func jobStatesAreSnakeCasedAndStayAtZeroWhenEmpty() throws {
        let metrics = WardenMetrics()
        let since = Date(timeIntervalSince1970: 1_700_000_000)
        func view(_ name: String, _ phase: JobPhase, status: String? = nil, health: String? = nil)
            -> JobSupervisor.JobView
        {
            JobSupervisor.JobView(
                name: name, table: name, jobID: nil, executionStatus: status, health: health, phase: phase,
                recoveries: 0)
        }
        metrics.jobsObserved(views: [
            view("a", .gaveUp(since: since), status: "failed", health: "error"),
            view("b", .running, status: "running", health: "ok"),
            view("c", .creating),
        ])
        var scrape = try Exposition(metrics.exposition())
        #expect(scrape.value(WardenMetrics.Name.jobs, ["state": "gave_up"]) == 1)
        #expect(scrape.value(WardenMetrics.Name.jobs, ["state": "starting"]) == 1)
        #expect(scrape.value(WardenMetrics.Name.jobsGaveUp) == 1)
        #expect(scrape.value(WardenMetrics.Name.polarisJobs, ["execution_status": "failed", "health": "error"]) == 1)

        metrics.jobsObserved(views: [view("b", .running, status: "running", health: "ok")])
        scrape = try Exposition(metrics.exposition())
        #expect(scrape.value(WardenMetrics.Name.jobs, ["state": "gave_up"]) == 0)
        #expect(scrape.value(WardenMetrics.Name.jobsGaveUp) == 0)
        #expect(
            scrape.value(WardenMetrics.Name.polarisJobs, ["execution_status": "failed", "health": "error"]) == 0,
            "a combination seen once stays exported at 0")
        #expect(scrape.value(WardenMetrics.Name.polarisJobs, ["execution_status": "running", "health": "ok"]) == 1)
        #expect(WardenMetrics.stateLabel(.backingOff(until: since)) == "recovering")
    }

    @Test func rateLimitTotalsBecomeCounterIncrementsAndInstancesAreIndependent() throws {
        let metrics = WardenMetrics()
        let other = WardenMetrics()
        metrics.rateLimitWaits(count: 2, seconds: .milliseconds(500))
        metrics.rateLimitWaits(count: 5, seconds: .milliseconds(1500))
        // A reload built a new client: its limiter counts from zero again.
        metrics.rateLimitWaits(count: 1, seconds: .milliseconds(100))
        metrics.actionFinished(action: "resume", outcome: .failed)
        let scrape = try Exposition(metrics.exposition())
        #expect(scrape.value(WardenMetrics.Name.rateLimitWaits) == 6)
        #expect(abs((scrape.value(WardenMetrics.Name.rateLimitWaitSeconds) ?? 0) - 1.6) < 1e-9)
        #expect(scrape.value(WardenMetrics.Name.healingActions, ["action": "resume", "outcome": "failed"]) == 1)

        let untouched = try Exposition(other.exposition())
        #expect(untouched.value(WardenMetrics.Name.rateLimitWaits) == 0)
        #expect(untouched.value(WardenMetrics.Name.healingActions, ["action": "resume", "outcome": "failed"]) == nil)
    }

    /// The NIOHTTP1 server itself: HEAD and a query string are served, other methods get 405,
    /// each response closes its connection, and an address in use fails `run()` (the daemon
    /// logs it and keeps supervising).
    @Test func theServerAnswersOnlyGetAndHeadOnMetricsAndReportsABusyPort() async throws {
        let metrics = WardenMetrics()
        let (port, task) = try await Self.startServer(metrics)
        defer { task.cancel() }
        let base = "http://127.0.0.1:\(port)"

        var head = HTTPClientRequest(url: base + "/metrics")
        head.method = .HEAD
        let headResponse = try await HTTPClient.shared.execute(head, timeout: .seconds(10))
        #expect(headResponse.status == .ok)
        #expect(headResponse.headers.first(name: "content-type") == MetricsServer.contentType)
        #expect(headResponse.headers.first(name: "connection") == "close")

        let query = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: base + "/metrics?name[]=x"), timeout: .seconds(10))
        #expect(query.status == .ok)
        let body = String(buffer: try await query.body.collect(upTo: 4 << 20))
        #expect(body.contains("# TYPE \(WardenMetrics.Name.cycles) counter"))

        var post = HTTPClientRequest(url: base + "/metrics")
        post.method = .POST
        post.body = .bytes(Array("x".utf8))
        let refused = try await HTTPClient.shared.execute(post, timeout: .seconds(10))
        _ = try await refused.body.collect(upTo: 1 << 20)
        #expect(refused.status == .methodNotAllowed)
        #expect(refused.headers.first(name: "allow") == "GET, HEAD")

        let busy = MetricsServer(
            metrics: metrics, address: MetricsAddress(host: "127.0.0.1", port: port),
            logger: Logger(label: "metrics-test"))
        await #expect(throws: (any Error).self) { try await busy.run() }
    }

    @Test func actionResultsMapExecutorOutcomes() {
        typealias Result = ActionExecutor.Result
        #expect(WardenMetrics.ActionResult(Result(outcome: .created(jobID: "j"))) == .ok)
        #expect(WardenMetrics.ActionResult(Result(outcome: .resumed)) == .ok)
        #expect(WardenMetrics.ActionResult(Result(outcome: .tableHeldByAnotherJob)) == .tableHeld)
        #expect(WardenMetrics.ActionResult(Result(outcome: .ambiguous(message: "timeout"))) == .ambiguous)
        #expect(WardenMetrics.ActionResult(Result(outcome: .failed(terminal: true, message: "400"))) == .failed)
        #expect(WardenMetrics.ActionResult(Result(outcome: nil, connectionTest: .ok)) == .ok)
        #expect(WardenMetrics.ActionResult(Result(outcome: nil, connectionTest: .failed(message: "iam"))) == .failed)
    }

    // MARK: Helpers

    static func allRunning(_ harness: WardenHarness) async -> Bool {
        await harness.supervisor.jobViews().allSatisfy { $0.phase == .running }
    }

    /// Starts a `MetricsServer` for `metrics` on an ephemeral loopback port: the port it
    /// listens on, and the task running it (cancel it to stop the server).
    static func startServer(
        _ metrics: WardenMetrics, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> (port: Int, task: Task<Void, any Error>) {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = MetricsServer(
            metrics: metrics, address: MetricsAddress(host: "127.0.0.1", port: 0),
            logger: Logger(label: "metrics-test"), onListening: { continuation.yield($0) })
        let task = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        let port: Int
        do {
            port = try #require(await iterator.next(), sourceLocation: sourceLocation)
        } catch {
            task.cancel()
            throw error
        }
        #expect(port > 0, sourceLocation: sourceLocation)
        return (port, task)
    }

    /// Starts a `MetricsServer` on an ephemeral loopback port and GETs `/metrics` (and a path
    /// that does not exist): the body, its Content-Type, and the other path's status.
    static func scrape(_ metrics: WardenMetrics) async throws -> (String, String?, UInt) {
        let (port, task) = try await startServer(metrics)
        defer { task.cancel() }

        let base = "http://127.0.0.1:\(port)"
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(10))
        #expect(response.status == .ok)
        let contentType = response.headers.first(name: "content-type")
        let body = try await response.body.collect(upTo: 4 << 20)
        let missing = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: base + "/other"), timeout: .seconds(10))
        _ = try await missing.body.collect(upTo: 1 << 20)
        return (String(buffer: body), contentType, missing.status.code)
    }

    /// Prometheus naming and format rules every family must follow.
    static func expectWellFormed(_ scrape: Exposition) {
        #expect(Set(scrape.types.keys) == Set(WardenMetrics.Name.all), "\(scrape.types.keys.sorted())")
        for (name, type) in scrape.types {
            #expect(name.wholeMatch(of: /polaris_warden_[a-z0-9_]+/) != nil, "name \(name)")
            #expect(scrape.helps.contains(name), "no HELP for \(name)")
            switch type {
            case "counter": #expect(name.hasSuffix("_total"), "counter \(name)")
            case "histogram": #expect(name.hasSuffix("_seconds"), "histogram \(name)")
            case "gauge": #expect(!name.hasSuffix("_total"), "gauge \(name)")
            default: Issue.record("unexpected type \(type) of \(name)")
            }
        }
        for sample in scrape.samples {
            let family = scrape.family(of: sample.name)
            #expect(family != nil, "sample \(sample.name) has no # TYPE")
            #expect(sample.value.isFinite && sample.value >= 0, "\(sample.name) = \(sample.value)")
            for label in sample.labels.keys {
                #expect(label.wholeMatch(of: /[a-z_][a-z0-9_]*/) != nil, "label \(label) of \(sample.name)")
            }
        }
    }
}

/// A parsed text exposition (format 0.0.4), strict enough to catch malformed lines.
struct Exposition {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Malformed: Error, CustomStringConvertible {
        var line: String
        var description: String { "malformed exposition line: \(line)" }
    }

    var samples: [Sample] = []
    var types: [String: String] = [:]
    var helps: Set<String> = []

    init(_ text: String) throws {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            if let match = line.wholeMatch(of: /# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)/) {
                if match.1 == "TYPE" {
                    types[String(match.2)] = String(match.3)
                } else {
                    helps.insert(String(match.2))
                }
                continue
            }
            guard
                let match = line.wholeMatch(
                    of: /([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)/),
                let value = Double(match.3)
            else { throw Malformed(line: String(line)) }
            var labels: [String: String] = [:]
            if let list = match.2 {
                for pair in list.matches(of: /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/) {
                    labels[String(pair.1)] = String(pair.2)
                }
            }
            samples.append(Sample(name: String(match.1), labels: labels, value: value))
        }
    }

    /// The value of the sample with exactly these labels (`le` excluded for histogram parts).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    func sum(_ name: String) -> Double {
        samples.filter { $0.name == name }.reduce(0) { $0 + $1.value }
    }

    /// The `# TYPE` family a sample belongs to (histograms add `_bucket`, `_sum`, `_count`).
    func family(of sample: String) -> String? {
        if types[sample] != nil { return sample }
        for suffix in ["_bucket", "_sum", "_count"] where sample.hasSuffix(suffix) {
            let base = String(sample.dropLast(suffix.count))
            if types[base] == "histogram" { return base }
        }
        return nil
    }
}
