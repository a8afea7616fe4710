/// Decides, without any I/O, whether the daemon may tell systemd it is alive.
///
/// systemd's watchdog is only useful when a ping proves that the main loop works: a timer that
/// pings blindly keeps a wedged daemon alive forever. So the policy pings (at half the
/// interval) only while the reconcile loop reported progress within ``stallTimeout``. When
/// progress stops it sends `WATCHDOG=trigger` once, so systemd restarts the daemon at once,
/// and then withholds pings (systemd would act at the end of the interval anyway).
///
/// An unreachable Polaris API is not a stall: a cycle that fails every API call still
/// completes and reports progress, so the daemon keeps pinging during an upstream outage and
/// reports it through `STATUS=` and the journal instead of restart-looping.
///
/// Times are offsets (`Duration` since any fixed origin, `WallInstant.sinceEpoch` from
/// ``WatchdogService``'s clock) passed in by the caller.
public struct WatchdogPolicy: Sendable, Equatable {
    /// What to tell systemd this time.
    public enum Decision: Sendable, Equatable {
        /// Send `WATCHDOG=1`.
        case ping
        /// Send nothing: the loop is wedged and the trigger was already sent.
        case withhold
        /// Send `WATCHDOG=trigger`: the loop just crossed ``WatchdogPolicy/stallTimeout``.
        case trigger
    }

    /// `WatchdogSec=` of the unit.
    public let interval: Duration
    /// Longest time without loop progress that still counts as healthy.
    public let stallTimeout: Duration
    /// Whether a stall sends `WATCHDOG=trigger` once instead of only withholding pings.
    public let triggerOnStall: Bool
    /// True after the trigger for the current stall was returned; cleared by fresh progress.
    public private(set) var hasTriggered = false

    /// - Parameters:
    ///   - interval: the watchdog interval systemd expects pings within.
    ///   - stallTimeout: how old the last progress may be; choose more than the longest
    ///     healthy cycle (poll interval plus worst-case API time).
    ///   - triggerOnStall: send `WATCHDOG=trigger` once when the loop stalls.
    public init(interval: Duration, stallTimeout: Duration, triggerOnStall: Bool = true) {
        self.interval = interval
        self.stallTimeout = stallTimeout
        self.triggerOnStall = triggerOnStall
    }

    /// How often to evaluate and ping: half the interval, as `sd_watchdog_enabled(3)` advises.
    public var pingInterval: Duration {
        interval / 2
    }

    /// The decision for `now` when the loop last made progress at `lastProgress`.
    public mutating func decide(lastProgress: Duration, now: Duration) -> Decision {
        if now - lastProgress <= stallTimeout {
            hasTriggered = false
            return .ping
        }
        if triggerOnStall && !hasTriggered {
            hasTriggered = true
            return .trigger
        }
        return .withhold
    }
}
