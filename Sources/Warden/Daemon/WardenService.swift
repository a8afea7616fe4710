import Logging
import PolarisAPI
import ServiceLifecycle
import Systemd
import UnixSignals

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The daemon's main loop as a swift-service-lifecycle `Service` (`docs/architecture.md`, "One reconcile cycle" and the SIGHUP/SIGTERM notes).
///
/// Start-up order, as systemd's own daemons do it: SIGHUP handler installed, first reconcile
/// attempted, then `READY=1` with a `STATUS=` line. Each cycle reports progress to the
/// watchdog (also when Polaris is down). SIGHUP reloads the config: `RELOADING=1`, validate,
/// swap or keep, `READY=1`. Graceful shutdown (SIGTERM/SIGINT, from the `ServiceGroup`):
/// `STOPPING=1`, the in-flight cycle gets `shutdownGrace` to finish, state persisted, return.
/// Polaris jobs keep running: stopping the warden never stops ingestion.
public struct WardenService: Service {
    public struct Options: Sendable {
        public var configPath: String
        public var stateDirectory: String
        public var environment: [String: String]
        /// How long an in-flight cycle may run on after SIGTERM before it is cancelled.
        public var shutdownGrace: Duration = .seconds(10)
        /// Stop after this many cycles (tests, `demo`); nil runs until shut down.
        public var maxCycles: Int?

        public init(configPath: String, stateDirectory: String, environment: [String: String]) {
            self.configPath = configPath
            self.stateDirectory = stateDirectory
            self.environment = environment
        }
    }

    public let supervisor: JobSupervisor
    public let options: Options
    private let notifier: SystemdNotifier
    private let watchdog: WatchdogService?
    private let logger: Logger
    private let wakeup = CycleWakeup()

    public init(
        supervisor: JobSupervisor, options: Options, notifier: SystemdNotifier = SystemdNotifier(),
        watchdog: WatchdogService?, logger: Logger
    ) {
        self.supervisor = supervisor
        self.options = options
        self.notifier = notifier
        self.watchdog = watchdog
        self.logger = logger
    }

    /// Asks the loop to reload the config, as SIGHUP does (tests, embedding).
    public func requestReload() async {
        await wakeup.requestReload()
    }

    public func run() async throws {
        let wakeup = self.wakeup
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let signalTask = Task {
            for await _ in hangups { await wakeup.requestReload() }
        }
        let watchdogTask = watchdog.map { watchdog in Task { await watchdog.run() } }
        defer {
            signalTask.cancel()
            watchdogTask?.cancel()
        }
        // Every completed write is progress: a heal storm that outlasts the watchdog's stall
        // timeout (800 recreates at 10/s) is not a wedged loop. STATUS shows how far it got.
        let progressWatchdog = watchdog
        let progressNotifier = notifier
        await supervisor.setProgressHandler { status in
            progressWatchdog?.reportProgress()
            if let status { progressNotifier.status(status) }
        }
        let inbox = RetryInbox(stateDirectory: options.stateDirectory)
        let jobCount = await supervisor.config.jobs.count
        logger.log(event: .started, "polaris-warden started with \(jobCount) jobs")

        var cycles = 0
        // A first pass over many jobs on a slow API can outlast TimeoutStartSec: ask systemd for
        // more time while it runs, so start-up is never killed for being thorough.
        let notifier = self.notifier
        let extender = Task {
            while !Task.isCancelled {
                notifier.extendTimeout(microseconds: 60_000_000)
                try? await Task.sleep(for: .seconds(20))
            }
        }
        await cycle(inbox: inbox)
        extender.cancel()
        cycles += 1
        notifier.ready(status: await supervisor.statusLine())

        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if let maxCycles = options.maxCycles, cycles >= maxCycles { break }
            let poll = await supervisor.config.supervisor.pollIntervalSeconds
            let reloadRequested = await waitForNextCycle(poll: poll)
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            if reloadRequested { await reload() }
            await cycle(inbox: inbox)
            cycles += 1
        }
        notifier.stopping(status: "stopping; jobs keep running in Polaris")
        logger.log(event: .stopping, "polaris-warden stopping; Polaris jobs keep running")
    }

    /// One cycle, bounded on shutdown: the cycle task gets `shutdownGrace` after SIGTERM.
    private func cycle(inbox: RetryInbox) async {
        for name in inbox.take() {
            if await !supervisor.retry(jobNamed: name) {
                logger.warning("retry requested for unknown job \(name)")
            }
        }
        let supervisor = self.supervisor
        let task = Task { await supervisor.runCycle() }
        let grace = options.shutdownGrace
        await withGracefulShutdownHandler {
            await task.value
        } onGracefulShutdown: {
            Task {
                try? await Task.sleep(for: grace)
                task.cancel()
            }
        }
        watchdog?.reportProgress()
        notifier.status(await supervisor.statusLine())
    }

    /// Sleeps the poll interval (plus up to 10% jitter so many wardens do not beat in step);
    /// returns true early when a reload is requested, false on graceful shutdown.
    private func waitForNextCycle(poll: Double) async -> Bool {
        let jitter = Double.random(in: 0...(poll * 0.1))
        let sleep = Duration.milliseconds(Int64((poll + jitter) * 1000))
        let wakeup = self.wakeup
        return await cancelWhenGracefulShutdown { await wakeup.wait(for: sleep) }
    }

    /// SIGHUP: validate the file first; on error keep the old config and say so.
    func reload() async {
        notifier.reloading(monotonicMicroseconds: SystemdNotifier.monotonicMicroseconds())
        do {
            let config = try ConfigLoader.load(path: options.configPath)
            let clientConfiguration = try SecretResolver.clientConfiguration(
                for: config.polaris, environment: options.environment)
            await supervisor.apply(config: config, clientConfiguration: clientConfiguration)
            logger.log(
                event: .reloaded, "configuration reloaded: \(config.jobs.count) jobs",
                metadata: ["WARDEN_CONFIG": "\(options.configPath)"])
            notifier.ready(status: await supervisor.statusLine())
        } catch {
            logger.log(
                event: .configRejected, "configuration rejected, previous configuration still in force: \(error)",
                metadata: ["WARDEN_CONFIG": "\(options.configPath)"])
            notifier.ready(
                status: "config rejected (see journal); old config in force; " + (await supervisor.statusLine()))
        }
    }
}
