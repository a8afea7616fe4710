#if canImport(Glibc)
import Glibc
#endif

/// The production ``WatchdogClock``: `CLOCK_MONOTONIC`, the clock systemd's watchdog uses, so
/// wall-clock jumps never look like a stall.
public struct MonotonicWatchdogClock: WatchdogClock {
    public init() {}

    public func now() -> Duration {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
    }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
