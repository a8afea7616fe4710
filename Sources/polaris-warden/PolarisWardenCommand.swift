import ArgumentParser
import Logging
import Systemd
import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `polaris-warden`: keeps Imply Polaris streaming ingestion jobs alive.
@main
struct PolarisWardenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polaris-warden",
        abstract:
            "Keeps Imply Polaris streaming ingestion jobs alive: recreates, resumes and replaces jobs that fell over.",
        discussion: """
            The warden reads a JSON file of desired Polaris connections and streaming jobs, polls every
            job's executionStatus and health, and heals what fell over, with backoff and a crash-loop
            budget. Under systemd it runs as polaris-warden.service (`systemctl status polaris-warden`).

            Start with:  polaris-warden check-config /etc/polaris-warden/config.json
                         polaris-warden plan --config /etc/polaris-warden/config.json
                         polaris-warden doctor --config /etc/polaris-warden/config.json
            Try it all without Polaris, from the source tree:  make demo
            """,
        subcommands: [
            RunCommand.self, PlanCommand.self, CheckConfigCommand.self, DoctorCommand.self, StatusCommand.self,
            RetryCommand.self,
        ]
    )
}

/// Options shared by the commands that read the config.
struct ConfigOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: ArgumentHelp(
            "The warden's JSON configuration (default: /etc/polaris-warden/config.json, "
                + "or /etc/polaris-warden/NAME.json with --instance).",
            valueName: "file"))
    var configFile: String?

    /// The `--config` given, else the instance's config, else the single-project default.
    func config(instance: String?) -> String {
        if let configFile { return configFile }
        if let instance, let selected = try? WardenInstance(instance) { return selected.configPath }
        return "/etc/polaris-warden/config.json"
    }

    var config: String { config(instance: nil) }
}

/// Options shared by the commands that read the state file.
struct StateOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Directory of state.json (default: $STATE_DIRECTORY, else /var/lib/polaris-warden, "
                + "or /var/lib/polaris-warden-NAME with --instance).",
            valueName: "directory"))
    var stateDirectory: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The polaris-warden@NAME.service instance whose state to use (/var/lib/polaris-warden-NAME).",
            valueName: "name"))
    var instance: String?

    func validate() throws {
        if let instance {
            do {
                _ = try WardenInstance(instance)
            } catch {
                throw ValidationError("--instance: \(error)")
            }
        }
    }

    var resolved: String {
        if let stateDirectory { return stateDirectory }
        if let instance, let selected = try? WardenInstance(instance) { return selected.stateDirectory }
        return ProcessInfo.processInfo.environment["STATE_DIRECTORY"]?.split(separator: ":").first.map(String.init)
            ?? "/var/lib/polaris-warden"
    }
}

extension LogDestination: ExpressibleByArgument {}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Logging options of long-running commands.
struct LogOptions: ParsableArguments {
    @Option(name: .long, help: "Where events go: auto (journal under systemd, else stderr), journal or console.")
    var log: LogDestination = .automatic

    @Option(name: .long, help: "Lowest level logged: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    /// Under `polaris-warden@NAME.service` every entry carries `WARDEN_INSTANCE=NAME`.
    func bootstrap() -> Logger {
        var metadata: Logger.Metadata = [:]
        if let instance = WardenInstance.current(environment: ProcessInfo.processInfo.environment) {
            metadata[WardenInstance.environmentVariable] = .string(instance.name)
        }
        log.bootstrap(logLevel: logLevel, metadata: metadata)
        return Logger(label: "polaris-warden")
    }
}

/// Prints an error the way a shell user expects and exits with its code.
func fail(_ error: any Error) -> ExitCode {
    FileHandleStandardError.write("polaris-warden: \(error)\n")
    if let startup = error as? WardenDaemon.StartupError { return ExitCode(startup.exitCode) }
    if error is ConfigError { return ExitCode(ConfigError.exitCode) }
    return .failure
}

/// stderr without Foundation's FileHandle.
enum FileHandleStandardError {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { buffer in
            _ = fwriteStandardError(buffer)
        }
    }
}
