import Logging
import PolarisAPI
import PolarisEmulator
import Warden

/// `polaris-warden demo`: the real warden against an in-process emulator, with a scripted
/// series of faults, a live table and a closing summary. No network, no systemd, no root.
public enum DemoRunner {
    public struct Options: Sendable {
        public var duration: Double = 60
        public var jobs: Int = 6
        public var pollInterval: Double = 2
        /// How long a new job stays `pending` in the emulator.
        public var startDelay: Double = 1
        public init() {}
    }

    /// Runs the demo to its end and returns its summary (also printed through `display`).
    public static func run(options: Options, display: DemoDisplay) async throws -> DemoSummary {
        var randomKey = SystemRandomNumberGenerator()
        let apiKey = "pok_demo_" + String(randomKey.next(), radix: 16)
        let emulator = PolarisEmulator(
            configuration: EmulatorConfiguration(
                apiKey: apiKey, startDelay: .milliseconds(Int64(options.startDelay * 1000)),
                logger: Logger(label: "emulator", factory: { _ in SwiftLogNoOpLogHandler() })))
        _ = try await emulator.start()
        let settings = DemoScenario.settings(pollInterval: options.pollInterval)
        let config = DemoScenario.config(
            url: emulator.baseURL, projectID: emulator.projectID, jobCount: options.jobs, settings: settings)
        let client = PolarisClient(
            configuration: try PolarisClientConfiguration(
                url: emulator.baseURL, projectID: emulator.projectID, authentication: .apiKey(Secret(apiKey)),
                requestTimeout: .seconds(2), maxRequestsPerSecond: config.polaris.maxRequestsPerSecond,
                retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(100), maxDelay: .seconds(3))))
        let supervisor = JobSupervisor(
            config: config, client: client, store: nil, logger: display.logger())
        display.print(
            "demo: Polaris emulator on \(emulator.baseURL), \(config.jobs.count) streaming jobs, "
                + "poll every \(format(options.pollInterval))s, \(format(options.duration))s")

        // The first pass (connections and jobs created) comes before the script's clock starts,
        // as READY=1 does under systemd: faults are injected into a running fleet however long
        // start-up took on a busy machine.
        await supervisor.runCycle()
        let scriptStart = display.elapsedSeconds
        let warden = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int64(options.pollInterval * 1000)))
                await supervisor.runCycle()
            }
        }
        var script = FaultScript(
            jobs: config.jobs.map { (name: $0.name, connection: $0.connectionName) }, pollInterval: options.pollInterval
        )
        var lastTable = -1.0
        while display.elapsedSeconds - scriptStart < options.duration {
            await script.step(
                at: display.elapsedSeconds - scriptStart, emulator: emulator, supervisor: supervisor, display: display)
            let tableEvery = display.isTerminal ? 1.0 : 10.0
            if display.elapsedSeconds - lastTable >= tableEvery {
                lastTable = display.elapsedSeconds
                display.show(table: await liveTable(supervisor: supervisor, emulator: emulator, script: script))
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        warden.cancel()
        _ = await warden.value
        let counters = await emulator.counters()
        let log = await emulator.requestLog()
        await emulator.stop()
        let summary = DemoSummary(
            duration: options.duration, jobs: config.jobs.count, pollInterval: options.pollInterval,
            faults: script.faults, notInjected: script.notInjected, apiCalls: counters.total,
            callsByMethod: Dictionary(grouping: log, by: \.method).mapValues(\.count),
            callsByStatus: counters.byStatus)
        display.print(summary.rendered())
        return summary
    }

    static func liveTable(supervisor: JobSupervisor, emulator: PolarisEmulator, script: FaultScript) async -> String {
        let views = await supervisor.jobViews()
        var rows = [["JOB", "TABLE", "POLARIS", "HEALTH", "WARDEN", "RECOVERIES"]]
        for view in views {
            let note = view.phase.statusNote(now: .now).map { " (\($0))" } ?? ""
            rows.append([
                view.name, view.table, view.executionStatus ?? "-", view.health ?? "-",
                view.phase.statusGroup + note, String(view.recoveries),
            ])
        }
        let status = await supervisor.statusLine()
        let injected = script.faults.count
        let healed = script.faults.filter { $0.outcome != nil }.count
        return "polaris-warden demo   STATUS: \(status)\nfaults injected \(injected), resolved \(healed)\n\n"
            + TextTable.render(rows)
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
