import ArgumentParser
import Warden

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
            """)

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var logOptions: LogOptions

    func run() async throws {
        let logger = logOptions.bootstrap()
        let options = WardenService.Options(
            configPath: configOptions.config, stateDirectory: stateOptions.resolved,
            environment: ProcessInfo.processInfo.environment)
        do {
            try await WardenDaemon.run(options: options, logger: logger)
        } catch {
            throw fail(error)
        }
    }
}
