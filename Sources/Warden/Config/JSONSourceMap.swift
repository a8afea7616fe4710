/// Builds config paths (`jobs[2].spec.target.tableName`) the same way for the scanner and the
/// validator, so a problem's path finds its position in the file.
enum ConfigPath {
    static func member(_ base: String, _ key: String) -> String {
        if isPlain(key) { return base.isEmpty ? key : "\(base).\(key)" }
        var escaped = ""
        for character in key.unicodeScalars {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case _ where character.value < 0x20: escaped += "\\u{\(String(character.value, radix: 16))}"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return "\(base)[\"\(escaped)\"]"
    }

    static func element(_ base: String, _ index: Int) -> String {
        "\(base)[\(index)]"
    }

    /// Keys that read unambiguously after a dot: letters, digits, `_`, `-`, `$`.
    private static func isPlain(_ key: String) -> Bool {
        !key.isEmpty
            && key.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
                    UInt8(ascii: "$"):
                    true
                default: false
                }
            }
    }
}

/// A position in a JSON document.
struct SourceLocation: Hashable, Sendable {
    /// Byte offset from the start.
    var offset: Int
    /// 1-based.
    var line: Int
    /// 1-based, in Unicode scalars.
    var column: Int
}

/// The first syntax error of a document.
struct JSONSyntaxError: Error, Sendable {
    var message: String
    var location: SourceLocation
}

/// Where every key and array element of a JSON document starts, by config path, found by a
/// strict RFC 8259 scanner.
///
/// `JSONDecoder` says only "The given data was not valid JSON" on Linux (no position), accepts
/// trailing commas, and silently keeps one of two duplicate keys. A config must say where it is
/// wrong, must not depend on a lenient parser, and must not let a repeated key hide a setting,
/// so the loader scans the bytes itself first. The positions also order the problems as they
/// appear in the file.
struct JSONSourceMap: Sendable {
    /// Path → where its key (for an object member) or value (for an array element or the
    /// document) starts. The first occurrence wins for a duplicate key.
    var locations: [String: SourceLocation] = [:]
    /// Keys repeated in one object: the path, its first and its repeated position.
    var duplicateKeys: [(path: String, first: SourceLocation, repeated: SourceLocation)] = []

    /// Scans `bytes`; throws the first syntax error with its line and column.
    static func scan(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONSourceMap {
        var scanner = Scanner(bytes: bytes)
        try scanner.scanDocument()
        return scanner.map
    }

    func location(of path: String) -> SourceLocation? {
        locations[path]
    }
}

/// Line and column of byte offsets, computed from the line starts (lines end at `\n`; a `\r`
/// before it counts as a column of the line it ends, which no message points at).
///
/// A lookup costs O(log lines + `checkpointStride`) whatever the line structure: columns come
/// from running counts of Unicode scalars kept every `checkpointStride` bytes, not from a walk
/// from the start of the line, which made a minified (one-line) config quadratic to scan.
struct LineTable: Sendable {
    /// Bytes between two running scalar counts.
    static let checkpointStride = 64

    private let bytes: [UInt8]
    private let lineStarts: [Int]
    /// `scalarCheckpoints[k]`: the Unicode scalars in `bytes[0 ..< k * checkpointStride]`, for
    /// every `k * checkpointStride ≤ bytes.count`.
    private let scalarCheckpoints: [Int]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        let stride = Self.checkpointStride
        var starts = [0]
        var checkpoints: [Int] = []
        checkpoints.reserveCapacity(bytes.count / stride + 1)
        var scalars = 0
        bytes.withUnsafeBufferPointer { buffer in
            for (index, byte) in buffer.enumerated() {
                if index % stride == 0 { checkpoints.append(scalars) }
                if byte & 0xC0 != 0x80 { scalars += 1 }
                if byte == UInt8(ascii: "\n") { starts.append(index + 1) }
            }
        }
        if bytes.count % stride == 0 { checkpoints.append(scalars) }
        lineStarts = starts
        scalarCheckpoints = checkpoints
    }

