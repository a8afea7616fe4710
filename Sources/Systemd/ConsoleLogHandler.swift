import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that prints one readable line per event on stderr, for terminals and
/// `demo`, where nobody reads journal fields:
///
///     2026-11-29T10:00:00Z warning job-unhealthy wikipedia-kinesis: unhealthy [POLARIS_JOB=wikipedia-kinesis]
///
/// The `EVENT` metadata (the event kind) leads the message; `MESSAGE_ID` is left out because a
/// 32-digit id means nothing to a reader; other metadata follows sorted by key.
public struct ConsoleLogHandler: MergingLogHandler {
    /// Where finished lines go; the default writes each line to stderr with one `write(2)`.
    public typealias Output = @Sendable (String) -> Void

    /// The metadata key printed before the message instead of inside the brackets.
    public static let eventKey = "EVENT"

    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let output: Output

    public init(
        label: String,
        metadataProvider: Logger.MetadataProvider? = nil,
        output: @escaping Output = ConsoleLogHandler.writeToStandardError
    ) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = output
    }

    public func log(event: LogEvent) {
        output(line(for: event, timestamp: Self.currentTimestamp()) + "\n")
    }

    /// The line for `event` without the trailing newline; pure, for tests.
    public func line(for event: LogEvent, timestamp: String) -> String {
        var merged = mergedMetadata(for: event)
        merged.removeValue(forKey: JournalLogHandler.messageIDKey)
        let kind = merged.removeValue(forKey: Self.eventKey).map(MetadataRendering.render)
        var line = timestamp + " " + event.level.rawValue + " "
        if let kind {
            line += Self.oneLine(kind) + " "
        }
        line += Self.oneLine(event.message.description)
        var items = merged.keys.sorted().map { key in
            "\(Self.oneLine(key))=\(Self.quoted(MetadataRendering.render(merged[key]!)))"
        }
        if let error = event.error {
            items.append("error=\(Self.quoted(String(describing: error)))")
        }
        if !items.isEmpty {
            line += " [" + items.joined(separator: " ") + "]"
        }
        return line
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` in UTC for `secondsSinceEpoch` (clock_gettime/gmtime_r, no Foundation).
    public static func timestamp(secondsSinceEpoch: Int) -> String {
        var seconds = time_t(secondsSinceEpoch)
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "?" }
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-"
            + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2) + "Z"
    }

    /// The current wall-clock time as ``timestamp(secondsSinceEpoch:)``.
    public static func currentTimestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return timestamp(secondsSinceEpoch: Int(now.tv_sec))
    }

    /// The default ``Output``.
    @Sendable public static func writeToStandardError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// Keeps an event on one line: newlines and other control characters become escapes.
    static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return text
        }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.properties.generalCategory == .control {
                    result += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// Quotes a metadata value when it has spaces or is empty, so `k=v` items stay separable.
    static func quoted(_ value: String) -> String {
        let single = oneLine(value)
        if single.isEmpty || single.contains(" ") || single.contains("\"") || single.contains("]") {
            return "\"" + single.replacing("\"", with: "\\\"") + "\""
        }
        return single
    }
}
