import ArgumentParser
import Logging
import PolarisAPI
import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each job's warden state from the state file (--live also asks Polaris).",
        discussion: "Reads the state file only; with --live it also lists the jobs in Polaris (read-only).")

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var configOptions: ConfigOptions

    @Flag(name: .long, help: "Also ask Polaris for each job's current status and health.")
    var live = false

    func run() async throws {
        let store = StateStore(path: stateOptions.resolved + "/state.json")
        let (state, result) = store.load(preserveCorrupt: false)
        switch result {
        case .missing:
            print("no state file at \(store.path) (the warden has not run yet, or uses another --state-directory)")
        case .corrupt(let reason, _): print("state file \(store.path) is unusable: \(reason)")
        case .loaded: break
        }
        var live: [String: Job] = [:]
        if self.live {
            let logger = Logger(label: "polaris-warden", factory: { _ in SwiftLogNoOpLogHandler() })
            do {
                let config = try WardenDaemon.loadConfig(
                    path: configOptions.config(instance: stateOptions.instance), logger: logger)
                let client = PolarisClient(
                    configuration: try WardenDaemon.clientConfiguration(
                        for: config, environment: ProcessInfo.processInfo.environment, logger: logger))
                let jobs = try await client.listJobs()
                for job in jobs { live[job.id] = job }
            } catch {
                throw fail(error)
            }
        }
        let now = Date()
        var rows = [
            ["JOB", "POLARIS JOB", "WARDEN STATE", "RECOVERIES", "NOTE"] + (self.live ? ["STATUS", "HEALTH"] : [])
        ]
        for (name, record) in state.jobs.sorted(by: { $0.key < $1.key }) {
            let reconciler = record.reconciler
            var row = [
                name, reconciler.jobID ?? "-", reconciler.phase.statusGroup, String(reconciler.recoveries),
                reconciler.phase.statusNote(now: now) ?? "",
            ]
            if let since = record.stall?.stalledSince, record.stall?.jobID == reconciler.jobID {
                row[2] = "stalled"
                row[4] = "no rows for \(Int(now.timeIntervalSince(since)))s"
            }
            if self.live {
                let job = reconciler.jobID.flatMap { live[$0] }
                row += [job?.executionStatus.rawValue ?? "-", job?.health.status.rawValue ?? "-"]
            }
            rows.append(row)
        }
        print(TextTable.render(rows))
        if let progress = store.loadProgress() { print("\n\(progress)") }
        if let role = store.loadRole() { print("\nrole: \(role)") }
        for (name, record) in state.jobs.sorted(by: { $0.key < $1.key }) {
            guard let check = record.specCheck, check.jobID == record.reconciler.jobID,
                let differences = check.differences, !differences.isEmpty
            else { continue }
            print("\n\(name): spec drift in job \(check.jobID)")
            for difference in differences { print("  \(difference)") }
        }
    }
}
