import ArgumentParser
import Logging
import PolarisAPI
import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what one reconcile cycle would do, without doing it.",
        discussion: """
            Lists the Polaris jobs and connections (read-only calls only: GET), matches them to the
            configuration and prints each job's next action. Nothing is written to Polaris or to the
            state file.
            """)

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var stateOptions: StateOptions

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let logger = Logger(label: "polaris-warden", factory: { _ in SwiftLogNoOpLogHandler() })
        let result: (connections: [ConnectionAction], jobs: [JobSupervisor.Decision])
        var notes: [String] = []
        do {
            let config = try WardenDaemon.loadConfig(
                path: configOptions.config(instance: stateOptions.instance), logger: logger)
            let clientConfiguration = try WardenDaemon.clientConfiguration(
                for: config, environment: ProcessInfo.processInfo.environment, logger: logger)
            let store = StateStore(path: stateOptions.resolved + "/state.json")
            let (state, _) = store.load(preserveCorrupt: false)
            let supervisor = JobSupervisor(
                config: config, client: PolarisClient(configuration: clientConfiguration), store: nil,
                initialState: state, logger: logger)
            result = try await supervisor.plan()
            if let warning = await supervisor.stallCoverageWarning() { notes.append(warning) }
        } catch {
            throw fail(error)
        }
        var report = PlanReport(connections: result.connections, decisions: result.jobs)
        report.notes = notes
        if json {
            print(report.json())
        } else {
            print(report.table())
        }
    }
}
