import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import WardenPlatform

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The Polaris Connections v1 and Jobs v1 API of one project.
///
/// Every call goes through one token bucket (`maxRequestsPerSecond`), has a per-request
/// timeout and, when idempotent, retries transient failures with full-jitter backoff,
/// honouring `Retry-After`. Creates are never retried once they may have reached Polaris:
/// the caller checks for the resource instead (no duplicate jobs). All time (the token bucket,
/// token expiry, backoff sleeps, `Retry-After` dates, exchange durations) is the injected clock's.
public final class PolarisClient: Sendable {
    /// One finished HTTP exchange, for metrics and tests.
    public struct Exchange: Sendable {
        public let operation: String
        public let method: String
        /// nil when no response arrived.
        public let status: Int?
        public let duration: Duration
        public let attempt: Int
    }

    public let configuration: PolarisClientConfiguration
    public let rateLimiter: RateLimiter
    private let httpClient: HTTPClient
    private let tokenProvider: OAuthTokenProvider?
    private let logger: Logger
    private let observer: (@Sendable (Exchange) -> Void)?
    /// The one clock (`WardenPlatform`), shared with the rate limiter and the token provider.
    public let clock: any WallClock
    /// Asked right before each attempt of a write is sent (`gated(by:)`); nil: always send.
    private let sendGate: (@Sendable () async -> Bool)?

    /// - Parameter clock: the daemon's one clock; a test's `ManualClock` makes the rate limiter,
    ///   token refresh and retry backoff wait until the test advances it.
    public convenience init(
        configuration: PolarisClientConfiguration, httpClient: HTTPClient = .shared,
        logger: Logger = Logger(label: "polaris-api"), observer: (@Sendable (Exchange) -> Void)? = nil,
        clock: any WallClock = SystemClock()
    ) {
        self.init(
            configuration: configuration, httpClient: httpClient, logger: logger, observer: observer, clock: clock,
            rateLimiter: nil, sendGate: nil)
    }

    private init(
        configuration: PolarisClientConfiguration, httpClient: HTTPClient, logger: Logger,
        observer: (@Sendable (Exchange) -> Void)?, clock: any WallClock, rateLimiter: RateLimiter?,
        sendGate: (@Sendable () async -> Bool)?
    ) {
        self.sendGate = sendGate
        self.configuration = configuration
        self.httpClient = httpClient
        self.rateLimiter = rateLimiter ?? RateLimiter(ratePerSecond: configuration.maxRequestsPerSecond, clock: clock)
        self.logger = logger
        self.observer = observer
        self.clock = clock
        if case .oauth(let clientID, let secret, let tokenURL) = configuration.authentication {
            tokenProvider = OAuthTokenProvider(
                clientID: clientID, clientSecret: secret, tokenURL: tokenURL, httpClient: httpClient,
                timeout: configuration.requestTimeout, clock: clock)
        } else {
            tokenProvider = nil
        }
    }

    /// A client with new settings that keeps the HTTP client, logger, observer, clock and gate.
    public func reconfigured(_ configuration: PolarisClientConfiguration) -> PolarisClient {
        PolarisClient(
            configuration: configuration, httpClient: httpClient, logger: logger, observer: observer, clock: clock,
            rateLimiter: nil, sendGate: sendGate)
    }

    /// This client with a send gate: before every attempt of a write (any method but GET)
    /// leaves — after the rate limiter and after each retry's wait — `gate` is asked, and a
    /// `false` ends the call with `PolarisError.notSent`. With `highAvailability` the gate is the
    /// lease: a write that waited out a `Retry-After` is not sent by a warden that meanwhile
    /// stopped being the leader. The rate limiter is shared with this client.
    public func gated(by gate: @escaping @Sendable () async -> Bool) -> PolarisClient {
        PolarisClient(
            configuration: configuration, httpClient: httpClient, logger: logger, observer: observer, clock: clock,
            rateLimiter: rateLimiter, sendGate: gate)
    }

    /// Whether writes ask a gate first.
    public var isGated: Bool { sendGate != nil }

    // MARK: Project

