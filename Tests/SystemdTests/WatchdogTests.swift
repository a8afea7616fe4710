import Glibc
import Synchronization
import TestSupport
import Testing
import WardenPlatform

@testable import Systemd

/// Collects (elapsed seconds, decision) pairs the service hands to its sink.
final class DecisionRecorder: Sendable {
    private let entries = Mutex<[(Int64, WatchdogPolicy.Decision)]>([])
    var all: [(Int64, WatchdogPolicy.Decision)] { entries.withLock { $0 } }
    func record(_ elapsed: Duration, _ decision: WatchdogPolicy.Decision) {
        entries.withLock { $0.append((elapsed.components.seconds, decision)) }
    }
}

/// Runs a service on a `ManualClock` for `running` of virtual time, stepping from one tick to
/// the next: hours of watchdog cadence in milliseconds, deterministically. `progressAt` says
/// whether a cycle completes at a tick's second; that progress is reported 1 ms before the
/// tick, while the service sleeps, so it never races the tick.
func runWatchdogScenario(
    interval: Duration = .seconds(10),
    stallTimeout: Duration = .seconds(12),
    running: Duration,
    progressAt: @escaping @Sendable (Int64) -> Bool
) async -> [(Int64, WatchdogPolicy.Decision)] {
    let recorder = DecisionRecorder()
    let clock = ManualClock()
    let start = clock.now
    let service = WatchdogService(
        policy: WatchdogPolicy(interval: interval, stallTimeout: stallTimeout),
        clock: clock
    ) { decision in
        recorder.record(start.duration(to: clock.now), decision)
    }
    let ticking = Task { await service.run() }
    let period = interval / 2
    var elapsed = Duration.zero
    while elapsed + period <= running {
        #expect(await clock.waitForSleepers(1), "the service sleeps between ticks")
        clock.advance(by: period - .milliseconds(1))
        elapsed += period
        if progressAt(elapsed.components.seconds) { service.reportProgress() }
        clock.advance(by: .milliseconds(1))
    }
    #expect(await clock.waitForSleepers(1))
    ticking.cancel()
    await ticking.value
    return recorder.all
}

@Suite struct WatchdogPolicyTests {
    @Test func pingsWhileProgressIsFreshThenTriggersOnceThenWithholds() {
        var policy = WatchdogPolicy(interval: .seconds(30), stallTimeout: .seconds(60))
        #expect(policy.pingInterval == .seconds(15))
        #expect(policy.decide(lastProgress: .seconds(100), now: .seconds(100)) == .ping)
        #expect(policy.decide(lastProgress: .seconds(100), now: .seconds(160)) == .ping)
        #expect(policy.decide(lastProgress: .seconds(100), now: .milliseconds(160_001)) == .trigger)
        #expect(policy.hasTriggered)
        #expect(policy.decide(lastProgress: .seconds(100), now: .seconds(175)) == .withhold)
        #expect(policy.decide(lastProgress: .seconds(100), now: .seconds(500)) == .withhold)
        // Progress again: pings resume and a later stall triggers again.
        #expect(policy.decide(lastProgress: .seconds(500), now: .seconds(501)) == .ping)
        #expect(!policy.hasTriggered)
        #expect(policy.decide(lastProgress: .seconds(500), now: .seconds(600)) == .trigger)
    }

    @Test func withoutTriggerItOnlyWithholds() {
        var policy = WatchdogPolicy(
            interval: .seconds(30), stallTimeout: .seconds(60), triggerOnStall: false)
        #expect(policy.decide(lastProgress: .zero, now: .seconds(61)) == .withhold)
        #expect(policy.decide(lastProgress: .zero, now: .seconds(90)) == .withhold)
    }
}

@Suite struct WatchdogServiceTests {
    @Test func pingsAtHalfTheIntervalWhileProgressIsReported() async {
        let decisions = await runWatchdogScenario(running: .seconds(60)) { _ in true }
        #expect(decisions.map(\.0) == Array(stride(from: 0, through: 60, by: 5)))
        #expect(decisions.allSatisfy { $0.1 == .ping })
    }

