import Foundation
import PolarisAPI
import PolarisEmulator
import Synchronization
import Systemd
import Testing
import WardenPlatform

@testable import Warden

/// What a notifier would have sent to systemd, in order (`SystemdNotifier(sink:)`).
final class NotifyLog: Sendable {
    private let datagrams = Mutex<[String]>([])

    var all: [String] { datagrams.withLock { $0 } }

    var notifier: SystemdNotifier {
        SystemdNotifier { datagram in self.datagrams.withLock { $0.append(datagram) } }
    }

    func count(_ line: String) -> Int {
        all.filter { $0.split(separator: "\n").contains(Substring(line)) }.count
    }

    /// Waits (yielding, up to `limit` of real time) until `predicate` holds for the datagrams so far.
    func wait(limit: Duration = .seconds(20), until predicate: ([String]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while !predicate(all) {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }
}

/// `WardenService` in process, in its `WardenServiceGroup` with the watchdog's ticker, on a
/// `ManualClock` (the loop's sleeps, the watchdog, the start-up extender; in the wedge test also
/// the client's backoff) and a notifier that records datagrams instead of sending them: the
/// systemd contract without a spawned binary and without waiting for time to pass.
@Suite struct WardenServiceTests {
    /// A running group and what it told systemd.
    struct Running {
        let harness: WardenHarness
        let supervisor: JobSupervisor
        let service: WardenService
        let group: WardenServiceGroup
        let task: Task<Void, any Error>
        let log: NotifyLog
        var clock: ManualClock { harness.clock }

        /// Moves the clock in `step`s, each time until every woken task sleeps again (`sleepers`:
        /// the watchdog and the loop, or the watchdog and a wedged cycle's backoff).
        func advance(by total: Duration, step: Duration = .seconds(1), sleepers: Int = 2) async {
            var moved = Duration.zero
            while moved < total {
                clock.advance(by: step)
                moved += step
                #expect(await clock.waitForSleepers(sleepers), "every task asleep again after \(moved)")
            }
        }

        /// Graceful shutdown, as SIGTERM; returns when the group has.
        func shutDown() async throws {
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }

    /// Starts the group; `clientOnClock` runs the supervisor's client on the manual clock too
    /// (its backoff then waits until the test advances it), with `maxDelay` long enough for a
    /// `Retry-After` of minutes.
    static func start(
        clientOnClock: Bool = false, shutdownGrace: Duration = .seconds(10),
        coordinator makeCoordinator: ((WardenHarness) -> Coordinator)? = nil
    ) async throws -> Running {
        let harness = try await WardenHarness.make()
        let coordinator = makeCoordinator?(harness)
        var supervisor = harness.supervisor
        if clientOnClock {
            let client = PolarisClient(
                configuration: try PolarisClientConfiguration(
                    url: harness.emulator.baseURL, projectID: harness.emulator.projectID,
                    authentication: .apiKey(Secret(WardenHarness.apiKey)), requestTimeout: .seconds(15),
                    maxRequestsPerSecond: 1000,
                    retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(5), maxDelay: .seconds(3600))),
                clock: harness.clock)
            supervisor = JobSupervisor(
                config: harness.config, client: client, store: StateStore(path: harness.stateDirectory + "/state.json"),
                logger: harness.recorder.logger, clock: harness.clock, random: SeededRandom(seed: 42))
        }
        let log = NotifyLog()
        let notifier = log.notifier
        var options = WardenService.Options(
            configPath: harness.stateDirectory + "/no-such-config.json", stateDirectory: harness.stateDirectory,
            environment: [:])
        options.pollJitter = 0
        options.shutdownGrace = shutdownGrace
        let watchdog = WatchdogService(
            policy: WatchdogPolicy(interval: .seconds(4), stallTimeout: .seconds(15)), clock: harness.clock,
            logger: harness.recorder.logger, sink: WatchdogService.notifierSink(notifier))
        await supervisor.setWriteAuthority(coordinator)
        let service = WardenService(
            supervisor: supervisor, options: options, notifier: notifier, watchdog: watchdog,
            coordinator: coordinator, clock: harness.clock, logger: harness.recorder.logger)
        let group = WardenServiceGroup(
            service: service, watchdog: watchdog, coordinator: coordinator, trapsSignals: false,
            logger: harness.recorder.logger)
        let task = Task { try await group.run() }
        return Running(
            harness: harness, supervisor: supervisor, service: service, group: group, task: task, log: log)
    }

    @Test func readyAfterTheFirstCyclePingsWhileCyclesCompleteAndStopsGracefully() async throws {
        let running = try await Self.start()
        let log = running.log
        #expect(await log.wait { $0.contains { $0.hasPrefix("READY=1\nSTATUS=1 job") } }, "\(log.all)")
        #expect(log.all.first { !$0.hasPrefix("WATCHDOG=") } == "EXTEND_TIMEOUT_USEC=60000000")
        #expect(await running.harness.aliveJobs(on: "wikipedia-kinesis").count == 1, "the first cycle created it")
        // Asleep: the watchdog's ticker and the loop (the start-up extender is gone with the first cycle).
        #expect(await running.clock.waitForSleepers(2))

        // 20 s on the clock: a cycle every 5 s, a watchdog tick every 2 s, each one a ping.
        await running.advance(by: .seconds(20))
        #expect(await running.supervisor.cyclesCompleted == 5)
        #expect(log.count("WATCHDOG=1") == 11, "ticks at 0, 2, …, 20 s: \(log.all)")
        #expect(log.count("WATCHDOG=trigger") == 0)
        #expect(log.count("EXTEND_TIMEOUT_USEC=60000000") == 1, "only while the first cycle ran")

        // A reload request wakes the loop at once: RELOADING=1 + MONOTONIC_USEC, the (missing)
        // file is rejected, READY=1 says so, and a cycle follows without the clock moving.
        running.service.requestReload()
        #expect(await log.wait { $0.contains { $0.hasPrefix("READY=1\nSTATUS=config rejected") } }, "\(log.all)")
        let reloading = try #require(log.all.first { $0.hasPrefix("RELOADING=1") })
        #expect(reloading.contains("\nMONOTONIC_USEC="))
        #expect(await running.clock.waitForSleepers(2))
        #expect(await running.supervisor.cyclesCompleted == 6)

        // Graceful shutdown while the loop waits: STOPPING=1 at once, the group returns.
        try await running.shutDown()
        #expect(log.all.last == "STOPPING=1\nSTATUS=stopping; jobs keep running in Polaris", "\(log.all)")
        let jobID = try #require(await running.supervisor.state.jobs["wikipedia-kinesis"]?.reconciler.jobID)
        let state = try String(contentsOfFile: running.harness.stateDirectory + "/state.json", encoding: .utf8)
        #expect(state.contains(jobID), "state persisted")
        await running.harness.stop()
    }

    /// The loop wedged while the ticker runs: a cycle stuck in a 10-minute `Retry-After` (on the
    /// clock) reports no progress, so the watchdog stops pinging and sends `WATCHDOG=trigger`
    /// once; graceful shutdown waits `shutdownGrace`, then cancels the cycle and still stops.
    @Test func aCycleThatNeverEndsTriggersTheWatchdogAndShutdownCancelsIt() async throws {
        let running = try await Self.start(clientOnClock: true, shutdownGrace: .milliseconds(200))
        let log = running.log
        #expect(await log.wait { $0.contains { $0.hasPrefix("READY=1") } }, "\(log.all)")
        #expect(await running.clock.waitForSleepers(2))
        await running.advance(by: .seconds(5))  // one healthy cycle
        #expect(await running.supervisor.cyclesCompleted == 2)

        _ = try await running.harness.emulator.inject(
            .status(429, retryAfter: .seconds(600), count: 1, method: "GET", pathPattern: "/connections$"))
        // The next cycle starts at the poll and then sleeps in its backoff: the watchdog and the
        // backoff are the sleepers from now on.
        await running.advance(by: .seconds(5))
        #expect(await running.harness.emulator.requestLog().contains { $0.status == 429 })
        #expect(await running.supervisor.cyclesCompleted == 2, "the third cycle has not ended")
        let pingsBefore = log.count("WATCHDOG=1")

        await running.advance(by: .seconds(20), step: .seconds(2))
        #expect(await running.supervisor.cyclesCompleted == 2, "still wedged")
        #expect(log.count("WATCHDOG=trigger") == 1, "\(log.all)")
        let afterTrigger = log.all.drop { $0 != "WATCHDOG=trigger" }
        #expect(!afterTrigger.contains("WATCHDOG=1"), "no ping once the loop is wedged: \(log.all)")
        #expect(log.count("WATCHDOG=1") - pingsBefore <= 6, "pings only within the 15 s stall timeout")

        // SIGTERM's path: the in-flight cycle gets its grace (real time), then is cancelled.
        try await running.shutDown()
        #expect(log.all.last == "STOPPING=1\nSTATUS=stopping; jobs keep running in Polaris", "\(log.all)")
        #expect(await running.supervisor.cyclesCompleted == 3, "the cancelled cycle ended")
        await running.harness.stop()
    }

    /// `highAvailability` in the service: a standby is READY once it has joined, says so in
    /// STATUS, keeps the watchdog fed and never writes; when the lease frees it takes over at
    /// once (no wait for the next poll) and writes; on stop it releases the lease.
    @Test func aStandbyIsReadyPingsWritesNothingAndTakesOverWhenTheLeaseFrees() async throws {
        let lease = MemoryLeaderLease(clock: ManualClock())
        // The lease's own clock stands still: warden-a's lease never expires unless released.
        _ = try await lease.acquireOrRenew(instance: "warden-a", duration: .seconds(9))
        let running = try await Self.start(coordinator: { harness in
            Coordinator(
                lease: lease, instance: "warden-b", leaseDuration: .seconds(9), pollInterval: .seconds(5),
                clock: harness.clock, logger: harness.recorder.logger)
        })
        let log = running.log
        #expect(
            await log.wait {
                $0.contains { $0.hasPrefix("READY=1\nSTATUS=standby (leader warden-a, epoch 1); watching") }
            },
            "\(log.all)")
        // Asleep: the watchdog's ticker, the coordinator and the loop.
        #expect(await running.clock.waitForSleepers(3))
        await running.advance(by: .seconds(20), sleepers: 3)
        #expect(log.count("WATCHDOG=trigger") == 0, "a standby's cycles are progress: \(log.all)")
        #expect(log.count("WATCHDOG=1") >= 10)
        #expect(await running.harness.writes().isEmpty, "a standby never writes")
        #expect(await running.harness.aliveJobs(on: "wikipedia-kinesis").isEmpty)

        try await lease.release(instance: "warden-a", epoch: 1)
        // The next attempt (within 3 s: a third of the lease) takes it; the loop wakes at once.
        await running.advance(by: .seconds(3), sleepers: 3)
        #expect(await log.wait { $0.contains { $0.hasPrefix("STATUS=leader (epoch 2); 1 job") } }, "\(log.all)")
        #expect(await running.harness.aliveJobs(on: "wikipedia-kinesis").count == 1, "the new leader created it")
        #expect(running.harness.recorder.events("leader-acquired").count == 1)

        try await running.shutDown()
        // Released on the way out: another warden takes it at once, with the next epoch.
        #expect(try await lease.acquireOrRenew(instance: "warden-c", duration: .seconds(9)).epoch == 3)
        #expect(running.harness.recorder.events("leader-lost").count == 1)
        await running.harness.stop()
    }
}
