/// What the supervisor does, and how patiently. Defaults are the documented ones
/// (`docs/configuration.md`); the config loader fills these from `supervisor` in the JSON config.
public struct SupervisorSettings: Hashable, Sendable {
    /// What to do with a job that someone canceled (canceled is terminal in Polaris).
    public enum OnCanceled: String, Hashable, Sendable, CaseIterable { case recreate, leave }
    /// What to do with a suspended job.
    public enum OnSuspended: String, Hashable, Sendable, CaseIterable { case resume, leave }
    /// What to do when the running job's spec differs from the desired one.
    public enum OnSpecDrift: String, Hashable, Sendable, CaseIterable { case replace, report }

    /// Crash-loop protection for recreate/replace.
    public struct Recreate: Hashable, Sendable {
        public var maxAttempts: Int = 5
        public var windowSeconds: Double = 3600
        public var backoffInitialSeconds: Double = 5
        public var backoffMaxSeconds: Double = 300
        public init() {}
    }

    public var pollIntervalSeconds: Double = 15
    /// Consecutive `error` health observations before a replace.
    public var unhealthyThreshold: Int = 3
    /// Consecutive healthy observations that reset backoff and unhealthy counters.
    public var healthyThreshold: Int = 3
    public var recreate = Recreate()
    public var onCanceled: OnCanceled = .recreate
    public var onSuspended: OnSuspended = .resume
    public var onSpecDrift: OnSpecDrift = .replace
    /// `POST /jobs/{id}/reset` on stale offsets. Off by default: a reset loses or duplicates data.
    public var autoResetOffsets: Bool = false
    /// How long a job may stay `pending` before it is reported and then replaced.
    public var pendingTimeoutSeconds: Double = 600
    /// How long a job may stay `unknown` before it is reported and then replaced.
    public var unknownTimeoutSeconds: Double = 600
    /// Consecutive `warn`/`lost_connection_to_source` observations before the connection is tested.
    public var lostConnectionThreshold: Int = 3
    /// Healing actions executed at once.
    public var maxConcurrentActions: Int = 4
    /// Delete Polaris connections that the config does not declare. Off by default.
    public var prune: Bool = false
    /// Silent-stall detection from job metrics (`supervisor.stall`); nil (absent) = off.
    public var stall: Stall?

    /// `supervisor.stall`: a `running` job with health `ok` whose row counts have not grown for
    /// `afterSeconds` is stalled (docs/configuration.md, "Stall detection").
    public struct Stall: Hashable, Sendable {
        public enum Action: String, Hashable, Sendable, CaseIterable { case report, replace }
        public var afterSeconds: Double = 900
        public var action: Action = .report
        /// The share of `maxRequestsPerSecond` that metrics reads may use.
        public var metricsShare: Double = 0.2
        public init() {}
    }

    public init() {}
}
