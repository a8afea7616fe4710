#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How far the writes of one cycle got: `healing 312/800 (10/s, ~49 s left)`.
///
/// A mass failure can need more writes than the rate limit allows in a poll interval; the
/// cycle then runs for minutes. Every completed write is progress for the watchdog, and this
/// line tells the operator (in `STATUS=` and `polaris-warden status`) where the heal stands.
public struct HealProgress: Hashable, Sendable, Codable {
    public var total: Int
    public var done: Int
    public var startedAt: Date
    /// The configured request rate, used for the estimate until a second has passed.
    public var nominalRate: Double

    public init(total: Int, done: Int = 0, startedAt: Date, nominalRate: Double) {
        self.total = total
        self.done = done
        self.startedAt = startedAt
        self.nominalRate = nominalRate
    }

    /// Writes per second so far (the nominal rate until a second has passed).
    public func rate(now: Date) -> Double {
        let elapsed = now.timeIntervalSince(startedAt)
        guard elapsed >= 1, done > 0 else { return nominalRate }
        return Double(done) / elapsed
    }

    public func secondsLeft(now: Date) -> Int {
        let rate = rate(now: now)
        guard rate > 0 else { return 0 }
        return Int((Double(total - done) / rate).rounded(.up))
    }

    public func summary(now: Date) -> String {
        let rate = rate(now: now)
        let tenths = (rate * 10).rounded() / 10
        let shownRate = tenths >= 10 ? String(Int(tenths.rounded())) : String(tenths)
        return "healing \(done)/\(total) (\(shownRate)/s, ~\(secondsLeft(now: now)) s left)"
    }
}

/// The order in which a cycle's writes are sent: higher `priority` first, then the job that
/// failed first (its last update is when it failed), then by name, so the order is stable and
/// fair across cycles.
public enum HealOrder {
    public struct Key: Sendable {
        public var name: String
        public var priority: Int
        /// When the job last changed in Polaris (nil: no job yet; sorts after the dated ones).
        public var since: Date?

        public init(name: String, priority: Int, since: Date?) {
            self.name = name
            self.priority = priority
            self.since = since
        }
    }

    public static func precedes(_ lhs: Key, _ rhs: Key) -> Bool {
        if lhs.priority != rhs.priority { return lhs.priority > rhs.priority }
        switch (lhs.since, rhs.since) {
        case (let left?, let right?) where left != right: return left < right
        case (.some, nil): return true
        case (nil, .some): return false
        default: return lhs.name < rhs.name
        }
    }
}
