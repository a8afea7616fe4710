import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The validated configuration of one warden: where Polaris is, how to authenticate, how the
/// supervisor behaves, and the desired connections and streaming jobs.
///
/// Only `ConfigLoader` builds one from a file, and it builds one only when the whole document is
/// valid, so code downstream never re-checks (a job's table and connection are always present,
/// connection names are unique, no two jobs share a table).
public struct WardenConfig: Sendable, Hashable {
    public var polaris: PolarisSettings
    public var supervisor: SupervisorSettings
    /// In the order of the config file; unique names.
    public var connections: [DesiredConnection]
    /// In the order of the config file; unique names and unique target tables.
    public var jobs: [DesiredJob]
    /// The optional Prometheus endpoint; nil (the default) serves no metrics.
    public var metrics: MetricsSettings?
    /// Two or more wardens, one acting (`highAvailability`); nil: a single host.
    public var highAvailability: HighAvailabilitySettings?

    public init(
        polaris: PolarisSettings,
        supervisor: SupervisorSettings = SupervisorSettings(),
        connections: [DesiredConnection] = [],
        jobs: [DesiredJob] = [],
        metrics: MetricsSettings? = nil,
        highAvailability: HighAvailabilitySettings? = nil
    ) {
        self.polaris = polaris
        self.supervisor = supervisor
        self.connections = connections
        self.jobs = jobs
        self.metrics = metrics
        self.highAvailability = highAvailability
    }

    /// The declared connection called `name`, managed or not.
    public func connection(named name: String) -> DesiredConnection? {
        connections.first { $0.name == name }
    }

    /// The desired job called `name`.
    public func job(named name: String) -> DesiredJob? {
        jobs.first { $0.name == name }
    }
}

/// Where the Polaris API is and how to talk to it.
public struct PolarisSettings: Sendable, Hashable {
    /// The regional base URL as configured, e.g. `https://ORG.REGION.CLOUD.api.imply.io`, with an
    /// optional trailing slash removed so that `url + "/v1/projects/…"` is always right. The
    /// loader guarantees `https` (or `http` for a loopback host, which is what tests and the
    /// emulator use: plain HTTP would send the API key in clear text) and no path or query,
    /// because the client adds the project-scoped path itself.
    public var url: String
    /// The Polaris project (a UUID). Every connection and job URL is project-scoped.
    public var projectId: String
    public var auth: AuthSettings
    /// Per HTTP request, seconds. A stuck request must not stall the reconcile loop (and with
    /// it the watchdog).
    public var requestTimeoutSeconds: Double
    /// Client-side cap on request rate. Polaris rate-limits per organization, and the warden
    /// shares that budget with people and other tools.
    public var maxRequestsPerSecond: Double

    public init(
        url: String,
        projectId: String,
        auth: AuthSettings,
        requestTimeoutSeconds: Double = 10,
        maxRequestsPerSecond: Double = 10
    ) {
        self.url = url
        self.projectId = projectId
        self.auth = auth
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.maxRequestsPerSecond = maxRequestsPerSecond
    }
}

/// The `metrics` section: where the Prometheus text endpoint (`GET /metrics`) listens. It has no
/// authentication, so the example binds loopback; `run --metrics-address` overrides it. Read at
/// start-up only: a reload does not move the listener.
public struct MetricsSettings: Sendable, Hashable {
    public var address: MetricsAddress

    public init(address: MetricsAddress) {
        self.address = address
    }
}

/// How the warden authenticates to Polaris. The config only ever says where a secret is, never
/// the secret itself: a config file gets copied, committed and pasted into tickets.
public enum AuthSettings: Sendable, Hashable {
    /// An API key sent as HTTP Basic user name. JSON:
    /// `{"type": "apiKey", "credential" | "file" | "env": …}` (exactly one source).
    case apiKey(SecretSource)
    /// OAuth 2.0 client credentials; the bearer token is fetched from `tokenURL` and refreshed
    /// before it expires. JSON: `{"type": "oauth", "clientId": …, "tokenUrl": …,
    /// "clientSecretCredential" | "clientSecretFile" | "clientSecretEnv": …}` (exactly one).
    case oauth(clientId: String, secret: SecretSource, tokenURL: String)
}

