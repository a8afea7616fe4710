import Logging
import PolarisAPI
import ServiceLifecycle
import Systemd
import UnixSignals
import WardenPlatform

/// The daemon's main loop as a swift-service-lifecycle `Service` (`docs/architecture.md`, "One reconcile cycle" and the SIGHUP/SIGTERM notes).
///
/// Start-up order, as systemd's own daemons do it: SIGHUP handler installed, first reconcile
/// attempted (with `EXTEND_TIMEOUT_USEC=` while it runs), then `READY=1` with a `STATUS=` line.
/// Each cycle and each completed write reports progress to the watchdog (also when Polaris is
/// down). SIGHUP reloads the config: `RELOADING=1`, validate, swap or keep, `READY=1`. Graceful
/// shutdown (SIGTERM/SIGINT, from the `ServiceGroup`): the in-flight cycle finishes (the group
/// cancels it after `shutdownGrace`, ``WardenServiceGroup``), state persisted, `STOPPING=1`,
/// return. Polaris jobs keep running: stopping the warden never stops ingestion.
///
/// The SIGHUP listener and the start-up timeout extender are child tasks of ``run()``; the poll
/// sleep, its jitter and the extender's period are on the injected clock.
public struct WardenService: Service {
    public struct Options: Sendable {
        public var configPath: String
        public var stateDirectory: String
        public var environment: [String: String]
        /// How long graceful shutdown may take before the in-flight cycle is cancelled
        /// (`ServiceGroupConfiguration.maximumGracefulShutdownDuration`).
        public var shutdownGrace: Duration = .seconds(10)
        /// Stop after this many cycles (tests, `demo`); nil runs until shut down.
        public var maxCycles: Int?
        /// Up to this share of the poll interval is added at random to each wait, so many
        /// wardens do not beat in step; 0 makes the waits exact (tests).
        public var pollJitter: Double = 0.1

        public init(configPath: String, stateDirectory: String, environment: [String: String]) {
            self.configPath = configPath
            self.stateDirectory = stateDirectory
            self.environment = environment
        }
    }

    /// How far `EXTEND_TIMEOUT_USEC=` reaches while the first cycle runs, and how often it is renewed.
    static let startUpExtension = Duration.seconds(60)
    static let startUpExtensionPeriod = Duration.seconds(20)

    public let supervisor: JobSupervisor
    public let options: Options
    private let notifier: SystemdNotifier
    private let watchdog: WatchdogService?
    private let clock: any WallClock
    private let logger: Logger
    private let wakeup = CycleWakeup()

    /// - Parameter clock: the daemon's one clock (the supervisor's and the watchdog's).
    public init(
        supervisor: JobSupervisor, options: Options, notifier: SystemdNotifier = SystemdNotifier(),
        watchdog: WatchdogService?, clock: any WallClock = SystemClock(), logger: Logger
    ) {
        self.supervisor = supervisor
        self.options = options
        self.notifier = notifier
        self.watchdog = watchdog
        self.clock = clock
        self.logger = logger
    }

    /// Asks the loop to reload the config, as SIGHUP does (tests, embedding).
    public func requestReload() {
        wakeup.requestReload()
    }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        // Every completed write is progress: a heal storm that outlasts the watchdog's stall
        // timeout (800 recreates at 10/s) is not a wedged loop. STATUS shows how far it got.
        let progressWatchdog = watchdog
        let progressNotifier = notifier
        await supervisor.setProgressHandler { status in
            progressWatchdog?.reportProgress()
            if let status { progressNotifier.status(status) }
        }
        let wakeup = self.wakeup
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() { wakeup.requestReload() }
            }
            await loop()
            group.cancelAll()
        }
    }

    /// The first cycle, `READY=1`, then a cycle every poll interval until graceful shutdown,
    /// cancellation or `maxCycles`; `STOPPING=1` on the way out.
    private func loop() async {
        let inbox = RetryInbox(stateDirectory: options.stateDirectory)
        let jobCount = await supervisor.config.jobs.count
        logger.log(event: .started, "polaris-warden started with \(jobCount) jobs")

        // A first pass over many jobs on a slow API can outlast TimeoutStartSec: ask systemd for
        // more time while it runs, so start-up is never killed for being thorough.
        await withDiscardingTaskGroup { group in
            group.addTask { await cancelWhenGracefulShutdown { await self.extendStartUpTimeout() } }
            await cycle(inbox: inbox)
            group.cancelAll()
        }
        var cycles = 1
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

    /// `EXTEND_TIMEOUT_USEC=` now and every 20 s on the clock until cancelled.
    private func extendStartUpTimeout() async {
        let microseconds = UInt64(Self.startUpExtension.components.seconds) * 1_000_000
        while !Task.isCancelled {
            notifier.extendTimeout(microseconds: microseconds)
            do {
                try await clock.sleep(until: clock.now.advanced(by: Self.startUpExtensionPeriod), tolerance: nil)
            } catch {
                return
            }
        }
    }

    /// One cycle. It is not cut short by graceful shutdown: the group cancels it (and with it
    /// its requests and backoff) only when `shutdownGrace` runs out.
    private func cycle(inbox: RetryInbox) async {
        for name in inbox.take() {
            if await !supervisor.retry(jobNamed: name) {
                logger.warning("retry requested for unknown job \(name)")
            }
        }
        await supervisor.runCycle()
        watchdog?.reportProgress()
        notifier.status(await supervisor.statusLine())
    }

    /// Sleeps the poll interval (plus up to `pollJitter` of it) on the clock; returns true early
    /// when a reload is requested, false on graceful shutdown.
    private func waitForNextCycle(poll: Double) async -> Bool {
        let jitter = options.pollJitter > 0 ? Double.random(in: 0...(poll * options.pollJitter)) : 0
        let deadline = clock.now.advanced(by: .milliseconds(Int64((poll + jitter) * 1000)))
        let wakeup = self.wakeup
        let clock = self.clock
        return await cancelWhenGracefulShutdown { await wakeup.wait(until: deadline, on: clock) }
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
