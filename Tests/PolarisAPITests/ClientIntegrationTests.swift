import Foundation
import PolarisAPI
import PolarisEmulator
import Testing
import WardenPlatform

/// The client against the emulator on loopback: pagination, auth, retries, Retry-After,
/// create safety, rate limit, OAuth. Tests about time run the client on a `ManualClock`.
@Suite struct ClientIntegrationTests {
    static let key = "pok_client_test_secret_key"

    static func withEmulator(
        maxRequestsPerSecond: Double = 1000, retry: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(10)),
        oauth: Bool = false, tokenLifetime: Duration = .seconds(300), clock: any WallClock = SystemClock(),
        _ body: (PolarisEmulator, PolarisClient) async throws -> Void
    ) async throws {
        let emulator = PolarisEmulator(
            configuration: EmulatorConfiguration(
                apiKey: key, oauthClients: ["warden": "client-secret-xyz"], tokenLifetime: tokenLifetime))
        _ = try await emulator.start()
        let authentication: PolarisClientConfiguration.Authentication =
            oauth
            ? .oauth(
                clientID: "warden", clientSecret: Secret("client-secret-xyz"),
                tokenURL: emulator.baseURL + "/_emulator/oauth/token")
            : .apiKey(Secret(key))
        let client = PolarisClient(
            configuration: try PolarisClientConfiguration(
                url: emulator.baseURL, projectID: emulator.projectID, authentication: authentication,
                requestTimeout: .seconds(15), maxRequestsPerSecond: maxRequestsPerSecond, retry: retry),
            clock: clock)
        do {
            try await body(emulator, client)
        } catch {
            await emulator.stop()
            throw error
        }
        await emulator.stop()
    }

    static let kinesis = SampleBodies.kinesisConnection()

    static func spec(table: String, connection: String = "stream-wiki") -> JobSpec {
        SampleBodies.streamingSpec(table: table, connection: connection, useSchemaDiscovery: nil)
    }

    @Test func connectionsAndJobsRoundTrip() async throws {
        try await Self.withEmulator { emulator, client in
            let created = try await client.createConnection(Self.kinesis)
            #expect(created.stream == "demo-stream")
            #expect(try await client.listConnections().map(\.name) == ["stream-wiki"])
            let updated = try await client.updateConnection(
                named: "stream-wiki", type: "kinesis", changes: ["stream": "other"])
            #expect(updated.stream == "other")
            try await client.testConnection(named: "stream-wiki")
            let job = try await client.createJob(Self.spec(table: "wikipedia-kinesis"))
            #expect(job.targetTable == "wikipedia-kinesis")
            let fetched = try await client.getJob(id: job.id)
            #expect(fetched.spec?.connectionName == "stream-wiki")
            #expect(try await client.setJobStatus(id: job.id, to: .suspended) == .suspended)
            _ = try await client.setJobStatus(id: job.id, to: .running)
            try await client.resetJob(id: job.id)
            _ = try await client.jobLogs(id: job.id)
            _ = try await client.jobMetrics(id: job.id)
            #expect(try await client.getJobStatus(id: job.id) != .canceled)
            await #expect(throws: PolarisError.self) { try await client.getJob(id: "no-such-job") }
            let missing = await #expect(throws: PolarisError.self) { try await client.getConnection(named: "nope") }
            #expect(missing?.status == 404)
        }
    }

    @Test func listWalksEveryPageWithOneRequestPerPage() async throws {
        try await Self.withEmulator { emulator, client in
            _ = try await client.createConnection(Self.kinesis)
            _ = try await emulator.seed(connection: "stream-wiki", jobs: 2_500)
            await emulator.resetRequestLog()
            let jobs = try await client.listJobs(.allStreaming, pageSize: 1000)
            #expect(jobs.count == 2_500)
            #expect(Set(jobs.map(\.id)).count == 2_500)
            let listCalls = await emulator.requestLog().filter { $0.method == "GET" && $0.path.hasSuffix("/jobs") }
            #expect(listCalls.count == 3)
        }
    }

    @Test func sendsBasicAuthWithTheKeyAsUserName() async throws {
        try await Self.withEmulator { _, client in
            _ = try await client.listConnections()
        }
        let emulator = PolarisEmulator(configuration: EmulatorConfiguration(apiKey: "the-right-key"))
        _ = try await emulator.start()
        let wrong = PolarisClient(
            configuration: try PolarisClientConfiguration(
                url: emulator.baseURL, projectID: emulator.projectID, authentication: .apiKey(Secret("pok_wrong_key"))))
        let error = await #expect(throws: PolarisError.self) { try await wrong.listConnections() }
        #expect(error?.isAuthFailure == true)
        #expect(error.map { "\($0)".contains("pok_wrong_key") } == false)
        await emulator.stop()
    }

    @Test func idempotentCallsRetryThrough503s() async throws {
        try await Self.withEmulator { emulator, client in
            _ = try await emulator.inject(.status(503, count: 2, method: "GET"))
            await emulator.resetRequestLog()
            _ = try await client.listConnections()
            let statuses = await emulator.requestLog().map(\.status)
            #expect(statuses == [503, 503, 200])
        }
    }

    @Test func givesUpAfterMaxAttemptsWithPolarisMessage() async throws {
        try await Self.withEmulator(retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(5))) {
            emulator, client in
            _ = try await emulator.inject(
                .status(503, body: ["code": "Unavailable", "message": "maintenance"], count: 10, method: "GET"))
            let error = await #expect(throws: PolarisError.self) { try await client.listConnections() }
            #expect(error?.status == 503)
            #expect(error?.polarisMessage == "maintenance")
            #expect(await emulator.requestLog().count == 3)
        }
    }

    @Test func honoursRetryAfterSeconds() async throws {
        let clock = ManualClock()
        try await Self.withEmulator(clock: clock) { emulator, client in
            _ = try await emulator.inject(.status(429, retryAfter: .seconds(1), count: 1, method: "GET"))
            await emulator.resetRequestLog()
            let call = Task { try await client.listConnections() }
            // The backoff sleeps on the client's clock: exactly Retry-After, not the jittered delay.
            #expect(await clock.waitForSleepers(1))
            #expect(await emulator.requestLog().map(\.status) == [429])
            clock.advance(by: .milliseconds(999))
            #expect(clock.sleeperCount == 1, "still waiting 1 ms before Retry-After ends")
            clock.advance(by: .milliseconds(1))
            _ = try await call.value
            #expect(await emulator.requestLog().map(\.status) == [429, 200])
        }
    }

    /// An HTTP-date `Retry-After` is read against the client's clock (not the machine's).
    @Test func honoursRetryAfterDateOnTheClientsClock() async throws {
        let clock = ManualClock(start: WallInstant(secondsSince1970: 1_445_412_470))  // 2015-10-21T07:27:50Z
        try await Self.withEmulator(
            retry: RetryPolicy(initialDelay: .milliseconds(10), maxDelay: .seconds(60)), clock: clock
        ) {
            emulator, client in
            _ = try await emulator.inject(
                .status(503, retryAfter: .date(PolarisTimestamp(seconds: 1_445_412_480)), count: 1, method: "GET"))
            let call = Task { try await client.listConnections() }
            #expect(await clock.waitForSleepers(1))
            clock.advance(by: .milliseconds(9_999))
            #expect(clock.sleeperCount == 1, "the date is 10 s after the clock's now")
            clock.advance(by: .milliseconds(1))
            _ = try await call.value
        }
    }

    /// AsyncHTTPClient's own timeout (real time) against an answer held 20 times longer: the call
    /// fails with a timeout after both tries, long before either answer could have come. (The
    /// emulator finishes the held answers before it stops, so the hold is what the test costs.)
    @Test func aHangingRequestIsCutByTheTimeout() async throws {
        let emulator = PolarisEmulator(configuration: EmulatorConfiguration(apiKey: Self.key))
        _ = try await emulator.start()
        let client = PolarisClient(
            configuration: try PolarisClientConfiguration(
                url: emulator.baseURL, projectID: emulator.projectID, authentication: .apiKey(Secret(Self.key)),
                requestTimeout: .milliseconds(200),
                retry: RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(10), maxDelay: .milliseconds(20))))
        let hold = Duration.seconds(4)
        _ = try await emulator.inject(.delay(hold, count: 2, method: "GET"))
        let started = ContinuousClock.now
        let error = await #expect(throws: PolarisError.self) { try await client.listConnections() }
        let elapsed = ContinuousClock.now - started
        let tries = await emulator.requestLog().filter { $0.path.hasSuffix("/connections") }.count
        await emulator.stop()
        guard case .transport(_, let detail) = error else {
            Issue.record("expected a transport error, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("deadlineExceeded") || detail.lowercased().contains("timeout"), "\(detail)")
        #expect(tries <= 2)
        #expect(elapsed < hold, "cut by the timeout, not answered after \(elapsed)")
    }

    @Test func createIsNotRetriedAfterAnAmbiguous500() async throws {
        try await Self.withEmulator { emulator, client in
            _ = try await client.createConnection(Self.kinesis)
            _ = try await emulator.inject(.status(500, count: 1, method: "POST", pathPattern: "/jobs$"))
            await emulator.resetRequestLog()
            let error = await #expect(throws: PolarisError.self) {
                try await client.createJob(Self.spec(table: "t1"))
            }
            guard case .ambiguousCreate = error else {
                Issue.record("expected ambiguousCreate, got \(String(describing: error))")
                return
            }
            #expect(await emulator.requestLog().filter { $0.method == "POST" }.count == 1)
        }
    }

    @Test func createIsRetriedAfter429BecauseItWasNotProcessed() async throws {
        try await Self.withEmulator { emulator, client in
            _ = try await client.createConnection(Self.kinesis)
            _ = try await emulator.inject(.status(429, count: 1, method: "POST", pathPattern: "/jobs$"))
            _ = try await client.createJob(Self.spec(table: "t1"))
            #expect(await emulator.jobs(onTable: "t1").count == 1)
        }
    }

    @Test func createAfterADroppedConnectionIsAmbiguous() async throws {
        try await Self.withEmulator { emulator, client in
            _ = try await client.createConnection(Self.kinesis)
            _ = try await emulator.inject(.drop(count: 1, method: "POST", pathPattern: "/jobs$"))
            let error = await #expect(throws: PolarisError.self) {
                try await client.createJob(Self.spec(table: "t1"))
            }
            #expect(error?.isUnreachable == true)
        }
    }

    @Test func rateLimitIsSharedByConcurrentCalls() async throws {
        let clock = ManualClock()
        try await Self.withEmulator(maxRequestsPerSecond: 10, retry: .none, clock: clock) { emulator, client in
            await emulator.resetRequestLog()
            let calls = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<30 { group.addTask { _ = try await client.listConnections() } }
                    try await group.waitForAll()
                }
            }
            // Burst 10, then 10/s from the one bucket: 20 calls wait on the client's clock.
            #expect(await clock.waitForSleepers(20))
            #expect(await client.rateLimiter.waits == 20)
            clock.advance(by: .milliseconds(1999))
            #expect(clock.sleeperCount == 1, "30 calls cannot all be sent in under 2 s")
            clock.advance(by: .milliseconds(1))
            try await calls.value
            #expect(await emulator.requestLog().count == 30)
        }
    }

    @Test func oauthTokenIsCachedRefreshedBeforeExpiryAndOnceOn401() async throws {
        let clock = ManualClock()
        try await Self.withEmulator(oauth: true, tokenLifetime: .seconds(300), clock: clock) { emulator, client in
            func tokenCalls() async -> Int {
                await emulator.requestLog().filter { $0.path.hasSuffix("/oauth/token") }.count
            }
            _ = try await client.listConnections()
            _ = try await client.listConnections()
            #expect(await tokenCalls() == 1, "the token is cached")

            // A 401 (token revoked or expired early): one new token, one retry, success.
            _ = try await emulator.inject(.status(401, count: 1, method: "GET", pathPattern: "/connections$"))
            _ = try await client.listConnections()
            #expect(await tokenCalls() == 2)
            let statuses = await emulator.requestLog().filter { $0.path.hasSuffix("/connections") }.map(\.status)
            #expect(statuses.suffix(2) == [401, 200])

            // A second 401 right after the refresh is an auth failure, not a loop.
            _ = try await emulator.inject(.status(401, count: 2, method: "GET", pathPattern: "/connections$"))
            let error = await #expect(throws: PolarisError.self) { try await client.listConnections() }
            #expect(error?.isAuthFailure == true)
            #expect(await tokenCalls() == 3)

            // Reused until 80 % of its 300 s lifetime (240 s on the client's clock), refetched after:
            // no request ever needs the 401 to find out.
            await emulator.resetRequestLog()
            clock.advance(by: .seconds(239))
            _ = try await client.listConnections()
            #expect(await tokenCalls() == 0, "reused at 239 s")
            clock.advance(by: .seconds(1))
            _ = try await client.listConnections()
            #expect(await tokenCalls() == 1, "refetched at 240 s")
            clock.advance(by: .seconds(239))
            _ = try await client.listConnections()
            #expect(await tokenCalls() == 1, "the new token is reused for its own 240 s")
            #expect(await emulator.requestLog().allSatisfy { $0.status != 401 })
            let log = await emulator.requestLog().map(\.path).joined(separator: " ")
            #expect(!log.contains("client-secret-xyz"))
        }
    }
}