/// Where a secret is read from at start-up and on reload. The value itself is never stored in
/// the config.
public enum SecretSource: Sendable, Hashable {
    /// `$CREDENTIALS_DIRECTORY/NAME`: a systemd credential (`LoadCredential=` in the unit), the
    /// production default because only the service can read it.
    case credential(String)
    /// An absolute file path; the reader refuses a file that its group or others can read.
    case file(String)
    /// An environment variable, for development: the environment of a process is visible to
    /// more people than a credential is.
    case env(String)
}

/// A Polaris connection the config declares.
public struct DesiredConnection: Sendable, Hashable {
    /// The Polaris connection name; jobs refer to it by this name.
    public var name: String
    /// True when the warden creates the connection and keeps it as configured (PATCH on
    /// drift). False (`"managed": false` in JSON) declares a connection someone else owns, such
    /// as one whose secrets cannot be written in a config file: jobs may use it, and the warden
    /// never writes to it.
    public var managed: Bool
    /// `kinesis`, `kafka`, …; nil only for an unmanaged connection that does not say.
    public var type: String?
    /// The connection body as configured, `type` and `name` included and the warden-only
    /// `managed` flag removed: what the warden POSTs or PATCHes. Fields this project does not
    /// know are kept, so a newer Polaris field still works. Empty besides `name` (and `type`)
    /// for an unmanaged connection.
    public var fields: [String: JSONValue]

    public init(name: String, managed: Bool = true, type: String?, fields: [String: JSONValue]) {
        self.name = name
        self.managed = managed
        self.type = type
        self.fields = fields
    }
}

/// A streaming job the warden keeps alive.
public struct DesiredJob: Sendable, Hashable {
    /// The name operators use (`polaris-warden retry NAME`, `POLARIS_JOB=` in the journal).
    /// Polaris itself has no job names; jobs are matched by target table.
    public var name: String
    /// The Polaris job request body, passed through unchanged. The loader guarantees a
    /// `streaming` job reading a declared connection into a table, without `replaceRunning`
    /// (the warden sets that itself when it replaces a job).
    public var spec: JobSpec {
        didSet { (table, connectionName) = Self.identity(of: spec) }
    }
    /// The target table: the job's identity in Polaris, which allows one streaming job per
    /// table. Always present in a loaded config (empty only for a hand-built spec without one).
    /// Kept beside the spec: every cycle asks for it several times per job.
    public private(set) var table: String
    /// The connection the job reads. Always present in a loaded config.
    public private(set) var connectionName: String
    /// Heal order when many jobs need a write at once: higher first (default 0).
    public var priority: Int
    /// The job's own `stall`: nil follows `supervisor.stall`; `.off` is `"stall": false`.
    public var stall: StallChoice?

    /// A job's `stall` member.
    public enum StallChoice: Hashable, Sendable {
        case off
        /// Overrides; members the job leaves out come from `supervisor.stall` (or its defaults).
        case custom(afterSeconds: Double?, action: SupervisorSettings.Stall.Action?)
    }

    public init(name: String, spec: JobSpec, priority: Int = 0, stall: StallChoice? = nil) {
        self.name = name
        self.spec = spec
        (table, connectionName) = Self.identity(of: spec)
        self.priority = priority
        self.stall = stall
    }

    private static func identity(of spec: JobSpec) -> (table: String, connection: String) {
        (spec.targetTable ?? "", spec.connectionName ?? "")
    }

    /// The stall detection that applies to this job, nil when off.
    public func stallSettings(_ supervisor: SupervisorSettings) -> SupervisorSettings.Stall? {
        switch stall {
        case nil: return supervisor.stall
        case .off: return nil
        case .custom(let afterSeconds, let action):
            var settings = supervisor.stall ?? SupervisorSettings.Stall()
            if let afterSeconds { settings.afterSeconds = afterSeconds }
            if let action { settings.action = action }
            return settings
        }
    }

    /// `maxParseExceptions` of the spec (Polaris's default when absent).
    public var maxParseExceptions: Int64 { spec.fields["maxParseExceptions"]?.intValue ?? 2_147_483_647 }
}

extension WardenConfig {
    /// Lets the jobs' specs share what they have in common (`JSONInterner`): jobs made from one
    /// template repeat most of their spec, and a 10,000-job config kept 10,000 copies of it.
    mutating func shareEqualSpecParts() {
        var interner = JSONInterner()
        for index in jobs.indices {
            jobs[index].spec = JobSpec(fields: interner.intern(jobs[index].spec.fields))
        }
    }
}
