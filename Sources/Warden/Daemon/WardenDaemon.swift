import Logging
import PolarisAPI
import Systemd
import WardenPlatform

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Wires the daemon together for `polaris-warden run`: config, secret, the one clock, client,
/// state, supervisor, watchdog, service group. Kept out of the executable so tests and `demo`
/// use the same start-up path.
public enum WardenDaemon {
    /// A start-up failure with the exit code a systemd unit and a shell expect.
    public struct StartupError: Error, CustomStringConvertible {
        public let description: String
        public let exitCode: Int32
    }

    /// EX_CONFIG: the configuration (or the credential it names) is wrong.
    public static let exConfig: Int32 = 78

    public static func loadConfig(path: String, logger: Logger) throws -> WardenConfig {
        do {
            let config = try ConfigLoader.load(path: path)
            logger.log(
                event: .configLoaded,
                "configuration loaded: \(config.connections.count) connections, \(config.jobs.count) jobs",
                metadata: ["WARDEN_CONFIG": "\(path)"])
            return config
        } catch {
            logger.log(
                event: .configRejected, "configuration rejected: \(error)", metadata: ["WARDEN_CONFIG": "\(path)"])
            throw StartupError(description: "\(error)", exitCode: exConfig)
        }
    }

    public static func clientConfiguration(
        for config: WardenConfig, environment: [String: String], logger: Logger
    ) throws -> PolarisClientConfiguration {
        do {
            return try SecretResolver.clientConfiguration(for: config.polaris, environment: environment)
        } catch {
            logger.log(event: .configRejected, "cannot use the Polaris settings: \(error)")
            throw StartupError(description: "\(error)", exitCode: exConfig)
        }
    }

    /// Loads the state file; a missing or corrupt one is reported and replaced by adoption.
    public static func loadState(_ store: StateStore, logger: Logger) -> WardenState {
        let (state, result) = store.load()
        switch result {
        case .loaded: break
        case .missing:
            logger.info("no state file at \(store.path): existing jobs will be adopted")
        case .corrupt(let reason, let preservedAt):
            logger.error(
                "state file \(store.path) unusable (\(reason)); moved to \(preservedAt ?? "nowhere"); rebuilding by adoption"
            )
        }
        return state
    }

    /// `User-Agent`: with `highAvailability` it names the instance, so Polaris' audit trail (and
    /// the tests) tell the wardens of one project apart.
    public static func userAgent(for config: WardenConfig) -> String {
        config.highAvailability.map { "polaris-warden (\($0.instance))" } ?? "polaris-warden"
    }

    /// Makes the leader lease of a `highAvailability` config (the executable passes PostgreSQL's):
    /// the settings, the resolved database password, the scope (the Polaris project) and how long
    /// one database operation may take.
    public typealias LeaderLeaseFactory =
        @Sendable (
            _ settings: HighAvailabilitySettings, _ password: Secret, _ scope: String, _ operationTimeout: Duration
        ) -> any LeaderLease

    /// Runs until SIGTERM/SIGINT. Throws `StartupError` for bad config or credentials.
    /// `metricsAddress` (`run --metrics-address`) wins over the config's `metrics.address`; with
    /// neither, no metrics are collected or served. A config with `highAvailability` needs
    /// `makeLease`.
    public static func run(
        options: WardenService.Options, metricsAddress: MetricsAddress? = nil,
        notifier: SystemdNotifier = SystemdNotifier(), makeLease: LeaderLeaseFactory? = nil, logger: Logger
    ) async throws {
        let config = try loadConfig(path: options.configPath, logger: logger)
        var clientConfiguration = try clientConfiguration(for: config, environment: options.environment, logger: logger)
        clientConfiguration.userAgent = userAgent(for: config)
        // The one clock: every timer, the rate limiter, token expiry, the watchdog and every date.
        let clock = SystemClock()
        let metricsAddress = metricsAddress ?? config.metrics?.address
        let metrics: WardenMetrics? = metricsAddress == nil ? nil : WardenMetrics(clock: clock)
        var observer: (@Sendable (PolarisClient.Exchange) -> Void)?
        if let metrics { observer = { metrics.apiExchange($0) } }
        let client = PolarisClient(
            configuration: clientConfiguration, logger: Logger(label: "polaris-api"), observer: observer, clock: clock)
        mkdir(options.stateDirectory, 0o700)
        let store = StateStore(path: options.stateDirectory + "/state.json", clock: clock)
        let supervisor = JobSupervisor(
            config: config, client: client, store: store, initialState: loadState(store, logger: logger),
            logger: logger, clock: clock, metrics: metrics)
        // A cycle may legitimately take several request timeouts (retries); only a loop that
        // has not finished a cycle in three poll intervals plus that much is wedged.
        let stall = Duration.milliseconds(
            Int64((config.supervisor.pollIntervalSeconds * 3 + config.polaris.requestTimeoutSeconds * 8) * 1000))
        let watchdog = WatchdogService.fromEnvironment(
            stallTimeout: stall, clock: clock, notifier: notifier, logger: logger)
        let coordinator = try makeCoordinator(
            config: config, options: options, makeLease: makeLease, clock: clock, metrics: metrics, logger: logger)
        await supervisor.setWriteAuthority(coordinator)
        let service = WardenService(
            supervisor: supervisor, options: options, notifier: notifier, watchdog: watchdog,
            coordinator: coordinator, clock: clock, logger: logger)
        var metricsServer: MetricsServer?
        if let metrics, let metricsAddress {
            if !metricsAddress.isLoopback {
                logger.warning(
                    "the metrics endpoint \(metricsAddress) is reachable from other hosts and has no authentication")
            }
            metricsServer = MetricsServer(metrics: metrics, address: metricsAddress, logger: logger)
        }
        let group = WardenServiceGroup(
            service: service, watchdog: watchdog, coordinator: coordinator, metricsServer: metricsServer,
            logger: logger)
        do {
            try await group.run()
        } catch {
            notifier.stopping(status: "failed: \(error)")
            throw error
        }
    }

    /// The `Coordinator` of a `highAvailability` config (nil on a single host): the password
    /// resolved like the Polaris key, one database operation bounded by a third of the lease.
    static func makeCoordinator(
        config: WardenConfig, options: WardenService.Options, makeLease: LeaderLeaseFactory?,
        clock: any WallClock, metrics: WardenMetrics?, logger: Logger
    ) throws -> Coordinator? {
        guard let settings = config.highAvailability else { return nil }
        guard let makeLease else {
            throw StartupError(description: "highAvailability is not supported by this build", exitCode: exConfig)
        }
        let password: Secret
        do {
            password = try SecretResolver.resolve(settings.postgres.password, environment: options.environment)
        } catch {
            logger.log(event: .configRejected, "cannot use highAvailability.postgres.password: \(error)")
            throw StartupError(description: "highAvailability.postgres.password: \(error)", exitCode: exConfig)
        }
        let lease = makeLease(settings, password, config.polaris.projectId, settings.lease / 3)
        metrics?.leadership(isLeader: false)
        return Coordinator(
            lease: lease, instance: settings.instance, leaseDuration: settings.lease,
            pollInterval: .milliseconds(Int64(config.supervisor.pollIntervalSeconds * 1000)), clock: clock,
            logger: logger, metrics: metrics)
    }
}
