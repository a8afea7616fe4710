#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An instant as time since 1970-01-01T00:00:00Z: the one epoch of the warden's clock, its
/// state file and Polaris' timestamps.
public struct WallInstant: InstantProtocol, Hashable, Sendable, Codable {
    public var sinceEpoch: Duration

    public init(sinceEpoch: Duration) { self.sinceEpoch = sinceEpoch }

    public init(secondsSince1970 seconds: Double) { self.sinceEpoch = .seconds(seconds) }

    public init(_ date: Date) { self.init(secondsSince1970: date.timeIntervalSince1970) }

    public var secondsSince1970: Double { sinceEpoch.inSeconds }

    public var date: Date { Date(timeIntervalSince1970: secondsSince1970) }

    public func advanced(by duration: Duration) -> WallInstant {
        WallInstant(sinceEpoch: sinceEpoch + duration)
    }

    public func duration(to other: WallInstant) -> Duration { other.sinceEpoch - sinceEpoch }

    public static func < (lhs: WallInstant, rhs: WallInstant) -> Bool { lhs.sinceEpoch < rhs.sinceEpoch }
}

extension Duration {
    /// The duration in seconds, as a `Double` (for rates, settings in seconds, Prometheus).
    public var inSeconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// The one clock every part of the warden is given: timers, the rate limiter, token expiry,
/// the watchdog, the supervisor's dates. Production passes a ``SystemClock``; tests a
/// ``ManualClock`` they advance, so no test sleeps to make time pass.
public protocol WallClock: Clock, Sendable where Instant == WallInstant, Duration == Swift.Duration {}

extension WallClock {
    /// `now` as a `Date`, for code that formats or compares Polaris timestamps.
    public var date: Date { now.date }
}

/// The production clock. Anchored to the system's real-time clock once, at creation, and then
/// advanced by `CLOCK_MONOTONIC` (the clock systemd's watchdog uses): a stepped system clock
/// (NTP at boot, an operator's `date -s`) can never fire a timer early or late or fake a
/// wedged loop. The price: after a step, dates differ from the system clock by the step until
/// the daemon restarts.
public struct SystemClock: WallClock {
    private let anchor: WallInstant
    private let anchorMonotonic: Duration

    public init() {
        anchor = WallInstant(sinceEpoch: Self.read(CLOCK_REALTIME))
        anchorMonotonic = Self.read(CLOCK_MONOTONIC)
    }

    public var now: WallInstant { anchor.advanced(by: Self.read(CLOCK_MONOTONIC) - anchorMonotonic) }

    public var minimumResolution: Duration { .nanoseconds(1) }

    public func sleep(until deadline: WallInstant, tolerance: Duration? = nil) async throws {
        let remaining = now.duration(to: deadline)
        if remaining > .zero {
            try await Task.sleep(for: remaining, tolerance: tolerance)
        } else {
            try Task.checkCancellation()
        }
    }

    private static func read(_ id: clockid_t) -> Duration {
        var spec = timespec()
        clock_gettime(id, &spec)
        return .seconds(Int64(spec.tv_sec)) + .nanoseconds(Int64(spec.tv_nsec))
    }
}
