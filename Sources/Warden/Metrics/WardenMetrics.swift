import PolarisAPI
import Prometheus
import Synchronization
import WardenPlatform

/// The warden's Prometheus metrics (docs/architecture.md, "One reconcile cycle", step 7), kept in a registry of its own rather than
/// the process-wide `MetricsSystem`, so tests can make as many independent instances as they
/// like. `JobSupervisor` reports cycles, job states and healing actions; the `PolarisClient`
/// observer reports every HTTP exchange; `MetricsServer` serves `exposition()` on `/metrics`.
///
/// Names follow the Prometheus conventions: the `polaris_warden_` prefix, `_total` counters,
/// `_seconds` durations, and labels with a small, fixed set of values (no job names or ids:
/// per-job detail lives in the journal and in `polaris-warden status`). `docs/operations.md`
/// lists them with example alerts.
public final class WardenMetrics: Sendable {
    /// The `outcome` of a reconcile cycle: `api_error` when listing jobs or connections failed
    /// (network, 5xx after retries, 401/403), so the cycle could not supervise anything.
    public enum CycleOutcome: String, Sendable, CaseIterable {
        case ok
        case apiError = "api_error"
    }

    /// The `outcome` of a healing action.
    public enum ActionResult: String, Sendable, CaseIterable {
        /// Done (for `test-connection`: the source is reachable).
        case ok
        /// Polaris refused it or could not be reached (for `test-connection`: the source is not
        /// reachable).
        case failed
        /// A create whose fate is unknown (timeout after sending); the next cycle adopts.
        case ambiguous
        /// A create refused because another streaming job holds the table.
        case tableHeld = "table_held"

        public init(_ result: ActionExecutor.Result) {
            switch result.outcome {
            case .created, .resumed, .resetDone: self = .ok
            case .tableHeldByAnotherJob: self = .tableHeld
            case .ambiguous: self = .ambiguous
            case .failed: self = .failed
            case nil:
                switch result.connectionTest {
                case .ok: self = .ok
                case .failed: self = .failed
                case nil: self = result.error == nil ? .ok : .failed
                }
            }
        }
    }

    /// Every metric name this type registers, for documentation and tests.
    public enum Name {
        public static let cycles = "polaris_warden_reconcile_cycles_total"
        public static let cycleDuration = "polaris_warden_reconcile_cycle_duration_seconds"
        public static let lastCycle = "polaris_warden_last_cycle_timestamp_seconds"
        public static let apiReachable = "polaris_warden_api_reachable"
        public static let jobs = "polaris_warden_jobs"
        public static let polarisJobs = "polaris_warden_polaris_jobs"
        public static let jobsGaveUp = "polaris_warden_jobs_gave_up"
        public static let jobsStalled = "polaris_warden_jobs_stalled"
        public static let metricsReads = "polaris_warden_metrics_reads_total"
        public static let jobListReads = "polaris_warden_job_list_reads_total"
        public static let healingActions = "polaris_warden_healing_actions_total"
        public static let apiRequests = "polaris_warden_api_requests_total"
        public static let apiDuration = "polaris_warden_api_request_duration_seconds"
        public static let rateLimitWaits = "polaris_warden_rate_limit_waits_total"
        public static let rateLimitWaitSeconds = "polaris_warden_rate_limit_wait_seconds_total"
        public static let leader = "polaris_warden_leader"

        public static let all = [
            cycles, cycleDuration, lastCycle, apiReachable, jobs, polarisJobs, jobsGaveUp, jobsStalled, metricsReads,
            jobListReads,
            healingActions,
            apiRequests, apiDuration, rateLimitWaits, rateLimitWaitSeconds, leader,
        ]
    }

    /// The `state` values of `polaris_warden_jobs` (`JobPhase.statusGroup`, snake-cased), always
    /// exported, 0 when no job is in them, so a query never sees a series vanish.
    public static let jobStates = [
        "running", "starting", "recovering", "unhealthy", "drifted", "left", "unknown", "gave_up",
    ]

