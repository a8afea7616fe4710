/// Parses an HTTP `Retry-After` value: delay-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 9110 §10.2.3), relative to `now` (seconds since 1970).
public enum RetryAfter {
    public static func delay(from value: String, now: Double) -> Duration? {
        let text = value.trimmingWhitespace()
        if let seconds = Int64(text), seconds >= 0 { return .seconds(seconds) }
        guard let date = parseIMFFixdate(text) else { return nil }
        let seconds = Double(date) - now
        return seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : .zero
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT` → seconds since 1970; nil for anything else.
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
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
