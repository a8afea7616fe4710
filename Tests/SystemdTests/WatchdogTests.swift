import Glibc
import Synchronization
import Testing

@testable import Systemd

/// A virtual clock: `sleep` advances time at once and runs the scenario's hook, so hours of
/// watchdog cadence run in microseconds and deterministically.
final class FakeWatchdogClock: WatchdogClock {
    private struct State {
        var now: Duration = .seconds(1000)
        var sleeps: [Duration] = []
    }
    private let state = Mutex(State())
    private let end: Duration
    private let onAdvance: @Sendable (Duration) -> Void

    /// - Parameters:
    ///   - duration: virtual time after which `sleep` throws `CancellationError`.
    ///   - onAdvance: called with the elapsed virtual time after each sleep (report progress here).
    init(running duration: Duration, onAdvance: @escaping @Sendable (Duration) -> Void = { _ in }) {
        self.end = .seconds(1000) + duration
        self.onAdvance = onAdvance
    }

    func now() -> Duration { state.withLock { $0.now } }

    var sleeps: [Duration] { state.withLock { $0.sleeps } }

    func sleep(for duration: Duration) async throws {
        let now = state.withLock { state in
            state.sleeps.append(duration)
            state.now += duration
            return state.now
        }
        if now > end { throw CancellationError() }
        onAdvance(now - .seconds(1000))
    }
}

/// Collects (elapsed seconds, decision) pairs the service hands to its sink.
final class DecisionRecorder: Sendable {
    private let entries = Mutex<[(Int64, WatchdogPolicy.Decision)]>([])
    var all: [(Int64, WatchdogPolicy.Decision)] { entries.withLock { $0 } }
    func record(_ elapsed: Duration, _ decision: WatchdogPolicy.Decision) {
        entries.withLock { $0.append((elapsed.components.seconds, decision)) }
    }
}

/// Wires a service, a fake clock and a recorder; `progressAt` says when a cycle completes.
func runWatchdogScenario(
    interval: Duration = .seconds(10),
    stallTimeout: Duration = .seconds(12),
    running: Duration,
    progressAt: @escaping @Sendable (Int64) -> Bool
) async -> (decisions: [(Int64, WatchdogPolicy.Decision)], sleeps: [Duration]) {
    let recorder = DecisionRecorder()
    let box = Mutex<WatchdogService?>(nil)
    let clock = FakeWatchdogClock(running: running) { elapsed in
        if progressAt(elapsed.components.seconds) {
            box.withLock { $0 }?.reportProgress()
        }
    }
    let service = WatchdogService(
        policy: WatchdogPolicy(interval: interval, stallTimeout: stallTimeout),
        clock: clock
    ) { decision in
        recorder.record(clock.now() - .seconds(1000), decision)
    }
    box.withLock { $0 = service }
    await service.run()
    return (recorder.all, clock.sleeps)
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
        let (decisions, sleeps) = await runWatchdogScenario(running: .seconds(60)) { _ in true }
        #expect(sleeps.allSatisfy { $0 == .seconds(5) })
        #expect(decisions.map(\.0) == Array(stride(from: 0, through: 60, by: 5)))
        #expect(decisions.allSatisfy { $0.1 == .ping })
    }

    @Test func withholdsAfterTheStallTimeoutAndTriggersOnce() async {
        // Cycles complete every 5 s until t=40, then the loop wedges; it recovers at t=100.
        let (decisions, _) = await runWatchdogScenario(running: .seconds(120)) { elapsed in
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
        let (decisions, _) = await runWatchdogScenario(running: .seconds(3600)) { elapsed in
            elapsed % 10 == 0
        }
        #expect(decisions.count == 721)
        #expect(decisions.allSatisfy { $0.1 == .ping })
    }

    @Test func startUpCountsAsProgress() async {
        let (decisions, _) = await runWatchdogScenario(running: .seconds(20)) { _ in false }
        #expect(decisions.map(\.1) == [.ping, .ping, .ping, .trigger, .withhold])
    }

    @Test func notifierSinkSendsPingAndTriggerOnly() {
        // A disabled notifier: the mapping must simply not crash or send anything.
        let sink = WatchdogService.notifierSink(SystemdNotifier(enabled: false))
        sink(.ping)
        sink(.trigger)
        sink(.withhold)
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

        @Test func disabledWhenWatchdogPidIsAnotherProcess() {
            let other = getpid() == 1 ? "2" : "1"
            withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": other]) {
                #expect(WatchdogService.systemdInterval() == nil)
            }
        }
    }
}