    func location(_ offset: Int) -> SourceLocation {
        // The last line start at or before `offset`.
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        let start = lineStarts[low]
        let end = min(offset, bytes.count)
        // Columns count Unicode scalars: every byte that is not a UTF-8 continuation byte.
        var column = 1
        if start < end { column += scalars(before: end) - scalars(before: start) }
        return SourceLocation(offset: offset, line: low + 1, column: column)
    }

    /// The Unicode scalars in `bytes[0 ..< offset]`, for `0 ≤ offset ≤ bytes.count`.
    private func scalars(before offset: Int) -> Int {
        let checkpoint = offset / Self.checkpointStride
        var count = scalarCheckpoints[checkpoint]
        for byte in bytes[checkpoint * Self.checkpointStride..<offset] where byte & 0xC0 != 0x80 { count += 1 }
        return count
    }
}

private struct Scanner {
    static let maximumDepth = 256

    let bytes: [UInt8]
    let lines: LineTable
    var index = 0
    var map = JSONSourceMap()

    init(bytes: [UInt8]) {
        self.bytes = bytes
        lines = LineTable(bytes)
    }

    mutating func scanDocument() throws(JSONSyntaxError) {
        // A UTF-8 byte order mark, as some Windows editors write.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        skipWhitespace()
        guard index < bytes.count else { throw failure("the file is empty; expected a JSON object") }
        map.locations[""] = lines.location(index)
        try scanValue(path: "", depth: 0)
        skipWhitespace()
        if index < bytes.count {
            throw failure("unexpected \(describe(bytes[index])) after the end of the JSON document")
        }
    }