    @Test func withholdsAfterTheStallTimeoutAndTriggersOnce() async {
        // Cycles complete every 5 s until t=40, then the loop wedges; it recovers at t=100.
        let decisions = await runWatchdogScenario(running: .seconds(120)) { elapsed in
            elapsed <= 40 || elapsed >= 100
        }
        let byTime = Dictionary(uniqueKeysWithValues: decisions.map { ($0.0, $0.1) })
        for second in stride(from: 0, through: 50, by: 5) {
            #expect(byTime[Int64(second)] == .ping, "t=\(second)")
        }
        #expect(byTime[55] == .trigger)  // 15 s since the last progress > 12 s
        for second in stride(from: 60, through: 95, by: 5) {
            #expect(byTime[Int64(second)] == .withhold, "t=\(second)")
        }
        #expect(decisions.filter { $0.1 == .trigger }.count == 1)
        for second in stride(from: 100, through: 120, by: 5) {
            #expect(byTime[Int64(second)] == .ping, "t=\(second)")
        }
    }

    @Test func keepsPingingAsLongAsCyclesCompleteEvenSlowOnes() async {
        // An API outage: every cycle fails its calls and takes 10 s, but it completes.
        let decisions = await runWatchdogScenario(running: .seconds(3600)) { elapsed in
            elapsed % 10 == 0
        }
        #expect(decisions.count == 721)
        #expect(decisions.allSatisfy { $0.1 == .ping })
    }

    @Test func startUpCountsAsProgress() async {
        let decisions = await runWatchdogScenario(running: .seconds(20)) { _ in false }
        #expect(decisions.map(\.1) == [.ping, .ping, .ping, .trigger, .withhold])
    }

    /// A tick reads the clock: the age it judges is the clock's, not the time the test took.
    @Test func tickJudgesTheAgeOnTheInjectedClock() {
        let clock = ManualClock()
        let decisions = Mutex<[WatchdogPolicy.Decision]>([])
        let service = WatchdogService(
            policy: WatchdogPolicy(interval: .seconds(4), stallTimeout: .seconds(15)), clock: clock
        ) { decision in decisions.withLock { $0.append(decision) } }
        clock.advance(by: .seconds(15))
        #expect(service.tick() == .ping)
        clock.advance(by: .milliseconds(1))
        #expect(service.tick() == .trigger)
        #expect(service.tick() == .withhold)
        service.reportProgress()
        #expect(service.tick() == .ping)
        #expect(decisions.withLock { $0 } == [.ping, .trigger, .withhold, .ping])
    }
}

extension ProcessEnvironmentTests {
    /// `sd_watchdog_enabled` reads WATCHDOG_USEC/WATCHDOG_PID from the process environment.
    @Suite struct WatchdogEnvironmentTests {
        @Test func enabledWhenWatchdogUsecIsSetForThisProcess() {
            withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": nil]) {
                #expect(WatchdogService.systemdInterval() == .seconds(30))
            }
            withEnvironment(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": String(getpid())]) {
                #expect(WatchdogService.systemdInterval() == .seconds(2))
                let service = WatchdogService.fromEnvironment(
                    stallTimeout: .seconds(60),
                    notifier: SystemdNotifier(enabled: false)
                )
                #expect(service != nil)
            }
        }

        @Test func disabledWhenWatchdogUsecIsUnset() {
            withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) {
                #expect(WatchdogService.systemdInterval() == nil)
                #expect(WatchdogService.fromEnvironment(stallTimeout: .seconds(60)) == nil)
            }
        }

        /// The production sink through the real `sd_notify`: `WATCHDOG=1` for a ping,
        /// `WATCHDOG=trigger` for a trigger, no datagram at all for withhold.
        @Test func notifierSinkSendsPingAndTriggerOnly() throws {
            let socket = try FakeNotifySocket()
            withEnvironment(["NOTIFY_SOCKET": socket.path]) {
                let sink = WatchdogService.notifierSink(SystemdNotifier())
                sink(.ping)
                #expect(socket.receive() == "WATCHDOG=1")
                sink(.trigger)
                #expect(socket.receive() == "WATCHDOG=trigger")
                sink(.withhold)
                #expect(socket.receive(timeoutMilliseconds: 100) == nil, "withhold sends nothing")
                sink(.ping)
                #expect(socket.receive() == "WATCHDOG=1", "and the socket still works")
            }
        }

        @Test func disabledWhenWatchdogPidIsAnotherProcess() {
            let other = getpid() == 1 ? "2" : "1"
            withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": other]) {
                #expect(WatchdogService.systemdInterval() == nil)
            }
        }
    }
}
