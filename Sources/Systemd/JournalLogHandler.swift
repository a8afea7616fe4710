import CSystemd
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes structured entries to journald with `sd_journal_sendv(3)`.
///
/// The native protocol keeps every metadata item as its own field, so operators filter with
/// `journalctl POLARIS_JOB=orders` and alert on `MESSAGE_ID=` / `PRIORITY<=3` instead of
/// parsing text. Metadata keys are escaped with ``JournalFieldName/escape(_:)`` because
/// journald drops invalid names silently; the key `MESSAGE_ID` alone passes through as the
/// catalog id of the event.
public struct JournalLogHandler: MergingLogHandler {
    /// The metadata key whose value becomes the entry's `MESSAGE_ID` field.
    public static let messageIDKey = "MESSAGE_ID"

    /// The default `SYSLOG_IDENTIFIER`, the name `journalctl -t` filters on.
    public static let defaultSyslogIdentifier = "polaris-warden"

    /// The swift-log label of the logger.
    public let label: String
    /// `SYSLOG_IDENTIFIER` of every entry.
    public let syslogIdentifier: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info

    public init(
        label: String,
        syslogIdentifier: String = JournalLogHandler.defaultSyslogIdentifier,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.syslogIdentifier = syslogIdentifier
        self.metadataProvider = metadataProvider
    }

    public func log(event: LogEvent) {
        Self.send(fields(for: event))
    }

    /// The syslog priority journald stores for `level` (there is no trace: it maps to debug).
    public static func priority(for level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The fields the entry for `event` consists of, in sending order, without sending
    /// anything: `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, `CODE_FILE`, `CODE_LINE`,
    /// `CODE_FUNC`, `MESSAGE_ID` when given, the escaped metadata sorted by field name and
    /// `ERROR` for an error passed to the logger (unless metadata already has that field).
    public func fields(for event: LogEvent) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("MESSAGE", event.message.description),
            ("PRIORITY", String(Self.priority(for: event.level))),
            ("SYSLOG_IDENTIFIER", syslogIdentifier),
            ("CODE_FILE", event.file),
            ("CODE_LINE", String(event.line)),
            ("CODE_FUNC", event.function),
        ]
        let merged = mergedMetadata(for: event)
        var custom: [(String, String)] = []
        custom.reserveCapacity(merged.count)
        for (key, value) in merged {
            let rendered = MetadataRendering.render(value)
            if key == Self.messageIDKey {
                fields.append((Self.messageIDKey, rendered))
            } else {
                custom.append((JournalFieldName.escape(key), rendered))
            }
        }
        // Sorting by name, then value, keeps the entry stable when two keys escape alike.
        custom.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        fields += custom
        if let error = event.error, !custom.contains(where: { $0.0 == "ERROR" }) {
            fields.append(("ERROR", String(describing: error)))
        }
        return fields
    }

    /// Sends `FIELD=value` pairs as one entry. Values may contain newlines: `sd_journal_sendv`
    /// switches to the binary-safe encoding for them. Returns the `sd_journal_sendv` result
    /// (0 also when no journald listens; only reading the entry back proves delivery).
    @discardableResult
    public static func send(_ fields: [(String, String)]) -> Int32 {
        guard !fields.isEmpty else { return 0 }
        // One buffer for all "FIELD=value" byte strings; the iovecs point into it.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 1 })
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(fields.count)
        for (name, value) in fields {
            let start = bytes.count
            bytes.append(contentsOf: name.utf8)
            bytes.append(UInt8(ascii: "="))
            bytes.append(contentsOf: value.utf8)
            ranges.append(start..<bytes.count)
        }
        return bytes.withUnsafeMutableBytes { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return 0 }
            let vectors = ranges.map { range in
                iovec(iov_base: base + range.lowerBound, iov_len: range.count)
            }
            return vectors.withUnsafeBufferPointer { iov in
                sd_journal_sendv(iov.baseAddress, Int32(iov.count))
            }
        }
    }
}
