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
    /// With `highAvailability`: the lease; the loop acts only while it holds it.
    public let coordinator: Coordinator?
    private let notifier: SystemdNotifier
    private let watchdog: WatchdogService?
    private let clock: any WallClock
    private let logger: Logger
    private let wakeup = CycleWakeup()

    /// - Parameter clock: the daemon's one clock (the supervisor's and the watchdog's).
    public init(
        supervisor: JobSupervisor, options: Options, notifier: SystemdNotifier = SystemdNotifier(),
        watchdog: WatchdogService?, coordinator: Coordinator? = nil, clock: any WallClock = SystemClock(),
        logger: Logger
    ) {
        self.supervisor = supervisor
        self.options = options
        self.coordinator = coordinator
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
    /// cancellation or `maxCycles`; `STOPPING=1` on the way out. With `highAvailability`, READY
    /// comes once the warden has joined (its first lease answer, or the database's silence), and
    /// a standby's cycle only reads, every second poll; a role change starts a cycle at once.
    private func loop() async {
        let inbox = RetryInbox(stateDirectory: options.stateDirectory)
        let jobCount = await supervisor.config.jobs.count
        logger.log(event: .started, "polaris-warden started with \(jobCount) jobs")
        if let coordinator {
            let wakeup = self.wakeup
            await coordinator.onRoleChange { wakeup.roleChanged() }
            await coordinator.waitUntilJoined(deadline: Self.startUpExtension)
        }
        var actingTerm: Int?

        // A first pass over many jobs on a slow API can outlast TimeoutStartSec: ask systemd for
        // more time while it runs, so start-up is never killed for being thorough.
        await withDiscardingTaskGroup { group in
            group.addTask { await cancelWhenGracefulShutdown { await self.extendStartUpTimeout() } }
            await cycle(inbox: inbox, actingTerm: &actingTerm)
            group.cancelAll()
        }
        var cycles = 1
        notifier.ready(status: await statusLine(acting: actingTerm != nil))

        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if let maxCycles = options.maxCycles, cycles >= maxCycles { break }
            let poll = await supervisor.config.supervisor.pollIntervalSeconds
            let reason = await waitForNextCycle(poll: coordinator != nil && actingTerm == nil ? 2 * poll : poll)
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            if reason == .reload { await reload() }
            await cycle(inbox: inbox, actingTerm: &actingTerm)
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
    /// its requests and backoff) only when `shutdownGrace` runs out. With `highAvailability` a
    /// leader cycle runs only while this warden holds the lease, the first of each term after
    /// taking the fleet's state over; otherwise the cycle only reads (standby).
    private func cycle(inbox: RetryInbox, actingTerm: inout Int?) async {
        if let coordinator {
            let role = await coordinator.role
            let term = await coordinator.term
            await supervisor.noteRole(await coordinator.summary)
            guard case .leader = role else {
                actingTerm = nil
                await supervisor.watch()
                watchdog?.reportProgress()
                notifier.status(await statusLine(acting: false))
                return
            }
            if actingTerm != term {
                do {
                    // None stored yet: this warden's own state file seeds the fleet's.
                    let fleet = try await coordinator.loadFleetState()
                    let own = await supervisor.state
                    await supervisor.takeOver(state: fleet ?? own)
                    actingTerm = term
                } catch {
                    logger.warning("leader, but cannot read the fleet's state yet: \(error)")
                    watchdog?.reportProgress()
                    notifier.status(await statusLine(acting: false))
                    return
                }
            }
        }
        for name in inbox.take() {
            if await !supervisor.retry(jobNamed: name) {
                logger.warning("retry requested for unknown job \(name)")
            }
        }
        await supervisor.runCycle()
        watchdog?.reportProgress()
        notifier.status(await statusLine(acting: true))
    }

    /// True on a single host; with `highAvailability`, while this warden leads.
    private func isActing() async -> Bool {
        guard let coordinator else { return true }
        return await coordinator.role.isLeader
    }

    /// `STATUS=`: the supervisor's line; with `highAvailability`, the role first (a standby
    /// shows only what it watches).
    private func statusLine(acting: Bool) async -> String {
        guard let coordinator else { return await supervisor.statusLine() }
        let role = await coordinator.summary
        if acting { return role + "; " + (await supervisor.statusLine()) }
        return role + "; watching \(await supervisor.listedJobCount) jobs"
    }

    /// Sleeps the poll interval (plus up to `pollJitter` of it) on the clock; returns early when
    /// a reload or a role change is requested, or on graceful shutdown.
    private func waitForNextCycle(poll: Double) async -> CycleWakeup.Reason {
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
            var clientConfiguration = try SecretResolver.clientConfiguration(
                for: config.polaris, environment: options.environment)
            clientConfiguration.userAgent = WardenDaemon.userAgent(for: config)
            await supervisor.apply(config: config, clientConfiguration: clientConfiguration)
            logger.log(
                event: .reloaded, "configuration reloaded: \(config.jobs.count) jobs",
                metadata: ["WARDEN_CONFIG": "\(options.configPath)"])
            notifier.ready(status: await statusLine(acting: await isActing()))
        } catch {
            logger.log(
                event: .configRejected, "configuration rejected, previous configuration still in force: \(error)",
                metadata: ["WARDEN_CONFIG": "\(options.configPath)"])
            notifier.ready(
                status: "config rejected (see journal); old config in force; "
                    + (await statusLine(acting: await isActing())))
        }
    }
}
