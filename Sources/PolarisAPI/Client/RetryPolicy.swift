/// Exponential backoff with full jitter for transient failures (connection errors, 408, 429,
/// 5xx). `Retry-After`, when Polaris sends it, wins over the computed delay (capped).
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

    /// The wait before try number `attempt + 1` (`attempt` counts from 1): a uniform random
    /// value in `0 ... min(maxDelay, initialDelay * 2^(attempt-1))`, or `retryAfter` when given.
    public func delay(
        afterAttempt attempt: Int, retryAfter: Duration?, using random: inout some RandomNumberGenerator
    ) -> Duration {
        if let retryAfter { return min(retryAfter, maxDelay) }
        let ceiling = min(maxDelay, initialDelay * (1 << min(max(attempt - 1, 0), 30)))
        let ceilingNanos = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        guard ceilingNanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...ceilingNanos, using: &random))
    }
}
