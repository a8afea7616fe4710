import ArgumentParser
import PolarisEmulator

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `polaris-emulator`: serves the Polaris API emulator until SIGINT/SIGTERM.
///
/// The API key is read from a file or the environment, never from argv, where any local user
/// could see it in `ps`.
struct PolarisEmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polaris-emulator",
        abstract: "Serve an Imply Polaris API emulator (Connections v1, Jobs v1) with fault injection.",
        discussion: """
            The API key comes from --api-key-file, else the POLARIS_EMULATOR_API_KEY environment \
            variable, else a development default. The admin API is under /_emulator/ (no auth).
            """)

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind (0 picks a free one).")
    var port = 8080

    @Option(name: .customLong("project-id"), help: "The project id to serve.")
    var projectID = EmulatorConfiguration.defaultProjectID

    @Option(help: "File holding the API key clients must send (trailing newline ignored).")
    var apiKeyFile: String?

    @Option(help: "Seconds a job stays pending after it is created or resumed.")
    var startDelay: Double = 1

    @Option(help: "Rows a second a running streaming job's numRowsProcessed grows by (0: no growth).")
    var rowsPerSecond: Int64 = EmulatorConfiguration.defaultRowsPerSecond

    @Option(help: "Streaming jobs to create at start (running, one table each).")
    var seedJobs = 0

    // The readings of the live behaviours the API reference marks [INFERRED] (`LiveBehaviour`).

    @Option(
        help: "[INFERRED] Spelling of a warning health status: warn or warning (docs/polaris/api-reference.md §4.6).")
    var healthSpelling: String = HealthSpelling.warn.rawValue

    @Option(
        help:
            "[INFERRED] Status of the refusal when another streaming job holds the table: 400 or 409 (docs/polaris/api-reference.md §4.7)."
    )
    var tableHeldStatus: Int = LiveBehaviour.standard.tableHeldStatus

    @Option(help: "[INFERRED] Message of that refusal (default: the emulator's own wording).")
    var tableHeldMessage: String?

    @Option(
        help:
            "[INFERRED] What a job replaced by replaceRunning becomes: canceled, failed or running-until-stopped (docs/polaris/api-reference.md §4.7)."
    )
    var replacedJob: String = LiveBehaviour.ReplacedJob.canceled.rawValue

    @Option(help: "[INFERRED] What resuming a suspended job answers: pending or running (§4.9).")
    var resumeAnswer: String = LiveBehaviour.ResumeAnswer.pending.rawValue

    @Option(help: "[INFERRED] Whether faults armed with a Retry-After send it: sent or omitted (§2.4).")
    var retryAfter: String = LiveBehaviour.RetryAfterHeader.sent.rawValue

    @Option(
        help:
            "[INFERRED] Whether a health change alone moves lastUpdatedTimestamp: touch-last-updated or leave-last-updated (docs/polaris/api-reference.md §4.4)."
    )
    var healthUpdates: String = LiveBehaviour.HealthUpdates.touchLastUpdated.rawValue

    func validate() throws {
        guard startDelay >= 0 else { throw ValidationError("--start-delay must be >= 0") }
        guard seedJobs >= 0 else { throw ValidationError("--seed-jobs must be >= 0") }
        guard (0...EmulatorConfiguration.maxRowsPerSecond).contains(rowsPerSecond) else {
            throw ValidationError("--rows-per-second must be from 0 to \(EmulatorConfiguration.maxRowsPerSecond)")
        }
        _ = try behaviour()
    }

    /// The flags as a `LiveBehaviour`, parsed by the same rules as `PUT /_emulator/settings`.
    func behaviour() throws -> LiveBehaviour {
        var settings = [
            "healthSpelling": healthSpelling, "tableHeldStatus": String(tableHeldStatus), "replacedJob": replacedJob,
            "resumeAnswer": resumeAnswer, "retryAfter": retryAfter, "healthUpdates": healthUpdates,
        ]
        if let tableHeldMessage { settings["tableHeldMessage"] = tableHeldMessage }
        do {
            return try LiveBehaviour.standard.applying(text: settings)
        } catch {
            let flag = error.body["target"]?.stringValue.map(Self.flagName) ?? "a behaviour flag"
            throw ValidationError("\(flag): \(error.message)")
        }
    }

    /// `tableHeldStatus` → `--table-held-status`.
    static func flagName(_ key: String) -> String {
        "--"
            + key.reduce(into: "") { name, character in
                if character.isUppercase { name += "-" }
                name += character.lowercased()
            }
    }

    func run() async throws {
        try await serve()
    }

    func serve() async throws {
        let (apiKey, keySource) = try resolveAPIKey()
        let emulator = PolarisEmulator(
            configuration: EmulatorConfiguration(
                projectID: projectID, apiKey: apiKey, startDelay: .milliseconds(Int64(startDelay * 1000)),
                rowsPerSecond: rowsPerSecond, behaviour: try behaviour(), host: host, port: port))
        if seedJobs > 0 { try await emulator.seed(connection: "seed-connection", jobs: seedJobs) }
        let projectID = projectID
        let seedJobs = seedJobs
        let behaviourText = try behaviour().differencesFromStandard
        try await emulator.run { boundPort in
            let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(boundPort)"
            print("polaris-emulator listening on \(base)")
            print("project id: \(projectID)")
            print("project URL: \(base)/v1/projects/\(projectID)")
            print("API key: \(keySource)")
            if seedJobs > 0 { print("seeded \(seedJobs) streaming jobs on connection seed-connection") }
            print("admin API: \(base)/_emulator/ (state, requests, counters, faults, settings)")
            if !behaviourText.isEmpty { print("live behaviour (non-default readings): \(behaviourText)") }
            fflush(nil)  // the banner must reach a pipe (systemd, a test harness) at once
        }
        print("polaris-emulator stopped")
    }

    /// The key and a description of where it came from that is safe to print: only the
    /// development default is ever shown.
    private func resolveAPIKey() throws -> (String, String) {
        if let apiKeyFile {
            guard let data = FileManager.default.contents(atPath: apiKeyFile) else {
                throw ValidationError("cannot read --api-key-file \(apiKeyFile)")
            }
            let key = String(decoding: data, as: UTF8.self).trimmingNewlines()
            guard !key.isEmpty else { throw ValidationError("--api-key-file \(apiKeyFile) is empty") }
            return (key, "from \(apiKeyFile)")
        }
        if let key = ProcessInfo.processInfo.environment["POLARIS_EMULATOR_API_KEY"], !key.isEmpty {
            return (key, "from POLARIS_EMULATOR_API_KEY")
        }
        let key = EmulatorConfiguration.defaultAPIKey
        return (key, "default dev key in use: \(key) (set POLARIS_EMULATOR_API_KEY or --api-key-file)")
    }
}

extension String {
    fileprivate func trimmingNewlines() -> String {
        var text = self
        while let last = text.last, last == "\n" || last == "\r" || last == " " { text.removeLast() }
        return text
    }
}

// `@main` cannot mark a type in main.swift, and top-level calls resolve to ArgumentParser's
// synchronous overloads (which print help), so parse and run the concrete command explicitly.
do {
    var command = try PolarisEmulatorCommand.parseAsRoot()
    if let emulatorCommand = command as? PolarisEmulatorCommand {
        try await emulatorCommand.serve()
    } else {
        try command.run()
    }
} catch {
    PolarisEmulatorCommand.exit(withError: error)
}