    /// `GET /v1/projects/{projectId}` on the same regional host: the project's state.
    public func getProject() async throws(PolarisError) -> Project {
        try await call("getProject", .GET, "", as: Project.self)
    }

    // MARK: Connections

    public func listConnections() async throws(PolarisError) -> [Connection] {
        try await call("listConnections", .GET, "/connections", as: ConnectionList.self).values
    }

    public func getConnection(named name: String) async throws(PolarisError) -> Connection {
        try await call("getConnection", .GET, "/connections/\(Self.escape(name))", as: Connection.self)
    }

    /// `POST /connections` (201). Not retried after an ambiguous failure; a 409 means it exists.
    public func createConnection(_ fields: [String: JSONValue]) async throws(PolarisError) -> Connection {
        try await call(
            "createConnection", .POST, "/connections", body: JSONValue.object(fields), create: true,
            as: Connection.self)
    }

    /// `PATCH /connections/{name}` with the fields to change (`type` is required by Polaris).
    public func updateConnection(named name: String, type: String, changes: [String: JSONValue])
        async throws(PolarisError) -> Connection
    {
        var body = changes
        body["type"] = .string(type)
        return try await call(
            "updateConnection", .PATCH, "/connections/\(Self.escape(name))", body: JSONValue.object(body),
            as: Connection.self)
    }

    public func deleteConnection(named name: String) async throws(PolarisError) {
        _ = try await send("deleteConnection", .DELETE, "/connections/\(Self.escape(name))")
    }

    /// `POST /connections/{name}/test`: returns normally when Polaris can reach the source;
    /// throws `.http(status: 400, ...)` with Polaris's reason when it cannot.
    public func testConnection(named name: String) async throws(PolarisError) {
        _ = try await send("testConnection", .POST, "/connections/\(Self.escape(name))/test")
    }

    // MARK: Jobs

    /// Every job matching `filter`, walking `paginationOffset` pages of `pageSize` until
    /// `moreResultsAvailable` is false: ⌈N/pageSize⌉ requests, never one per job.
    public func listJobs(_ filter: JobListFilter = .allStreaming, pageSize: Int = 1000)
        async throws(PolarisError) -> [Job]
    {
        var jobs: [Job] = []
        var offset = 0
        while true {
            let page = try await listJobsPage(filter, limit: pageSize, offset: offset)
            jobs += page.values
            offset += page.values.count
            // A server that claims more but sends nothing would loop forever.
            guard page.moreResultsAvailable, !page.values.isEmpty else { return jobs }
        }
    }

    /// One page of `GET /jobs`.
    public func listJobsPage(_ filter: JobListFilter, limit: Int, offset: Int) async throws(PolarisError) -> JobList {
        let query = filter.queryItems + [("paginationLimit", String(limit)), ("paginationOffset", String(offset))]
        let response = try await send("listJobs", .GET, "/jobs", query: query)
        // One scan of the bytes (`JobListDecoder`); anything it does not expect goes through
        // JSONDecoder, which gives the same result or the same `.decoding` error.
        if let page = response.withUnsafeReadableBytes({ JobListDecoder.decode($0) }) { return page }
        return try decode(JobList.self, from: response, operation: "listJobs")
    }

    public func getJob(id: String) async throws(PolarisError) -> Job {
        try await call("getJob", .GET, "/jobs/\(Self.escape(id))", as: Job.self)
    }

    /// `POST /jobs` (201). Never retried once it may have reached Polaris: a failure whose
    /// outcome is unknown throws `.ambiguousCreate`, and the caller looks for the job.
    public func createJob(_ spec: JobSpec) async throws(PolarisError) -> Job {
        try await call("createJob", .POST, "/jobs", body: spec.json, create: true, as: Job.self)
    }

    public func getJobStatus(id: String) async throws(PolarisError) -> ExecutionStatus {
        try await call("getJobStatus", .GET, "/jobs/\(Self.escape(id))/status", as: JobStatusResponse.self)
            .executionStatus
    }

