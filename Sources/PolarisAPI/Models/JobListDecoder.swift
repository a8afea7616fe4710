/// A single-pass decoder of a `GET /jobs` page (`JobList`) that reads the members the warden
/// uses straight from the UTF-8 bytes and skips everything else without allocating.
///
/// `JSONDecoder` costs ≈ 129 k instructions per job summary (generic keyed containers, a
/// dictionary per object); a 1,000-job page is decoded every cycle. The result is exactly what
/// `JSONDecoder().decode(JobList.self, ...)` returns (`JobSummary` is the reference). The
/// scanner is deliberately stricter than `JSONDecoder`: on any syntax error, unexpected type,
/// invalid UTF-8, lone surrogate, duplicate modelled member or deep nesting it returns nil and
/// the caller falls back to `JSONDecoder`, so behaviour never differs from the Codable path.
struct JobListDecoder {
    private struct Malformed: Error {}

    /// The member names of one object: matched by length and first eight bytes (one integer
    /// comparison per candidate), then by the remaining bytes.
    private struct KeySet {
        struct Entry {
            var length: Int
            var prefix: UInt64
            var name: StaticString
        }

        let entries: [Entry]

        init(_ names: [StaticString]) {
            entries = names.map { name in
                Entry(
                    length: name.utf8CodeUnitCount,
                    prefix: KeySet.prefix(name.utf8Start, count: name.utf8CodeUnitCount), name: name)
            }
        }

        /// Up to eight bytes, first byte lowest, zero-padded.
        static func prefix(_ start: UnsafePointer<UInt8>, count: Int) -> UInt64 {
            var value: UInt64 = 0
            for offset in 0..<min(count, 8) {
                value |= UInt64(start[offset]) << UInt64(offset &* 8)
            }
            return value
        }
    }

