import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything the emulator knows: connections, tables, jobs, armed faults, the request log,
/// counters and issued OAuth tokens.
///
/// One actor, so the HTTP handlers, the admin API and in-process test calls see one consistent
/// state without locks. Time-based transitions (`pending` → `running` after the start delay)
/// and the growth of a running streaming job's counters (`rowsPerSecond`) are applied lazily
/// whenever a job is read, against a clock that tests can move forward with
/// `advanceClock(by:)`; no background task ever mutates state behind a test's back.
public actor EmulatorStore {
    /// A table created by a job's `createTableIfNotExists` (or by seeding).
    struct Table: Sendable {
        let id: String
        let name: String
        let created: PolarisTimestamp
    }

    /// Who a request or an admin action acts as.
    public static let apiKeyUser = PolarisUser(
        username: "emulator-api-key", userId: "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d")
    /// The actor of admin-API changes ("someone else canceled my job").
    public static let otherUser = PolarisUser(
        username: "someone-else@example.com", userId: "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c")

    public nonisolated let projectID: String
    var startDelay: Duration
    /// How fast running streaming jobs' `numRowsProcessed` grows (`EmulatedJob.totals(at:…)`).
    public private(set) var rowsPerSecond: Int64
    /// The current reading of each [INFERRED] live behaviour.
    public private(set) var behaviour: LiveBehaviour
    var healthSpelling: HealthSpelling { behaviour.healthSpelling }
    let tokenLifetime: Duration
    let oauthClients: [String: String]
    let acceptedBearerTokens: Set<String>
    let requestLogLimit: Int

    /// Awaited before each `GET /jobs` page is built (in-process tests only): lets a test change
    /// jobs between the pages of one walk. Given the page's offset and whether it is sorted by
    /// last update.
    public private(set) var listPageHook: (@Sendable (_ offset: Int, _ byLastUpdate: Bool) async -> Void)?

    public func setListPageHook(_ hook: (@Sendable (_ offset: Int, _ byLastUpdate: Bool) async -> Void)?) {
        listPageHook = hook
    }

    var clockOffset: Int64 = 0
    var lastIssuedNanos: Int64 = .min

    var connections: [String: Connection] = [:]
    var connectionOrder: [String] = []
    var connectionTestFailures: [String: EmulatorError] = [:]
    /// `status.state` of the project (`pauseProject()`); only `running` lets jobs run.
    var projectState = ProjectState.running
    /// Connections broken by the admin API (name → the message their test and jobs carry).
    var brokenConnections: [String: String] = [:]
    var tables: [String: Table] = [:]
    var jobs: [String: EmulatedJob] = [:] {
        didSet { jobsVersion &+= 1 }
    }
    /// Bumped on every change to `jobs`; invalidates `sortCache`.
    var jobsVersion = 0
    var sortCache: (column: JobListQuery.SortColumn, version: Int, entries: [JobListQuery.SortEntry])?
    /// Jobs with a pending timed transition; only these are looked at by the lazy clock.
    var timedJobIDs: Set<String> = []
    /// Table name → id of the non-terminal streaming job that holds it (one per table).
    var streamingHolders: [String: String] = [:]

    var faults = FaultBook()
    var requests: [RequestRecord] = []
    var requestCounters = EmulatorCounters()
    var tokens: [String: (expiresAt: Int64, user: PolarisUser)] = [:]

    public init(configuration: EmulatorConfiguration) {
        projectID = configuration.projectID
        startDelay = configuration.startDelay
        rowsPerSecond = min(max(0, configuration.rowsPerSecond), EmulatorConfiguration.maxRowsPerSecond)
        behaviour = configuration.behaviour
        tokenLifetime = configuration.tokenLifetime
        oauthClients = configuration.oauthClients
        acceptedBearerTokens = configuration.acceptedBearerTokens
        requestLogLimit = max(1, configuration.requestLogLimit)
    }

    // MARK: Clock

    /// Wall-clock nanoseconds plus whatever tests advanced the clock by.
    func nowNanos() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1e9).rounded(.down)) + clockOffset
    }

    /// A timestamp later than every one issued before, so "newest job" is always well-defined
    /// even for jobs created within the same microsecond.
    func nextTimestamp() -> PolarisTimestamp {
        let nanos = max(nowNanos(), lastIssuedNanos + 1)
        lastIssuedNanos = nanos
        return Self.timestamp(nanos: nanos)
    }

    static func timestamp(nanos: Int64) -> PolarisTimestamp {
        let seconds = nanos >= 0 ? nanos / 1_000_000_000 : (nanos - 999_999_999) / 1_000_000_000
        return PolarisTimestamp(seconds: seconds, nanoseconds: Int32(nanos - seconds * 1_000_000_000))
    }

    static func nanos(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Moves the emulator's clock forward (start delays, token expiry).
    public func advanceClock(by duration: Duration) {
        clockOffset += Self.nanos(duration)
    }

    /// Changes the start delay for jobs that start or resume from now on.
    public func setStartDelay(_ delay: Duration) {
        startDelay = delay
    }

    /// The same as changing `behaviour.healthSpelling`.
    public func setHealthSpelling(_ spelling: HealthSpelling) {
        behaviour.healthSpelling = spelling
    }

    /// Switches every [INFERRED] behaviour at once; applies to requests from now on (a job
    /// already replaced or resumed keeps the path it took).
    public func setBehaviour(_ behaviour: LiveBehaviour) {
        self.behaviour = behaviour
    }

    /// Changes how fast running streaming jobs' `numRowsProcessed` grows from now on (rows
    /// already grown stay). 0 stops growth; more than `EmulatorConfiguration.maxRowsPerSecond`
    /// or less than 0 is a 400.
    public func setRowsPerSecond(_ rate: Int64) throws(EmulatorError) {
        guard (0...EmulatorConfiguration.maxRowsPerSecond).contains(rate) else {
            throw .invalid(
                "rowsPerSecond must be an integer from 0 to \(EmulatorConfiguration.maxRowsPerSecond).",
                target: "rowsPerSecond")
        }
        guard rate != rowsPerSecond else { return }
        advanceAll()
        let now = nowNanos()
        for id in Array(jobs.keys) where jobs[id]?.isIngesting == true {
            jobs[id]?.settle(at: now, rowsPerSecond: rowsPerSecond)
        }
        rowsPerSecond = rate
    }

    /// `PUT /_emulator/settings`: the `LiveBehaviour` keys in `settings`, the start delay and
    /// `rowsPerSecond`, all or nothing. Returns the behaviour now in force.
    func applySettings(_ settings: JSONValue, startDelay delay: Duration?) throws(EmulatorError) -> LiveBehaviour {
        let updated = try behaviour.applying(settings)
        var rate: Int64?
        if let value = settings["rowsPerSecond"] {
            guard let number = value.intValue, (0...EmulatorConfiguration.maxRowsPerSecond).contains(number) else {
                throw .invalid(
                    "rowsPerSecond must be an integer from 0 to \(EmulatorConfiguration.maxRowsPerSecond).",
                    target: "rowsPerSecond")
            }
            rate = number
        }
        if let delay { startDelay = delay }
        if let rate { try setRowsPerSecond(rate) }
        behaviour = updated
        return updated
    }

    // MARK: Faults

    /// Arms a fault; returns its id.
    @discardableResult
    public func inject(_ fault: InjectedFault) throws(EmulatorError) -> Int {
        try fault.validate()
        return faults.add(fault)
    }

    /// The armed faults with their remaining counts.
    public func armedFaults() -> [InjectedFault] { faults.armed.map(\.fault) }

    public func clearFaults() { faults.removeAll() }

    /// The faults that apply to a request. Under `LiveBehaviour.RetryAfterHeader.omitted` a
    /// fault's `Retry-After` is dropped here, so no response carries one.
    func takeFaults(method: String, path: String, projectPath: String?) -> FaultBook.Decision {
        var decision = faults.take(method: method, path: path, projectPath: projectPath)
        if behaviour.retryAfter == .omitted, case .respond(let status, .some, let body) = decision.terminal {
            decision.terminal = .respond(status: status, retryAfter: nil, body: body)
        }
        return decision
    }

    // MARK: Request log

    func record(method: String, path: String, query: String?, status: Int?, route: String, userAgent: String? = nil) {
        var entry = RequestRecord(
            method: method, path: path, query: query, status: status, route: route, timestamp: nextTimestamp())
        entry.userAgent = userAgent
        requestCounters.add(entry)
        requests.append(entry)
        // Trim in batches so appending stays amortized O(1).
        if requests.count >= requestLogLimit * 2 { requests.removeFirst(requests.count - requestLogLimit) }
    }

    /// The most recent requests (at most the configured limit), oldest first.
    public func requestLog() -> [RequestRecord] { Array(requests.suffix(requestLogLimit)) }

    public func counters() -> EmulatorCounters { requestCounters }

    /// Clears the request log and the counters.
    public func resetRequestLog() {
        requests.removeAll()
        requestCounters = EmulatorCounters()
    }

    // MARK: OAuth

    enum BearerCheck: Sendable, Equatable {
        case valid(PolarisUser)
        case expired
        case unknown
    }

    /// Issues an access token for valid client credentials.
    func issueToken(clientID: String, clientSecret: String) -> (token: String, lifetimeSeconds: Int64)? {
        guard let expected = oauthClients[clientID], expected == clientSecret else { return nil }
        let token = "emu_" + UUID().uuidString.lowercased().replacing("-", with: "")
        let user = PolarisUser(username: "service-account-\(clientID)", userId: Self.stableID(for: clientID))
        tokens[token] = (nowNanos() + Self.nanos(tokenLifetime), user)
        return (token, Self.nanos(tokenLifetime) / 1_000_000_000)
    }

    func checkBearer(_ token: String) -> BearerCheck {
        if acceptedBearerTokens.contains(token) {
            return .valid(PolarisUser(username: "bearer-token", userId: Self.stableID(for: "bearer")))
        }
        guard let issued = tokens[token] else { return .unknown }
        return nowNanos() < issued.expiresAt ? .valid(issued.user) : .expired
    }

    /// A deterministic UUID-shaped id for a name, so a client keeps the same `userId`.
    static func stableID(for name: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        let padded = String(repeating: "0", count: 16 - hex.count) + hex
        let chars = Array(padded + padded.reversed())
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-4" + String(chars[13..<16]) + "-8"
            + String(chars[17..<20]) + "-" + String(chars[20..<32])
    }
}
