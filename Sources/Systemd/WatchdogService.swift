import CSystemd
import Logging
import Synchronization
import WardenPlatform

/// Drives the systemd watchdog from the reconcile loop's progress.
///
/// The loop owner calls ``reportProgress()`` after every completed cycle (also a cycle whose
/// API calls all failed: an outage of Polaris is not a hung daemon, so pings continue), and
/// runs ``run()`` in a task of its own. Every half interval ``run()`` asks ``WatchdogPolicy``
/// whether progress happened within the stall timeout, and pings only then. Start-up counts as
/// progress, so a slow first cycle is covered by the stall timeout too.
///
/// Time is the injected clock's: production passes the daemon's one `SystemClock` (advanced by
/// `CLOCK_MONOTONIC`, so a stepped wall clock never fakes a stall); tests a `ManualClock`.
public final class WatchdogService: Sendable {
    /// What ``run()`` does with each decision; production sends it through ``SystemdNotifier``.
    public typealias Sink = @Sendable (WatchdogPolicy.Decision) -> Void

    private struct State {
        var policy: WatchdogPolicy
        var lastProgress: WallInstant
    }

    private let state: Mutex<State>
    private let clock: any WallClock
    private let sink: Sink
    private let logger: Logger?

    /// The watchdog interval systemd asks for, from `sd_watchdog_enabled(3)`: nil when
    /// `WATCHDOG_USEC` is unset or `WATCHDOG_PID` names another process.
    public static func systemdInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(usec)
    }

    /// A service for the interval systemd asks for, or nil when the watchdog is disabled.
    public static func fromEnvironment(
        stallTimeout: Duration,
        clock: any WallClock = SystemClock(),
        notifier: SystemdNotifier = SystemdNotifier(),
        logger: Logger? = nil
    ) -> WatchdogService? {
        guard let interval = systemdInterval() else { return nil }
        return WatchdogService(
            policy: WatchdogPolicy(interval: interval, stallTimeout: stallTimeout),
            clock: clock,
            logger: logger,
            sink: Self.notifierSink(notifier)
        )
    }

    /// The sink that sends ping and trigger through `notifier` and sends nothing on withhold.
    public static func notifierSink(_ notifier: SystemdNotifier) -> Sink {
        { decision in
            switch decision {
            case .ping: notifier.watchdogPing()
            case .trigger: notifier.watchdogTrigger()
            case .withhold: break
            }
        }
    }

    public init(
        policy: WatchdogPolicy,
        clock: any WallClock = SystemClock(),
        logger: Logger? = nil,
        sink: @escaping Sink
    ) {
        self.state = Mutex(State(policy: policy, lastProgress: clock.now))
        self.clock = clock
        self.sink = sink
        self.logger = logger
    }

    /// The reconcile loop completed a cycle (successful or not): pinging may continue.
    public func reportProgress() {
        let now = clock.now
        state.withLock { $0.lastProgress = now }
    }

    /// Evaluates the policy once, hands the decision to the sink and returns it.
    @discardableResult
    public func tick() -> WatchdogPolicy.Decision {
        let now = clock.now
        let (decision, age, stallTimeout) = state.withLock { state in
            (
                state.policy.decide(lastProgress: state.lastProgress.sinceEpoch, now: now.sinceEpoch),
                state.lastProgress.duration(to: now),
                state.policy.stallTimeout
            )
        }
        if decision == .trigger {
            logger?.critical(
                "reconcile loop made no progress for \(age) (stall timeout \(stallTimeout)): asking systemd to restart"
            )
        }
        sink(decision)
        return decision
    }

    /// Ticks every half interval (on the clock) until the task is cancelled; returns normally
    /// on cancellation.
    public func run() async {
        let period = state.withLock { $0.policy.pingInterval }
        while !Task.isCancelled {
            tick()
            do {
                try await clock.sleep(until: clock.now.advanced(by: period), tolerance: nil)
            } catch {
                return
            }
        }
    }
}
