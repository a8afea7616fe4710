import ArgumentParser
import CMemoryTuning
import Logging
import Warden
import WardenPlatform
import WardenPostgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the warden until SIGTERM (what the systemd unit starts).",
        discussion: """
            Reconciles every pollIntervalSeconds. SIGHUP (systemctl reload) re-reads the config and keeps
            the old one if the new one is invalid. SIGTERM stops the warden; Polaris jobs keep running.
            Exit code 78 means the configuration or its credential is unusable.

            --metrics-address (or "metrics": {"address": ...} in the config; the flag wins) serves
            Prometheus metrics on http://HOST:PORT/metrics. The endpoint has no authentication: keep it on
            loopback (127.0.0.1:9464) unless a firewall guards the port.
            """)

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var logOptions: LogOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Serve Prometheus metrics on HOST:PORT (such as 127.0.0.1:9464); off by default. No authentication.",
            valueName: "host:port"))
    var metricsAddress: String?

    func validate() throws {
        if let metricsAddress {
            do {
                _ = try MetricsAddress.parse(metricsAddress)
            } catch {
                throw ValidationError("--metrics-address \(error)")
            }
        }
    }

    func run() async throws {
        let logger = logOptions.bootstrap()
        // Set before `main` by CMemoryTuning's constructor; said here so an operator can see it.
        logger.debug(
            "malloc settings",
            metadata: [
                "arena_limit": "\(warden_malloc_arena_limit())", "mmap_threshold": "\(warden_malloc_mmap_threshold())",
            ])
        let options = WardenService.Options(
            configPath: configOptions.config(instance: stateOptions.instance), stateDirectory: stateOptions.resolved,
            environment: ProcessInfo.processInfo.environment)
        do {
            try await WardenDaemon.run(
                options: options, metricsAddress: metricsAddress.flatMap { try? MetricsAddress.parse($0) },
                makeLease: { settings, password, scope, timeout in
                    // `highAvailability`: the lease in PostgreSQL (docs/high-availability.md).
                    PostgresLeaderLease(
                        settings: settings.postgres, password: password.reveal(), scope: scope,
                        operationTimeout: timeout, logger: logger)
                },
                logger: logger)
        } catch {
            throw fail(error)
        }
    }
}
