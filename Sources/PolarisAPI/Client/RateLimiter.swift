import WardenPlatform

/// A token bucket shared by every call of one client, so a cycle with many healing actions
/// (or a retry storm) never sends more than `ratePerSecond` requests per second to Polaris.
/// Time is the injected clock's: refills are measured on it and waits sleep on it.
public actor RateLimiter {
    public let ratePerSecond: Double
    public let burst: Double
    private var tokens: Double
    private var last: WallInstant
    private let clock: any WallClock
    /// Total time callers spent waiting for a token (for metrics and benchmarks).
    public private(set) var totalWait: Duration = .zero
    public private(set) var waits: Int = 0

    /// `burst` defaults to one second's worth of tokens (at least 1).
    public init(ratePerSecond: Double, burst: Double? = nil, clock: any WallClock = SystemClock()) {
        precondition(ratePerSecond > 0, "rate must be positive")
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst ?? ratePerSecond.rounded(.down))
        self.tokens = self.burst
        self.clock = clock
        self.last = clock.now
    }

    /// Takes one token, sleeping until one is available. Reservations are made before the
    /// sleep, so concurrent callers queue fairly instead of waking together.
    public func acquire() async throws {
        let now = clock.now
        let elapsed = last.duration(to: now)
        last = now
        tokens = min(burst, tokens + max(0, elapsed.inSeconds) * ratePerSecond)
        tokens -= 1
        if tokens >= 0 { return }
        let wait = Duration.nanoseconds(Int64(((-tokens / ratePerSecond) * 1e9).rounded()))
        totalWait += wait
        waits += 1
        try await clock.sleep(until: now.advanced(by: wait), tolerance: nil)
    }
}