    static let cycleBuckets: [Duration] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120].map(
        WardenMetrics.duration(seconds:))
    static let apiBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30].map(
        WardenMetrics.duration(seconds:))

    public let registry: PrometheusCollectorRegistry
    private let cycleCounters: [CycleOutcome: Counter]
    private let cycleDuration: DurationHistogram
    private let lastCycle: Gauge
    private let apiReachable: Gauge
    private let jobsGaveUp: Gauge
    private let jobsStalled: Gauge
    private let metricsReads: Counter
    private let jobListReads: [String: Counter]
    private let rateLimitWaitCount: Counter
    private let rateLimitWaitTime: Counter
    private let leader: Gauge
    private let known = Mutex(Known())
    /// The daemon's one clock: the time `polaris_warden_last_cycle_timestamp_seconds` reports.
    private let clock: any WallClock

    /// Label sets exported so far (kept at 0 once empty) and the rate limiter's last totals.
    private struct Known {
        var jobStates = Set(WardenMetrics.jobStates)
        var polarisJobs: Set<PolarisKey> = []
        var limiterWaits = 0
        var limiterWait = Duration.zero
    }

    private struct PolarisKey: Hashable {
        var executionStatus: String
        var health: String
    }

    public init(clock: any WallClock = SystemClock()) {
        self.clock = clock
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var counters: [CycleOutcome: Counter] = [:]
        for outcome in CycleOutcome.allCases {
            counters[outcome] = registry.makeCounter(
                descriptor: Self.cyclesDescriptor, labels: [("outcome", outcome.rawValue)])
        }
        cycleCounters = counters
        cycleDuration = registry.makeDurationHistogram(
            descriptor: Self.descriptor(
                Name.cycleDuration, unit: "seconds", "Time one reconcile cycle took (observe, decide, act, persist)."),
            buckets: Self.cycleBuckets)
        lastCycle = Self.gauge(
            in: registry, Name.lastCycle, unit: "seconds", "Unix time at which the last reconcile cycle finished.")
        apiReachable = Self.gauge(
            in: registry, Name.apiReachable,
            "1 when the last cycle could list jobs and connections in Polaris, else 0.")
        jobsGaveUp = Self.gauge(
            in: registry, Name.jobsGaveUp,
            "Configured jobs whose crash-loop budget is exhausted (no writes until `polaris-warden retry`).")
        jobsStalled = Self.gauge(
            in: registry, Name.jobsStalled,
            "Configured jobs running with health ok whose row counts stopped growing (supervisor.stall).")
        metricsReads = Self.counter(in: registry, Name.metricsReads, "Job metrics reads made for stall detection.")
        let listReads = Self.descriptor(
            Name.jobListReads, unit: "total",
            "Reads of the job list: a full sweep (every page) or a delta read (what changed since the last read).")
        jobListReads = Dictionary(
            uniqueKeysWithValues: ["sweep", "delta"].map {
                ($0, registry.makeCounter(descriptor: listReads, labels: [("kind", $0)]))
            })
        rateLimitWaitCount = Self.counter(
            in: registry, Name.rateLimitWaits, "Requests that waited for the client-side rate limiter.")
        rateLimitWaitTime = Self.counter(
            in: registry, Name.rateLimitWaitSeconds,
            "Seconds spent waiting for the client-side rate limiter (maxRequestsPerSecond).")
        leader = Self.gauge(
            in: registry, Name.leader,
            "1 while this warden acts on the jobs (always on a single host; the lease holder with "
                + "highAvailability), 0 while it stands by.")
        leader.set(to: 1)
        for state in Self.jobStates { jobsGauge(state: state).set(to: 0) }
    }

    /// With `highAvailability`: whether this warden holds the lease (`polaris_warden_leader`).
    public func leadership(isLeader: Bool) {
        leader.set(to: isLeader ? 1 : 0)
    }

    // MARK: Reports

    /// A reconcile cycle finished after `duration`.
    public func cycleFinished(duration: Duration, outcome: CycleOutcome) {
        cycleCounters[outcome]?.increment()
        cycleDuration.record(duration)
        lastCycle.set(to: clock.now.secondsSince1970)
        apiReachable.set(to: outcome == .ok ? 1 : 0)
    }

    /// The configured jobs after a cycle: counts by warden state and by Polaris status and health.
    public func jobsObserved(views: [JobSupervisor.JobView]) {
        var byState: [String: Int] = [:]
        var byPolaris: [PolarisKey: Int] = [:]
        var gaveUp = 0
        for view in views {
            byState[Self.stateLabel(view.phase), default: 0] += 1
            if case .gaveUp = view.phase { gaveUp += 1 }
            if let status = view.executionStatus {
                byPolaris[PolarisKey(executionStatus: status, health: view.health ?? "unknown"), default: 0] += 1
            }
        }
        let (states, polarisKeys) = known.withLock { known in
            known.jobStates.formUnion(byState.keys)
            known.polarisJobs.formUnion(byPolaris.keys)
            return (known.jobStates, known.polarisJobs)
        }
        for state in states { jobsGauge(state: state).set(to: Double(byState[state] ?? 0)) }
        for key in polarisKeys {
            registry.makeGauge(
                descriptor: Self.polarisJobsDescriptor,
                labels: [("execution_status", key.executionStatus), ("health", key.health)]
            ).set(to: Double(byPolaris[key] ?? 0))
        }
        jobsGaveUp.set(to: Double(gaveUp))
    }

    /// Stall detection read `reads` job metrics this cycle and `stalled` jobs are stalled now.
    public func stallSampled(reads: Int, stalled: Int) {
        metricsReads.increment(by: Int64(reads))
        jobsStalled.set(to: Double(stalled))
    }

    /// The job list was read: `sweep` (every page) or `delta` (`JobIndex`).
    public func jobListRead(kind: String) {
        jobListReads[kind]?.increment()
    }

    /// A healing action (`JobAction.name`: create, recreate, replace, resume, reset-offsets,
    /// test-connection) finished.
    public func actionFinished(action: String, outcome: ActionResult) {
        registry.makeCounter(
            descriptor: Self.healingActionsDescriptor, labels: [("action", action), ("outcome", outcome.rawValue)]
        ).increment()
    }

    /// One HTTP exchange with Polaris (each retry attempt is one); status `none` when no
    /// response arrived (connection refused, timeout, dropped connection).
    public func apiExchange(_ exchange: PolarisClient.Exchange) {
        let status = exchange.status.map { String($0) } ?? "none"
        registry.makeCounter(
            descriptor: Self.apiRequestsDescriptor, labels: [("operation", exchange.operation), ("status", status)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.apiDurationDescriptor, labels: [("operation", exchange.operation)],
            buckets: Self.apiBuckets
        ).record(exchange.duration)
    }

    /// The client's rate limiter totals so far (`RateLimiter.waits`, `.totalWait`); the
    /// counters grow by the difference since the last report. A smaller total means a new
    /// limiter (a reload rebuilt the client) and counts from zero.
    public func rateLimitWaits(count: Int, seconds: Duration) {
        let (addedCount, addedTime) = known.withLock { known in
            let fresh = count < known.limiterWaits || seconds < known.limiterWait
            let added = fresh ? (count, seconds) : (count - known.limiterWaits, seconds - known.limiterWait)
            known.limiterWaits = count
            known.limiterWait = seconds
            return added
        }
        if addedCount > 0 { rateLimitWaitCount.increment(by: Int64(addedCount)) }
        if addedTime > .zero { rateLimitWaitTime.increment(by: addedTime.inSeconds) }
    }

    // MARK: Exposition

    /// The Prometheus text exposition format (version 0.0.4).
    public func exposition() -> String {
        registry.emitToString()
    }

    /// `exposition()` as bytes, for the HTTP response.
    public func expositionBytes() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// A swift-metrics factory writing into this registry, for code instrumented with
    /// swift-metrics (`Counter(label:dimensions:factory:)`); never bootstrapped globally.
    public var factory: PrometheusMetricsFactory {
        PrometheusMetricsFactory(registry: registry)
    }

    // MARK: Helpers

    /// `JobPhase.statusGroup`, snake-cased: `gave up` becomes `gave_up`.
    public static func stateLabel(_ phase: JobPhase) -> String {
        phase.statusGroup.lowercased().replacing(" ", with: "_")
    }

    private func jobsGauge(state: String) -> Gauge {
        registry.makeGauge(descriptor: Self.jobsDescriptor, labels: [("state", state)])
    }

    static func duration(seconds value: Double) -> Duration {
        .nanoseconds(Int64(value * 1_000_000_000))
    }

    /// A descriptor for `name`, which must start with `polaris_warden_` and end in `_unit`.
    private static func descriptor(_ name: String, unit: String, _ help: String) -> MetricNameDescriptor {
        let prefix = "polaris_warden_"
        precondition(name.hasPrefix(prefix) && (unit.isEmpty || name.hasSuffix("_" + unit)), "bad metric name \(name)")
        let base = name.dropFirst(prefix.count).dropLast(unit.isEmpty ? 0 : unit.count + 1)
        return MetricNameDescriptor(
            namespace: "polaris_warden", metricName: String(base), unitName: unit, helpText: help)
    }

    /// An unlabelled gauge `name`, measured in `unit` (none unless given).
    private static func gauge(
        in registry: PrometheusCollectorRegistry, _ name: String, unit: String = "", _ help: String
    ) -> Gauge {
        registry.makeGauge(descriptor: descriptor(name, unit: unit, help))
    }

    /// An unlabelled counter `name` (a `_total`).
    private static func counter(in registry: PrometheusCollectorRegistry, _ name: String, _ help: String) -> Counter {
        registry.makeCounter(descriptor: descriptor(name, unit: "total", help))
    }

    private static var cyclesDescriptor: MetricNameDescriptor {
        descriptor(Name.cycles, unit: "total", "Reconcile cycles by outcome (api_error: Polaris could not be listed).")
    }

    private static var jobsDescriptor: MetricNameDescriptor {
        descriptor(Name.jobs, unit: "", "Configured jobs by warden state (the groups of the STATUS= line).")
    }

    private static var polarisJobsDescriptor: MetricNameDescriptor {
        descriptor(
            Name.polarisJobs, unit: "", "Configured jobs that have a Polaris job, by its executionStatus and health.")
    }

    private static var healingActionsDescriptor: MetricNameDescriptor {
        descriptor(Name.healingActions, unit: "total", "Healing actions sent to Polaris, by action and outcome.")
    }

    private static var apiRequestsDescriptor: MetricNameDescriptor {
        descriptor(
            Name.apiRequests, unit: "total",
            "HTTP requests to the Polaris API (each retry counts), by operation and status (none: no response).")
    }

    private static var apiDurationDescriptor: MetricNameDescriptor {
        descriptor(Name.apiDuration, unit: "seconds", "Duration of HTTP requests to the Polaris API, by operation.")
    }
}
