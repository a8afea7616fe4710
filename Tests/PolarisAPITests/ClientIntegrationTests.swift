import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

/// The client against the emulator on loopback: pagination, auth, retries, Retry-After,
/// create safety, rate limit, OAuth.
@Suite struct ClientIntegrationTests {
    static let key = "pok_client_test_secret_key"

    static func withEmulator(
        maxRequestsPerSecond: Double = 1000, retry: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(10)),
        oauth: Bool = false, tokenLifetime: Duration = .seconds(300),
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
                requestTimeout: .seconds(15), maxRequestsPerSecond: maxRequestsPerSecond, retry: retry))
        do {
            try await body(emulator, client)
        } catch {
            await emulator.stop()
            throw error
        }
        await emulator.stop()
    }

    static let kinesis: [String: JSONValue] = [
        "type": "kinesis", "name": "stream-wiki", "stream": "demo-stream",
        "awsEndpoint": "kinesis.us-east-1.amazonaws.com",
        "awsAssumedRoleArn": "arn:aws:iam::012345678901:role/demo-role",
    ]

    static func spec(table: String, connection: String = "stream-wiki") -> JobSpec {
        JobSpec(fields: [
            "type": "streaming",
            "source": [
                "type": "connection", "connectionName": .string(connection),
                "formatSettings": ["format": "nd-json"],
                "inputSchema": [["name": "timestamp", "dataType": "string"]],
            ],
            "target": ["type": "table", "tableName": .string(table)],
            "mappings": [["columnName": "__time", "expression": "TIME_PARSE(\"timestamp\")"]],
            "createTableIfNotExists": true,
        ])
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
        try await Self.withEmulator { emulator, client in
            _ = try await emulator.inject(.status(429, retryAfter: .seconds(1), count: 1, method: "GET"))
            await emulator.resetRequestLog()
            _ = try await client.listConnections()
            let log = await emulator.requestLog()
            #expect(log.map(\.status) == [429, 200])
            let gap =
                Double(log[1].timestamp.seconds - log[0].timestamp.seconds)
                + Double(log[1].timestamp.nanoseconds - log[0].timestamp.nanoseconds) / 1e9
            #expect(gap >= 0.9, "waited \(gap)s, Retry-After said 1s")
        }
    }

    @Test func aHangingRequestIsCutByTheTimeout() async throws {
        let emulator = PolarisEmulator(configuration: EmulatorConfiguration(apiKey: Self.key))
        _ = try await emulator.start()
        let client = PolarisClient(
            configuration: try PolarisClientConfiguration(
                url: emulator.baseURL, projectID: emulator.projectID, authentication: .apiKey(Secret(Self.key)),
                requestTimeout: .milliseconds(500),
                retry: RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(10), maxDelay: .milliseconds(20))))
        _ = try await emulator.inject(.delay(.seconds(6), count: 2, method: "GET"))
        let started = ContinuousClock.now
        let error = await #expect(throws: PolarisError.self) { try await client.listConnections() }
        let elapsed = ContinuousClock.now - started
        await emulator.stop()
        guard case .transport = error else {
            Issue.record("expected a transport error, got \(String(describing: error))")
            return
        }
        // Two tries of 0.5 s each, not two 6 s hangs.
        #expect(elapsed < .seconds(5))
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
        try await Self.withEmulator(maxRequestsPerSecond: 10, retry: .none) { emulator, client in
            await emulator.resetRequestLog()
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<30 { group.addTask { _ = try await client.listConnections() } }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - started
            #expect(await emulator.requestLog().count == 30)
            // Burst 10, then 10/s from the one bucket: 30 calls cannot finish in under 2 s.
            #expect(elapsed >= .milliseconds(1900))
            #expect(await client.rateLimiter.waits > 0)
        }
    }

    @Test func oauthTokenIsCachedRefreshedBeforeExpiryAndOnceOn401() async throws {
        try await Self.withEmulator(oauth: true, tokenLifetime: .seconds(6)) { emulator, client in
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

            // Refreshed before it expires (at 80 % of a short lifetime, here 3 s): no 401 needed.
            try await Task.sleep(for: .milliseconds(3300))
            await emulator.resetRequestLog()
            _ = try await client.listConnections()
            #expect(await tokenCalls() == 1)
            #expect(await emulator.requestLog().allSatisfy { $0.status != 401 })
            let log = await emulator.requestLog().map(\.path).joined(separator: " ")
            #expect(!log.contains("client-secret-xyz"))
        }
    }
}
