import PolarisAPI

/// A `Retry-After` header value in either form RFC 9110 allows, so a client's parser can be
/// tested against both: delta-seconds (`120`) or an IMF-fixdate
/// (`Wed, 21 Oct 2015 07:28:00 GMT`).
public enum RetryAfter: Sendable, Hashable {
    case seconds(Int)
    case date(PolarisTimestamp)

    public var headerValue: String {
        switch self {
        case .seconds(let seconds): String(seconds)
        case .date(let timestamp): Self.httpDate(secondsSinceEpoch: timestamp.seconds)
        }
    }

    /// Formats an IMF-fixdate without Foundation's formatters (not in FoundationEssentials).
    static func httpDate(secondsSinceEpoch seconds: Int64) -> String {
        let text = PolarisTimestamp(seconds: seconds).text  // YYYY-MM-DDTHH:MM:SSZ
        let parts = Array(text.utf8)
        func field(_ from: Int, _ length: Int) -> String {
            String(decoding: parts[from..<from + length], as: UTF8.self)
        }
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = months[(Int(field(5, 2)) ?? 1) - 1]
        return "\(weekdays[weekday]), \(field(8, 2)) \(month) \(field(0, 4)) \(field(11, 8)) GMT"
    }
}