    /// `POST /jobs/{id}/status`: suspend, resume (`running`) or cancel.
    @discardableResult
    public func setJobStatus(id: String, to desired: DesiredExecutionStatus) async throws(PolarisError)
        -> ExecutionStatus
    {
        try await call(
            "setJobStatus", .POST, "/jobs/\(Self.escape(id))/status",
            body: JobStatusRequest(desiredExecutionStatus: desired), as: JobStatusResponse.self
        ).executionStatus
    }

    /// Legacy `PUT /jobs/{id}` with a desired status; prefer `setJobStatus`.
    public func updateJob(id: String, to desired: DesiredExecutionStatus) async throws(PolarisError) -> Job {
        try await call(
            "updateJob", .PUT, "/jobs/\(Self.escape(id))", body: JobStatusRequest(desiredExecutionStatus: desired),
            as: Job.self)
    }

    /// `POST /jobs/{id}/reset`: back to `readFromPoint`. Loses or duplicates data; callers gate it.
    public func resetJob(id: String) async throws(PolarisError) {
        _ = try await send("resetJob", .POST, "/jobs/\(Self.escape(id))/reset")
    }

    public func jobLogs(id: String) async throws(PolarisError) -> [JobLogEntry] {
        try await call("jobLogs", .GET, "/jobs/\(Self.escape(id))/logs", as: JobLogs.self).logs
    }

    public func jobMetrics(id: String) async throws(PolarisError) -> IngestionJobTotals {
        try await call("jobMetrics", .GET, "/jobs/\(Self.escape(id))/metrics", as: JobMetrics.self).totals
    }

    // MARK: Transport

    private func call<Body: Encodable, Result: Decodable>(
        _ operation: String, _ method: HTTPMethod, _ path: String, query: [(String, String)] = [],
        body: Body?, create: Bool = false, as: Result.Type
    ) async throws(PolarisError) -> Result {
        let data: Data
        do {
            data = try JSONEncoder().encode(body)
        } catch {
            throw .invalidRequest("\(operation): body not encodable")
        }
        let response = try await send(operation, method, path, query: query, body: data, create: create)
        return try decode(Result.self, from: response, operation: operation)
    }

    private func call<Result: Decodable>(
        _ operation: String, _ method: HTTPMethod, _ path: String, query: [(String, String)] = [],
        as: Result.Type
    ) async throws(PolarisError) -> Result {
        let response = try await send(operation, method, path, query: query)
        return try decode(Result.self, from: response, operation: operation)
    }

    private func decode<Result: Decodable>(_ type: Result.Type, from buffer: ByteBuffer, operation: String)
        throws(PolarisError) -> Result
    {
        do {
            return try JSONDecoder().decode(Result.self, from: Data(buffer.readableBytesView))
        } catch {
            throw .decoding(operation: operation, detail: String(describing: error).prefix(300).description)
        }
    }

