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
    ///
    /// A reservation is a debt the refill pays off. When the refill would overflow the burst
    /// while debts are outstanding (the process was stopped or starved longer than the debts
    /// take to pay), the cap forgives them: the bucket is full for whoever asks next. A waiter
    /// whose debt was forgiven books again when it wakes, instead of going on top of that full
    /// burst (which sent more than the limit in one second after a SIGCONT, seen by the HA
    /// chaos soak).
    public func acquire() async throws {
        while true {
            refill()
            tokens -= 1
            if tokens >= 0 { return }
            let wait = Duration.nanoseconds(Int64(((-tokens / ratePerSecond) * 1e9).rounded()))
            totalWait += wait
            waits += 1
            let ticket = forgiven
            try await clock.sleep(until: last.advanced(by: wait), tolerance: nil)
            refill()
            if forgiven == ticket { return }
        }
    }

    /// How many times the cap forgave outstanding reservations.
    private var forgiven = 0

    private func refill() {
        let now = clock.now
        let refilled = tokens + max(0, last.duration(to: now).inSeconds) * ratePerSecond
        last = now
        if refilled > burst {
            if tokens < 0 { forgiven += 1 }
            tokens = burst
        } else {
            tokens = refilled
        }
    }
}