    /// Nesting limit (JSONDecoder's is 512): deeper input is left to the fallback, which also
    /// bounds this scanner's recursion.
    private static let maximumDepth = 128

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// Unescaped bytes of the string being read, reused across strings.
    private var scratch: [UInt8] = []
    /// The last timestamp parsed and where its text is: a job's timestamps are often equal
    /// (`created` = `started` = `lastUpdated`), and `PolarisTimestamp(_:)` is a pure function
    /// of the text, so the same bytes give the same value.
    private var lastTimestamp: (start: Int, end: Int, value: PolarisTimestamp)?

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The page in `bytes`, or nil when anything is not as expected.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> JobList? {
        bytes.withMemoryRebound(to: UInt8.self) { decode($0) }
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> JobList? {
        var decoder = JobListDecoder(bytes)
        return try? decoder.list()
    }

    static func decode(_ bytes: [UInt8]) -> JobList? {
        bytes.withUnsafeBufferPointer { decode($0) }
    }

    // MARK: Structure

    private mutating func list() throws(Malformed) -> JobList {
        skipWhitespace()
        var values: [Job]?
        var more: Bool?
        var seen: UInt32 = 0
        try beginObject()
        if try !endOfObject() {
            repeat {
                switch try key(Self.listKeys, seen: &seen) {
                case 0: values = try jobs()
                case 1: more = try optionalBool()
                default: try skipValue()
                }
            } while try nextMember()
        }
        skipWhitespace()
        guard index == bytes.count, let values else { throw Malformed() }
        return JobList(values: values, moreResultsAvailable: more ?? false)
    }

    private static let listKeys = KeySet(["values", "moreResultsAvailable"])

    private mutating func jobs() throws(Malformed) -> [Job] {
        try expect(UInt8(ascii: "["))
        skipWhitespace()
        var jobs: [Job] = []
        if try peek() == UInt8(ascii: "]") {
            index += 1
            return jobs
        }
        while true {
            jobs.append(try job())
            skipWhitespace()
            let byte = try peek()
            index += 1
            if byte == UInt8(ascii: "]") { return jobs }
            guard byte == UInt8(ascii: ",") else { throw Malformed() }
            skipWhitespace()
        }
    }

    private static let jobKeys = KeySet([
        "id", "type", "executionStatus", "desiredExecutionStatus", "health", "createdBy", "lastModifiedBy",
        "createdTimestamp", "lastUpdatedTimestamp", "startedTimestamp", "completedTimestamp", "target", "source",
    ])

    private mutating func job() throws(Malformed) -> Job {
        var id: String?
        var type: String?
        var executionStatus: ExecutionStatus?
        var desired: DesiredExecutionStatus?
        var health: JobHealth?
        var createdBy: PolarisUser?
        var lastModifiedBy: PolarisUser?
        var created: PolarisTimestamp?
        var updated: PolarisTimestamp?
        var started: PolarisTimestamp?
        var completed: PolarisTimestamp?
        var target: JSONValue?
        var source: JSONValue?
        var seen: UInt32 = 0
        try beginObject()
        if try !endOfObject() {
            repeat {
                let member = try key(Self.jobKeys, seen: &seen)
                switch member {
                case 0: id = try string()
                case 1: type = try string()
                case 2: executionStatus = ExecutionStatus(rawValue: try string())
                case 3:
                    if let raw = try optionalString() {
                        guard let value = DesiredExecutionStatus(rawValue: raw) else { throw Malformed() }
                        desired = value
                    }
                case 4: health = try isNull() ? nil : try jobHealth()
                case 5: createdBy = try isNull() ? nil : try user()
                case 6: lastModifiedBy = try isNull() ? nil : try user()
                case 7: created = try optionalTimestamp()
                case 8: updated = try optionalTimestamp()
                case 9: started = try optionalTimestamp()
                case 10: completed = try optionalTimestamp()
                // Not `isNull() ? nil : ...`: `JSONValue` is `ExpressibleByNilLiteral`, that would be `.null`.
                case 11: target = try isNull() ? JSONValue?.none : try pair(Self.targetKeys, "type", "tableName")
                case 12:
                    source = try isNull() ? JSONValue?.none : try pair(Self.sourceKeys, "type", "connectionName")
                default: try skipValue()
                }
            } while try nextMember()
        }
        guard let id, let type, let executionStatus else { throw Malformed() }
        return Job(
            id: id, type: type, executionStatus: executionStatus, desiredExecutionStatus: desired,
            health: health ?? .ok, createdBy: createdBy, lastModifiedBy: lastModifiedBy,
            createdTimestamp: created, lastUpdatedTimestamp: updated, startedTimestamp: started,
            completedTimestamp: completed, target: target, source: source)
    }

    private static let healthKeys = KeySet(["status", "code", "message", "log"])

    private mutating func jobHealth() throws(Malformed) -> JobHealth {
        var status: String?
        var code: String?
        var message: String?
        var log: JobLogEntry?
        var seen: UInt32 = 0
        try beginObject()
        if try !endOfObject() {
            repeat {
                switch try key(Self.healthKeys, seen: &seen) {
                case 0: status = try string()
                case 1: code = try optionalString()
                case 2: message = try optionalString()
                case 3: log = try isNull() ? nil : try logEntry()
                default: try skipValue()
                }
            } while try nextMember()
        }
        guard let status else { throw Malformed() }
        return JobHealth(status: JobHealth.Status(rawValue: status), code: code, message: message, log: log)
    }

    private static let logKeys = KeySet(["timestamp", "healthStatus", "code", "message"])

    private mutating func logEntry() throws(Malformed) -> JobLogEntry {
        var entry = JobLogEntry()
        var seen: UInt32 = 0
        try beginObject()
        if try !endOfObject() {
            repeat {
                switch try key(Self.logKeys, seen: &seen) {
                case 0: entry.timestamp = try optionalTimestamp()
                case 1: entry.healthStatus = try optionalString()
                case 2: entry.code = try optionalString()
                case 3: entry.message = try optionalString()
                default: try skipValue()
                }
            } while try nextMember()
        }
        return entry
    }

    private static let userKeys = KeySet(["username", "userId"])

    private mutating func user() throws(Malformed) -> PolarisUser {
        var username: String?
        var userId: String?
        var seen: UInt32 = 0
        try beginObject()
        if try !endOfObject() {
            repeat {
                switch try key(Self.userKeys, seen: &seen) {
                case 0: username = try optionalString()
                case 1: userId = try optionalString()
                default: try skipValue()
                }
            } while try nextMember()
        }
        return PolarisUser(username: username, userId: userId)
    }

    private static let targetKeys = KeySet(["type", "tableName"])
    private static let sourceKeys = KeySet(["type", "connectionName"])

    /// `target` / `source` as `JobSummary.job` builds them: an object of the two string members
    /// that are present and not null.
    private mutating func pair(_ keys: KeySet, _ firstName: String, _ secondName: String)
        throws(Malformed) -> JSONValue
    {
        var first: String?
        var second: String?
        var seen: UInt32 = 0
        try beginObject()
        if try !endOfObject() {
            repeat {
                switch try key(keys, seen: &seen) {
                case 0: first = try optionalString()
                case 1: second = try optionalString()
                default: try skipValue()
                }
            } while try nextMember()
        }
        switch (first, second) {
        case (let first?, let second?): return .object([firstName: .string(first), secondName: .string(second)])
        case (let first?, nil): return .object([firstName: .string(first)])
        case (nil, let second?): return .object([secondName: .string(second)])
        case (nil, nil): return .object([:])
        }
    }

    // MARK: Members

    private mutating func beginObject() throws(Malformed) {
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
    }

    /// After `{`: consumes `}` of an empty object.
    private mutating func endOfObject() throws(Malformed) -> Bool {
        guard try peek() == UInt8(ascii: "}") else { return false }
        index += 1
        return true
    }

    /// After a member's value: true after `,` (another member follows), false after `}`.
    private mutating func nextMember() throws(Malformed) -> Bool {
        skipWhitespace()
        let byte = try peek()
        index += 1
        if byte == UInt8(ascii: ",") {
            skipWhitespace()
            return true
        }
        guard byte == UInt8(ascii: "}") else { throw Malformed() }
        return false
    }

    /// Reads a member's key and the `:` after it: the index of the key in `keys`, or -1 for a
    /// member that is not modelled. A modelled key seen twice is left to the fallback.
    private mutating func key(_ keys: KeySet, seen: inout UInt32) throws(Malformed) -> Int {
        try expect(UInt8(ascii: "\""))
        let start = index
        let plain = try scanString()
        let end = index - 1
        var found = -1
        if plain {
            let length = end - start
            let prefix = KeySet.prefix(bytes.baseAddress! + start, count: length)
            found = keys.entries.withUnsafeBufferPointer { entries in
                for position in entries.indices
                where entries[position].length == length && entries[position].prefix == prefix {
                    if length <= 8 || memoryEqual(entries[position].name, at: start) { return position }
                }
                return -1
            }
        } else {
            // Escapes or non-ASCII: compare as `String`s, as JSONDecoder's keyed container does.
            let text = try makeString(start: start, end: end, plain: false)
            found = keys.entries.firstIndex { $0.name.description == text } ?? -1
        }
        if found >= 0 {
            let bit: UInt32 = 1 << UInt32(found)
            guard seen & bit == 0 else { throw Malformed() }
            seen |= bit
        }
        skipWhitespace()
        try expect(UInt8(ascii: ":"))
        skipWhitespace()
        return found
    }

    private func memoryEqual(_ literal: StaticString, at start: Int) -> Bool {
        let pointer = literal.utf8Start
        for offset in 0..<literal.utf8CodeUnitCount where bytes[start + offset] != pointer[offset] {
            return false
        }
        return true
    }

    // MARK: Values

    private mutating func isNull() throws(Malformed) -> Bool {
        guard try peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func string() throws(Malformed) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        let plain = try scanString()
        return try makeString(start: start, end: index - 1, plain: plain)
    }

    private mutating func optionalString() throws(Malformed) -> String? {
        try isNull() ? nil : try string()
    }

    private mutating func optionalTimestamp() throws(Malformed) -> PolarisTimestamp? {
        if try isNull() { return nil }
        try expect(UInt8(ascii: "\""))
        let start = index
        let plain = try scanString()
        let end = index - 1
        if plain, let last = lastTimestamp, last.end - last.start == end - start,
            (0..<end - start).allSatisfy({ bytes[start + $0] == bytes[last.start + $0] })
        {
            return last.value
        }
        guard let timestamp = PolarisTimestamp(try makeString(start: start, end: end, plain: plain)) else {
            throw Malformed()
        }
        if plain { lastTimestamp = (start, end, timestamp) }
        return timestamp
    }

    private mutating func optionalBool() throws(Malformed) -> Bool? {
        switch try peek() {
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default:
            throw Malformed()
        }
    }

    private mutating func skipValue() throws(Malformed) {
        switch try peek() {
        case UInt8(ascii: "\""):
            index += 1
            _ = try scanString()
        case UInt8(ascii: "{"):
            try nest()
            index += 1
            skipWhitespace()
            if try !endOfObject() {
                repeat {
                    try expect(UInt8(ascii: "\""))
                    _ = try scanString()
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"))
                    skipWhitespace()
                    try skipValue()
                } while try nextMember()
            }
            depth -= 1
        case UInt8(ascii: "["):
            try nest()
            index += 1
            skipWhitespace()
            if try peek() == UInt8(ascii: "]") {
                index += 1
            } else {
                while true {
                    try skipValue()
                    skipWhitespace()
                    let byte = try peek()
                    index += 1
                    if byte == UInt8(ascii: "]") { break }
                    guard byte == UInt8(ascii: ",") else { throw Malformed() }
                    skipWhitespace()
                }
            }
            depth -= 1
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try skipNumber()
        }
    }

    private mutating func nest() throws(Malformed) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw Malformed() }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func skipNumber() throws(Malformed) {
        if try peek() == UInt8(ascii: "-") { index += 1 }
        let first = try peek()
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            try digits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            try digits()
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            try digits()
        }
    }

    /// One or more decimal digits.
    private mutating func digits() throws(Malformed) {
        guard index < bytes.count, isDigit(bytes[index]) else { throw Malformed() }
        index += 1
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    private mutating func literal(_ text: StaticString) throws(Malformed) {
        guard bytes.count - index >= text.utf8CodeUnitCount, memoryEqual(text, at: index) else {
            throw Malformed()
        }
        index += text.utf8CodeUnitCount
    }

    // MARK: Strings

    /// Scans a string body after its opening quote, up to and including the closing quote,
    /// validating escapes and UTF-8. Returns true when the string is plain ASCII without
    /// escapes (its bytes are its value and compare byte for byte).
    private mutating func scanString() throws(Malformed) -> Bool {
        guard let base = bytes.baseAddress else { throw Malformed() }
        let count = bytes.count
        var position = index
        var plain = true
        while true {
            // Eight bytes at a time while none is `"`, `\`, a control character or non-ASCII.
            while count - position >= 8 {
                let word = UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)
                let quote = word ^ 0x2222_2222_2222_2222
                let backslash = word ^ 0x5C5C_5C5C_5C5C_5C5C
                let special =
                    ((quote &- 0x0101_0101_0101_0101) & ~quote)
                    | ((backslash &- 0x0101_0101_0101_0101) & ~backslash)
                    | ((word &- 0x2020_2020_2020_2020) & ~word) | word
                guard special & 0x8080_8080_8080_8080 == 0 else { break }
                position += 8
            }
            while position < count {
                let byte = base[position]
                guard byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20, byte < 0x80 else { break }
                position += 1
            }
            guard position < count else { throw Malformed() }
            let byte = base[position]
            if byte == UInt8(ascii: "\"") {
                index = position + 1
                return plain
            }
            plain = false
            index = position
            if byte == UInt8(ascii: "\\") {
                try scanEscape()
            } else if byte >= 0x80 {
                try scanMultibyte(byte)
            } else {
                throw Malformed()
            }
            position = index
        }
    }

    /// One escape sequence at `index` (the backslash).
    private mutating func scanEscape() throws(Malformed) {
        index += 1
        guard index < bytes.count else { throw Malformed() }
        switch bytes[index] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 1
        case UInt8(ascii: "u"):
            index += 1
            let unit = try hex4()
            if unit & 0xFC00 == 0xD800 {
                guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                else { throw Malformed() }
                index += 2
                guard try hex4() & 0xFC00 == 0xDC00 else { throw Malformed() }
            } else if unit & 0xFC00 == 0xDC00 {
                throw Malformed()
            }
        default:
            throw Malformed()
        }
    }

    /// One well-formed UTF-8 sequence of 2–4 bytes (no overlongs, surrogates or > U+10FFFF).
    private mutating func scanMultibyte(_ lead: UInt8) throws(Malformed) {
        let count: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: count = 1
        case 0xE0:
            count = 2
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 2
        case 0xED:
            count = 2
            high = 0x9F
        case 0xF0:
            count = 3
            low = 0x90
        case 0xF1...0xF3: count = 3
        case 0xF4:
            count = 3
            high = 0x8F
        default: throw Malformed()
        }
        guard bytes.count - index > count else { throw Malformed() }
        let second = bytes[index + 1]
        guard second >= low, second <= high else { throw Malformed() }
        for offset in stride(from: 2, through: count, by: 1) where bytes[index + offset] & 0xC0 != 0x80 {
            throw Malformed()
        }
        index += count + 1
    }

    private mutating func hex4() throws(Malformed) -> UInt32 {
        guard bytes.count - index >= 4 else { throw Malformed() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Malformed()
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// The value of a string already validated by `scanString` (`start..<end` excludes quotes).
    private mutating func makeString(start: Int, end: Int, plain: Bool) throws(Malformed) -> String {
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if plain || !raw.contains(UInt8(ascii: "\\")) {
            return String(decoding: raw, as: UTF8.self)
        }
        scratch.removeAll(keepingCapacity: true)
        var position = start
        while position < end {
            let byte = bytes[position]
            guard byte == UInt8(ascii: "\\") else {
                scratch.append(byte)
                position += 1
                continue
            }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hexValue(at: position)
                position += 4
                if scalar & 0xFC00 == 0xD800 {
                    let low = hexValue(at: position + 2)
                    position += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw Malformed() }
                scratch.append(contentsOf: unicode.utf8)
            default: scratch.append(escape)  // `"`, `\`, `/`
            }
        }
        return scratch.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
    }

    /// Four hex digits already validated by `scanString`.
    private func hexValue(at position: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = bytes[position + offset] | 0x20
            value = value << 4 | UInt32(byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : byte - 0x57)
        }
        return value
    }

    // MARK: Bytes

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private func peek() throws(Malformed) -> UInt8 {
        guard index < bytes.count else { throw Malformed() }
        return bytes[index]
    }

    private mutating func expect(_ byte: UInt8) throws(Malformed) {
        guard index < bytes.count, bytes[index] == byte else { throw Malformed() }
        index += 1
    }
}
