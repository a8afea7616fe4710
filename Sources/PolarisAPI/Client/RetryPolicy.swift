/// Exponential backoff with full jitter (``Backoff``) for transient failures (connection
/// errors, 408, 429, 5xx). `Retry-After`, when Polaris sends it, wins over the computed delay (capped).
public struct RetryPolicy: Sendable, Hashable {
    /// Tries in all, the first included.
    public var maxAttempts: Int
    public var initialDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 4, initialDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10)) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// No retries: for tests and for callers that loop themselves.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// Statuses worth another try for an idempotent request.
    public static let retryableStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    /// The backoff between tries: `initialDelay` doubling up to `maxDelay`, with full jitter.
    public var backoff: Backoff { Backoff(initial: initialDelay, cap: maxDelay) }

    /// The wait before try number `attempt + 1` (`attempt` counts from 1): a uniform random
    /// value in `0 ... min(maxDelay, initialDelay * 2^(attempt-1))` (``Backoff``), or
    /// `retryAfter` when given; never more than `maxDelay`.
    public func delay(
        afterAttempt attempt: Int, retryAfter: Duration?, using random: inout some RandomNumberGenerator
    ) -> Duration {
        if let retryAfter { return min(retryAfter, maxDelay) }
        return min(maxDelay, .seconds(backoff.delay(attempt: attempt, using: &random)))
    }
}
