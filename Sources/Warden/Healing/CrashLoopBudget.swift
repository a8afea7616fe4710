import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Crash-loop protection for one job: a sliding window of recreate/replace attempt
/// times, an exponential backoff with full jitter and a cap, and the gave-up flag.
///
/// Full jitter (a uniformly random delay in `0...ceiling`) rather than a fixed delay: when a
/// Polaris incident fails many jobs at once, their retries spread out instead of arriving
/// together when the backoff ends.
public struct CrashLoopBudget: Hashable, Sendable {
    /// Times of the attempts still inside the window, oldest first.
    public private(set) var attempts: [Date] = []
    /// Attempts (and failed writes) since the last healthy period: the backoff exponent n.
    public private(set) var consecutive: Int = 0
    /// No write before this time.
    public private(set) var nextActionAllowedAt: Date?
    /// Set while the budget is exhausted and the job is left alone.
    public private(set) var gaveUpSince: Date?

    public init() {}

    /// `min(backoffMaxSeconds, backoffInitialSeconds * 2^(n-1))`, 0 for n ≤ 0 (``Backoff``).
    public static func backoffCeiling(attempt n: Int, settings: SupervisorSettings.Recreate) -> Double {
        backoff(settings).ceiling(attempt: n)
    }

    /// A full-jitter delay: uniformly random in `0...backoffCeiling(attempt: n)` (``Backoff``).
    public static func backoffDelay(
        attempt n: Int, settings: SupervisorSettings.Recreate, random: inout some RandomNumberGenerator
    ) -> Double {
        backoff(settings).delay(attempt: n, using: &random)
    }

    private static func backoff(_ settings: SupervisorSettings.Recreate) -> Backoff {
        Backoff(initialSeconds: settings.backoffInitialSeconds, capSeconds: settings.backoffMaxSeconds)
    }

    /// True when another budgeted attempt fits into the window.
    public func hasRoom(_ settings: SupervisorSettings.Recreate) -> Bool {
        attempts.count < settings.maxAttempts
    }

    public func isBackingOff(at now: Date) -> Bool {
        guard let nextActionAllowedAt else { return false }
        return now < nextActionAllowedAt
    }

    /// Drops attempts that left the window and a backoff that has ended.
    public mutating func expire(now: Date, settings: SupervisorSettings.Recreate) {
        attempts.removeAll { now.timeIntervalSince($0) >= settings.windowSeconds }
        if let nextActionAllowedAt, now >= nextActionAllowedAt { self.nextActionAllowedAt = nil }
    }

    /// A budgeted write goes out: one attempt used, the next one waits a jittered backoff.
    @discardableResult
    public mutating func consume(
        at now: Date, settings: SupervisorSettings.Recreate, random: inout some RandomNumberGenerator
    ) -> Double {
        attempts.append(now)
        consecutive += 1
        return backOff(from: now, settings: settings, random: &random)
    }

    /// Counts an attempt without a write of its own (a terminal failure of an unbudgeted write).
    public mutating func charge(at now: Date) {
        attempts.append(now)
        consecutive += 1
    }

    /// Gives back the newest attempt: the write never reached Polaris as a job (transient failure,
    /// table held). `restoringBackoff` also undoes its backoff step.
    public mutating func refund(restoringBackoff: Bool) {
        if !attempts.isEmpty { attempts.removeLast() }
        if restoringBackoff {
            consecutive = max(0, consecutive - 1)
            nextActionAllowedAt = nil
        }
    }

    /// One more failure without a healthy period: the exponent grows and a new delay starts.
    @discardableResult
    public mutating func escalate(
        from now: Date, settings: SupervisorSettings.Recreate, random: inout some RandomNumberGenerator
    ) -> Double {
        consecutive += 1
        return backOff(from: now, settings: settings, random: &random)
    }

    /// A new jittered delay for the current exponent, starting at `now`.
    @discardableResult
    public mutating func backOff(
        from now: Date, settings: SupervisorSettings.Recreate, random: inout some RandomNumberGenerator
    ) -> Double {
        let delay = Self.backoffDelay(attempt: consecutive, settings: settings, random: &random)
        nextActionAllowedAt = now.addingTimeInterval(delay)
        return delay
    }

    /// Waits a fixed time (terminal failures wait the cap, without jitter).
    public mutating func hold(until date: Date) {
        nextActionAllowedAt = date
    }

    /// `healthyThreshold` healthy cycles: the next failure starts from the initial backoff again.
    /// The window keeps its attempts: a job that crash-loops slowly still runs out of budget.
    public mutating func resetBackoff() {
        consecutive = 0
        nextActionAllowedAt = nil
    }

    public mutating func giveUp(at now: Date) {
        gaveUpSince = now
        nextActionAllowedAt = nil
    }

    /// The window passed: gave-up ends, attempts and exponent stay as they are.
    public mutating func leaveGaveUp() {
        gaveUpSince = nil
    }
}

extension CrashLoopBudget: Codable {
    private enum CodingKeys: String, CodingKey {
        case attempts, consecutive, nextActionAllowedAt, gaveUpSince
    }

    /// Dates as seconds since 1970, whatever the encoder's date strategy.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        attempts = (try container.decodeIfPresent([Double].self, forKey: .attempts) ?? [])
            .map(Date.init(timeIntervalSince1970:)).sorted()
        consecutive = max(0, try container.decodeIfPresent(Int.self, forKey: .consecutive) ?? 0)
        nextActionAllowedAt = try container.decodeIfPresent(Double.self, forKey: .nextActionAllowedAt)
            .map(Date.init(timeIntervalSince1970:))
        gaveUpSince = try container.decodeIfPresent(Double.self, forKey: .gaveUpSince)
            .map(Date.init(timeIntervalSince1970:))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(attempts.map(\.timeIntervalSince1970), forKey: .attempts)
        try container.encode(consecutive, forKey: .consecutive)
        try container.encodeIfPresent(nextActionAllowedAt?.timeIntervalSince1970, forKey: .nextActionAllowedAt)
        try container.encodeIfPresent(gaveUpSince?.timeIntervalSince1970, forKey: .gaveUpSince)
    }
}
