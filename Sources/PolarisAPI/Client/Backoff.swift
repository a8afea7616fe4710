import WardenPlatform

/// Exponential backoff with a cap and full jitter: the one formula behind the client's retries
/// (`RetryPolicy`) and the warden's waits between recreates of a crash-looping job
/// (`CrashLoopBudget`).
///
/// - ceiling(n) = min(cap, initial × factor^(n−1)) for attempt n ≥ 1, and 0 for n ≤ 0;
/// - delay(n) = uniformly random in 0...ceiling(n), from the random source passed in.
///
/// Full jitter rather than a fixed delay: when one incident fails many requests or jobs at once,
/// their retries spread over the whole interval instead of arriving together when it ends.
public struct Backoff: Sendable, Hashable {
    /// The ceiling of the first attempt, in seconds.
    public var initialSeconds: Double
    /// No ceiling exceeds this, in seconds.
    public var capSeconds: Double
    /// Each further attempt multiplies the ceiling by this (until the cap).
    public var factor: Double

    public init(initialSeconds: Double, capSeconds: Double, factor: Double = 2) {
        self.initialSeconds = initialSeconds
        self.capSeconds = capSeconds
        self.factor = factor
    }

    public init(initial: Duration, cap: Duration, factor: Double = 2) {
        self.init(initialSeconds: initial.inSeconds, capSeconds: cap.inSeconds, factor: factor)
    }

    /// `min(cap, initial × factor^(n−1))` in seconds, 0 for n ≤ 0. Negative settings count as
    /// 0; the product stops growing once it reaches the cap, so no attempt count overflows it.
    public func ceiling(attempt n: Int) -> Double {
        guard n > 0 else { return 0 }
        let cap = max(0, capSeconds)
        var ceiling = max(0, initialSeconds)
        var steps = n - 1
        while steps > 0, ceiling < cap, ceiling > 0 {
            ceiling *= factor
            steps -= 1
        }
        return min(cap, ceiling)
    }

    /// A full-jitter delay in seconds: uniformly random in `0...ceiling(attempt: n)`.
    public func delay(attempt n: Int, using random: inout some RandomNumberGenerator) -> Double {
        let ceiling = ceiling(attempt: n)
        guard ceiling > 0, ceiling.isFinite else { return 0 }
        return Double.random(in: 0...ceiling, using: &random)
    }
}