    /// Sends one request with rate limiting, auth, timeout and retries; returns the body of a
    /// 2xx answer.
    private func send(
        _ operation: String, _ method: HTTPMethod, _ path: String, query: [(String, String)] = [],
        body: Data? = nil, create: Bool = false
    ) async throws(PolarisError) -> ByteBuffer {
        var url = configuration.projectURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        }
        var random = SystemRandomNumberGenerator()
        var attempt = 0
        var refreshedToken = false
        while true {
            attempt += 1
            let started = clock.now
            let outcome: Result<HTTPClientResponse, any Error>
            var responseBody = ByteBuffer()
            do {
                try await rateLimiter.acquire()
                let request = try await buildRequest(method, url: url, body: body)
                if method != .GET, let sendGate, !(await sendGate()) {
                    throw PolarisError.notSent(operation: operation, reason: "this warden may not write now")
                }
                let timeout = TimeAmount.nanoseconds(configuration.requestTimeout.nanosecondsClamped)
                let response = try await httpClient.execute(request, timeout: timeout)
                responseBody = try await response.body.collect(upTo: 64 << 20)
                outcome = .success(response)
            } catch let error as PolarisError {
                throw error
            } catch {
                outcome = .failure(error)
            }
            let duration = started.duration(to: clock.now)

            switch outcome {
            case .failure(let error):
                observer?(
                    Exchange(
                        operation: operation, method: method.rawValue, status: nil, duration: duration, attempt: attempt
                    ))
                if error is CancellationError || Task.isCancelled {
                    throw .transport(operation: operation, detail: "canceled")
                }
                let detail = Self.describe(error)
                // A create may have reached Polaris unless the connection was never made.
                if create, !Self.neverReachedServer(error) {
                    throw .ambiguousCreate(operation: operation, detail: detail)
                }
                guard attempt < configuration.retry.maxAttempts else {
                    throw .transport(operation: operation, detail: detail)
                }
                let delay = configuration.retry.delay(afterAttempt: attempt, retryAfter: nil, using: &random)
                logger.debug(
                    "retrying after transport error",
                    metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "error": "\(detail)"])
                try await sleep(delay, operation: operation)

            case .success(let response):
                let status = Int(response.status.code)
                observer?(
                    Exchange(
                        operation: operation, method: method.rawValue, status: status, duration: duration,
                        attempt: attempt))
                if (200..<300).contains(status) { return responseBody }
                if status == 401, tokenProvider != nil, !refreshedToken {
                    // Polaris tokens live 5 minutes; refetch once and retry (docs/polaris/api-reference.md §1.3).
                    refreshedToken = true
                    await tokenProvider?.invalidate()
                    attempt -= 1
                    continue
                }
                let errorBody = PolarisErrorBody(
                    json: (try? JSONDecoder().decode(JSONValue.self, from: Data(responseBody.readableBytesView)))
                        ?? .null)
                let failure = PolarisError.http(operation: operation, status: status, body: errorBody)
                // 429 means "not processed": safe to retry even a create.
                let retryable =
                    RetryPolicy.retryableStatuses.contains(status) && (!create || status == 429)
                guard retryable, attempt < configuration.retry.maxAttempts else {
                    if create, status >= 500 { throw .ambiguousCreate(operation: operation, detail: "HTTP \(status)") }
                    throw failure
                }
                let retryAfter = response.headers.first(name: "Retry-After").flatMap {
                    RetryAfter.delay(from: $0, now: clock.now.secondsSince1970)
                }
                let delay = configuration.retry.delay(afterAttempt: attempt, retryAfter: retryAfter, using: &random)
                logger.debug(
                    "retrying after HTTP \(status)",
                    metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "delay": "\(delay)"])
                try await sleep(delay, operation: operation)
            }
        }
    }

    /// Backoff between attempts, on the client's clock.
    private func sleep(_ delay: Duration, operation: String) async throws(PolarisError) {
        do {
            try await clock.sleep(until: clock.now.advanced(by: delay), tolerance: nil)
        } catch {
            throw .transport(operation: operation, detail: "canceled")
        }
    }

    private func buildRequest(_ method: HTTPMethod, url: String, body: Data?) async throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        request.headers.add(name: "Accept", value: "application/json")
        switch configuration.authentication {
        case .apiKey(let key):
            let encoded = Data((key.reveal() + ":").utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic " + encoded)
        case .oauth:
            guard let tokenProvider else { break }
            let token = try await tokenProvider.token()
            request.headers.add(name: "Authorization", value: "Bearer " + token.reveal())
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    /// True for failures that happen before a request is written: a refused or timed-out
    /// connect. Only then may a create be retried.
    static func neverReachedServer(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError {
            return error == .connectTimeout
        }
        if error is NIOConnectionError { return true }
        if let error = error as? IOError { return error.errnoCode == ECONNREFUSED }
        return false
    }

    /// A short, secret-free description of a transport error.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        if error is NIOConnectionError { return "connection refused" }
        if let error = error as? IOError { return "I/O error \(error.errnoCode)" }
        return String(describing: type(of: error))
    }

    /// Percent-encodes a path segment or query value (RFC 3986 unreserved characters kept).
    static func escape(_ text: String) -> String {
        OAuthTokenProvider.formEncode(text)
    }
}
