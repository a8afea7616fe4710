/// Turns arbitrary swift-log metadata keys into journal field names journald accepts.
///
/// journald silently drops a field whose name breaks its rules (`A-Z`, `0-9`, `_`; no leading
/// `_` or digit; at most 64 bytes), which would lose swift-log's dotted keys such as
/// `polaris.job`. Plain metadata must also never forge a trusted or meaningful field (`_PID`,
/// `UNIT`, which `journalctl -u` matches, `MESSAGE`, `PRIORITY`, `CODE_*`, …), so those get a
/// `META_` prefix.
public enum JournalFieldName {
    /// Longest field name journald accepts, in bytes.
    public static let maximumLength = 64

    /// Prefix for a name that would start with `_` or a digit (or be empty).
    public static let lexicalPrefix = "X_"

    /// Prefix for a name the journal or the handler itself gives meaning to.
    public static let reservedPrefix = "META_"

    /// Names that plain metadata may not produce.
    public static let reservedNames: Set<String> = [
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "ERRNO", "TID", "DOCUMENTATION",
        "UNIT", "USER_UNIT", "INVOCATION_ID", "USER_INVOCATION_ID",
        "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "SYSLOG_PID", "SYSLOG_TIMESTAMP", "SYSLOG_RAW",
    ]

    /// Prefixes that plain metadata may not produce (source location, object and coredump
    /// fields that journalctl matches on, syslog compatibility fields).
    public static let reservedPrefixes: [String] = ["CODE_", "OBJECT_", "COREDUMP_", "SYSLOG_"]

    /// The journal field name for a metadata key; always valid and never reserved.
    public static func escape(_ key: String) -> String {
        var name = ""
        name.reserveCapacity(key.utf8.count)
        for scalar in key.unicodeScalars {
            switch scalar {
            case "A"..."Z", "0"..."9", "_":
                name.unicodeScalars.append(scalar)
            case "a"..."z":
                name.unicodeScalars.append(Unicode.Scalar(scalar.value - 32)!)
            default:
                name.append("_")
            }
        }
        if let first = name.utf8.first {
            if first == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) {
                name = lexicalPrefix + name
            }
        } else {
            name = lexicalPrefix
        }
        if isReserved(name) {
            name = reservedPrefix + name
        }
        // Only ASCII is left, so cutting bytes is cutting characters.
        if name.utf8.count > maximumLength {
            name = String(name.prefix(maximumLength))
        }
        return name
    }

    /// True for names plain metadata must not set.
    public static func isReserved(_ name: String) -> Bool {
        reservedNames.contains(name) || reservedPrefixes.contains { name.hasPrefix($0) }
    }

    /// True when journald would accept `name` as a field a client may send.
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= maximumLength else { return false }
        if first == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) {
            return false
        }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
    }
}
