import Logging
import ServiceLifecycle
import Systemd

/// The daemon's services in one swift-service-lifecycle `ServiceGroup`: the watchdog's ticker,
/// the lease (with `highAvailability`), the reconcile loop, the metrics server (when on).
///
/// Graceful shutdown (SIGTERM/SIGINT, or ``triggerGracefulShutdown()``) reaches them in reverse
/// order: the metrics server stops, the loop lets its in-flight cycle finish and sends
/// `STOPPING=1`, then the ticker stops. The whole shutdown may take `shutdownGrace`
/// (`ServiceGroupConfiguration.maximumGracefulShutdownDuration`); after that the group is
/// cancelled, which cuts the in-flight cycle's requests and backoff short.
public struct WardenServiceGroup: Sendable {
    private let group: ServiceGroup

    /// - Parameters:
    ///   - shutdownGrace: how long graceful shutdown may take before the group is cancelled;
    ///     nil for `service.options.shutdownGrace`.
    ///   - trapsSignals: SIGTERM and SIGINT start graceful shutdown (the daemon); false for
    ///     in-process tests, which call ``triggerGracefulShutdown()``.
    public init(
        service: WardenService, watchdog: WatchdogService?, coordinator: Coordinator? = nil,
        metricsServer: MetricsServer? = nil,
        shutdownGrace: Duration? = nil, trapsSignals: Bool = true, logger: Logger
    ) {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let watchdog {
            services.append(.init(service: WatchdogTicker(watchdog: watchdog)))
        }
        if let coordinator {
            // Before the loop, so it stops after it: the loop's last cycle may still write, then
            // the lease is released for a standby.
            services.append(.init(service: CoordinatorService(coordinator: coordinator)))
        }
        services.append(.init(service: service))
        if let metricsServer {
            // Healing matters more than metrics: a port that cannot be bound is logged, not fatal.
            services.append(
                .init(service: metricsServer, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)
            )
        }
        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: trapsSignals ? [.sigterm, .sigint] : [], logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownGrace ?? service.options.shutdownGrace
        group = ServiceGroup(configuration: configuration)
    }

    /// Runs every service until graceful shutdown, a cancellation or the loop's end (`maxCycles`).
    public func run() async throws {
        try await group.run()
    }

    /// Starts graceful shutdown, as SIGTERM does.
    public func triggerGracefulShutdown() async {
        await group.triggerGracefulShutdown()
    }
}
