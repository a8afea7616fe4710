/// An HTTP `Retry-After` value (RFC 9110 §10.2.3) in either form: delay-seconds (`120`) or an
/// HTTP-date in the IMF-fixdate form (`Wed, 21 Oct 2015 07:28:00 GMT`). The client parses it
/// (``delay(from:now:)``); the emulator sends it (``headerValue``), so both ends share one
/// reading of the format.
///
/// Parsed and formatted by hand: `Date.HTTPFormatStyle` is not in FoundationEssentials on the
/// toolchain the warden is built with (Swift 6.3.1), and the daemon does not link Foundation.
/// Only IMF-fixdate is accepted, not the obsolete RFC 850 and asctime forms (Polaris sends
/// delay-seconds).
public enum RetryAfter: Sendable, Hashable {
    case seconds(Int)
    case date(PolarisTimestamp)

    /// Parses a header value; nil when it is neither a non-negative integer nor an IMF-fixdate.
    public init?(headerValue value: String) {
        let text = value.trimmingWhitespace()
        if let seconds = Int(text) {
            guard seconds >= 0 else { return nil }
            self = .seconds(seconds)
        } else if let seconds = Self.parseIMFFixdate(text) {
            self = .date(PolarisTimestamp(seconds: seconds))
        } else {
            return nil
        }
    }

    /// The header value: the seconds, or the date as an IMF-fixdate (whole seconds).
    public var headerValue: String {
        switch self {
        case .seconds(let seconds): String(seconds)
        case .date(let timestamp): Self.httpDate(secondsSinceEpoch: timestamp.seconds)
        }
    }

    /// The wait this value asks for at `now` (seconds since 1970); zero for a date in the past.
    public func delay(now: Double) -> Duration {
        switch self {
        case .seconds(let seconds): return .seconds(seconds)
        case .date(let timestamp):
            let seconds = Double(timestamp.seconds) - now
            return seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : .zero
        }
    }

    /// The wait a `Retry-After` header value asks for at `now` (seconds since 1970); nil when
    /// the value is neither form.
    public static func delay(from value: String, now: Double) -> Duration? {
        RetryAfter(headerValue: value)?.delay(now: now)
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT` → seconds since 1970; nil for anything else. The weekday
    /// is not checked against the date.
    static func parseIMFFixdate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
            let day = Int64(parts[1]), let monthIndex = months.firstIndex(of: String(parts[2])),
            let year = Int64(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int64(clock[0]), let minute = Int64(clock[1]),
            let second = Int64(clock[2]), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = PolarisTimestamp.daysFromCivil(year: year, month: Int64(monthIndex + 1), day: day)
        return days * 86400 + hour * 3600 + minute * 60 + second
    }

    /// Seconds since 1970 → `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(secondsSinceEpoch seconds: Int64) -> String {
        let parts = Array(PolarisTimestamp(seconds: seconds).text.utf8)  // YYYY-MM-DDTHH:MM:SSZ
        func field(_ from: Int, _ length: Int) -> String {
            String(decoding: parts[from..<from + length], as: UTF8.self)
        }
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday
        let month = months[(Int(field(5, 2)) ?? 1) - 1]
        return "\(weekdays[weekday]), \(field(8, 2)) \(month) \(field(0, 4)) \(field(11, 8)) GMT"
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
