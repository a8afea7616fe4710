import Logging

/// How the emulator is set up. Defaults suit tests: an ephemeral port on loopback and jobs that
/// start at once; the `polaris-emulator` CLI picks friendlier interactive values (port 8080,
/// 1 s start delay).
public struct EmulatorConfiguration: Sendable {
    /// The one project this emulator serves; any other id in `/v1/projects/{projectId}` is a 404.
    public var projectID: String
    /// The API key clients must present (Basic auth username, empty password).
    public var apiKey: String
    /// How long a job stays `pending` after it is created or resumed before it is `running`.
    /// Applied lazily on the next read, so no background timer touches state.
    public var startDelay: Duration
    /// How fast a running streaming job's `numRowsProcessed` grows (emulator-clock time, so
    /// `advanceClock(by:)` moves it); 0 stops growth. At most `maxRowsPerSecond`.
    public var rowsPerSecond: Int64
    /// How the emulator reads each behaviour the API reference can only guess at
    /// (`LiveBehaviour`); `.standard` by default.
    public var behaviour: LiveBehaviour
    /// `warn` (the docs and the list filter) or `warning` (the SDK's discriminator); the same
    /// as `behaviour.healthSpelling`.
    public var healthSpelling: HealthSpelling {
        get { behaviour.healthSpelling }
        set { behaviour.healthSpelling = newValue }
    }
    /// Address to bind; loopback by default so a dev key never leaves the machine.
    public var host: String
    /// 0 asks the kernel for a free port; `start()` returns the bound one.
    public var port: Int
    /// OAuth client credentials (`client_id` → `client_secret`) the token endpoint accepts.
    public var oauthClients: [String: String]
    /// Static bearer tokens accepted without the token endpoint (they never expire).
    public var acceptedBearerTokens: Set<String>
    /// Lifetime of tokens issued by `POST /_emulator/oauth/token` (Polaris: 5 minutes).
    public var tokenLifetime: Duration
    /// Most recent requests kept in the request log; counters are never truncated.
    public var requestLogLimit: Int
    public var logger: Logger

    /// A fixed project id, so a demo or a test can hard-code URLs.
    public static let defaultProjectID = "6e3f2b8a-1c4d-4e5f-9a7b-8c9d0e1f2a3b"
    /// A development key; it guards nothing of value and is only used when none is configured.
    public static let defaultAPIKey = "pok_emulator_dev_key"
    /// The default `rowsPerSecond`: at 1,000 rows/s any read 1 ms or more later shows more rows.
    public static let defaultRowsPerSecond: Int64 = 1000
    /// The highest `rowsPerSecond` accepted (a billion rows/s keeps the arithmetic exact).
    public static let maxRowsPerSecond: Int64 = 1_000_000_000

    /// `healthSpelling`, when given, overrides `behaviour.healthSpelling`.
    public init(
        projectID: String = EmulatorConfiguration.defaultProjectID,
        apiKey: String = EmulatorConfiguration.defaultAPIKey,
        startDelay: Duration = .zero,
        rowsPerSecond: Int64 = EmulatorConfiguration.defaultRowsPerSecond,
        healthSpelling: HealthSpelling? = nil,
        behaviour: LiveBehaviour = .standard,
        host: String = "127.0.0.1",
        port: Int = 0,
        oauthClients: [String: String] = [:],
        acceptedBearerTokens: Set<String> = [],
        tokenLifetime: Duration = .seconds(300),
        requestLogLimit: Int = 10_000,
        logger: Logger = Logger(label: "polaris-emulator")
    ) {
        self.projectID = projectID
        self.apiKey = apiKey
        self.startDelay = startDelay
        self.rowsPerSecond = rowsPerSecond
        self.behaviour = behaviour
        if let healthSpelling { self.behaviour.healthSpelling = healthSpelling }
        self.host = host
        self.port = port
        self.oauthClients = oauthClients
        self.acceptedBearerTokens = acceptedBearerTokens
        self.tokenLifetime = tokenLifetime
        self.requestLogLimit = requestLogLimit
        self.logger = logger
    }
}

/// The spelling of a warning health status on the wire. The reference leaves open which one
/// the live service sends (docs/polaris/api-reference.md §4.6, §4.10), so clients must be tested against both.
public enum HealthSpelling: String, Sendable, Codable, CaseIterable {
    case warn, warning
}