    private mutating func scanValue(path: String, depth: Int) throws(JSONSyntaxError) {
        guard depth < Self.maximumDepth else {
            throw failure("nesting deeper than \(Self.maximumDepth) levels")
        }
        guard index < bytes.count else { throw failure("unexpected end of file; expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try scanObject(path: path, depth: depth)
        case UInt8(ascii: "["): try scanArray(path: path, depth: depth)
        case UInt8(ascii: "\""): _ = try scanString()
        case UInt8(ascii: "t"): try scanLiteral("true")
        case UInt8(ascii: "f"): try scanLiteral("false")
        case UInt8(ascii: "n"): try scanLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try scanNumber()
        case UInt8(ascii: "'"): throw failure("strings must be in double quotes (\"), not single quotes")
        case UInt8(ascii: "/"): throw failure("comments are not allowed in JSON")
        case UInt8(ascii: "T"), UInt8(ascii: "F"), UInt8(ascii: "N"):
            throw failure("invalid literal; JSON literals are true, false and null, in lower case")
        case let byte: throw failure("unexpected \(describe(byte)); expected a value")
        }
    }

    private mutating func scanObject(path: String, depth: Int) throws(JSONSyntaxError) {
        index += 1  // {
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            index += 1
            return
        }
        var seen: [String: SourceLocation] = [:]
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of file inside an object; expected a key") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                if bytes[index] == UInt8(ascii: "}") { throw failure("trailing comma before '}'") }
                if bytes[index] == UInt8(ascii: "/") { throw failure("comments are not allowed in JSON") }
                throw failure("unexpected \(describe(bytes[index])); expected a key in double quotes")
            }
            let keyLocation = lines.location(index)
            let key = try scanString()
            let memberPath = ConfigPath.member(path, key)
            if let first = seen[key] {
                map.duplicateKeys.append((memberPath, first, keyLocation))
            } else {
                seen[key] = keyLocation
                if map.locations[memberPath] == nil { map.locations[memberPath] = keyLocation }
            }
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw failure(expecting: "':' after the key") }
            index += 1
            skipWhitespace()
            try scanValue(path: memberPath, depth: depth + 1)
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
            } else if peek(UInt8(ascii: "}")) {
                index += 1
                return
            } else {
                throw failure(expecting: "',' or '}' after an object member")
            }
        }
    }

    private mutating func scanArray(path: String, depth: Int) throws(JSONSyntaxError) {
        index += 1  // [
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            index += 1
            return
        }
        var count = 0
        while true {
            skipWhitespace()
            if peek(UInt8(ascii: "]")) { throw failure("trailing comma before ']'") }
            let elementPath = ConfigPath.element(path, count)
            if index < bytes.count, map.locations[elementPath] == nil {
                map.locations[elementPath] = lines.location(index)
            }
            try scanValue(path: elementPath, depth: depth + 1)
            count += 1
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
            } else if peek(UInt8(ascii: "]")) {
                index += 1
                return
            } else {
                throw failure(expecting: "',' or ']' after an array element")
            }
        }
    }

    /// Scans a string starting at its opening quote; returns its decoded value (needed for keys).
    private mutating func scanString() throws(JSONSyntaxError) -> String {
        let start = index
        index += 1  // "
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flush() {
            if !raw.isEmpty {
                scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
                raw.removeAll(keepingCapacity: true)
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                flush()
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"): scalars.append(try scanUnicodeEscape())
                default:
                    index -= 2
                    throw failure(
                        "invalid escape sequence in a string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
                }
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                throw failure("line break inside a string: is the closing \" missing? (write \\n for a line break)")
            case 0x00..<0x20:
                throw failure("control character (\(describe(byte))) in a string; write it as an escape such as \\n")
            default:
                raw.append(byte)
                index += 1
            }
        }
        index = start
        throw failure("unterminated string (no closing \")")
    }

    /// After `\u`: four hex digits, and a low surrogate escape after a high one.
    private mutating func scanUnicodeEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        let high = try scanHex4()
        if (0xD800..<0xDC00).contains(high), bytes.count >= index + 6,
            bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
        {
            let save = index
            index += 2
            let low = try scanHex4()
            if (0xDC00..<0xE000).contains(low) {
                let value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                return Unicode.Scalar(value) ?? "\u{FFFD}"
            }
            index = save
        }
        return Unicode.Scalar(high) ?? "\u{FFFD}"
    }

    private mutating func scanHex4() throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count, let digit = hexValue(bytes[index]) else {
                throw failure("\\u must be followed by four hexadecimal digits")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func scanNumber() throws(JSONSyntaxError) {
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw failure(expecting: "a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw failure("numbers must not have leading zeros") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: ".")) {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw failure(expecting: "a digit after the decimal point")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw failure(expecting: "a digit in the exponent")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
    }

    private mutating func scanLiteral(_ literal: String) throws(JSONSyntaxError) {
        let start = index
        for byte in literal.utf8 {
            guard index < bytes.count, bytes[index] == byte else {
                index = start
                throw failure(
                    "invalid literal; expected \(literal) (JSON literals are true, false and null, in lower case)")
            }
            index += 1
        }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return
            }
        }
    }

    private func peek(_ byte: UInt8) -> Bool {
        index < bytes.count && bytes[index] == byte
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// A byte for a message: the character when printable ASCII, else its code. Never more
    /// than one character, so a syntax error cannot echo a secret.
    private func describe(_ byte: UInt8) -> String {
        if (0x21...0x7E).contains(byte) { return "'\(Character(Unicode.Scalar(byte)))'" }
        switch byte {
        case UInt8(ascii: " "): return "space"
        case UInt8(ascii: "\n"): return "line break"
        case UInt8(ascii: "\t"): return "tab"
        default: return "byte 0x\(String(byte, radix: 16, uppercase: true))"
        }
    }

    private func failure(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message: message, location: lines.location(index))
    }

    private func failure(expecting what: String) -> JSONSyntaxError {
        if index >= bytes.count { return failure("unexpected end of file; expected \(what)") }
        return failure("unexpected \(describe(bytes[index])); expected \(what)")
    }
}
