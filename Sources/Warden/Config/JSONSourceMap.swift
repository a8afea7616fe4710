import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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

/// A JSON document checked by a strict RFC 8259 scanner: its value, and where every key and
/// array element starts, by config path.
///
/// `JSONDecoder` says only "The given data was not valid JSON" on Linux (no position), accepts
/// trailing commas, and silently keeps one of two duplicate keys. A config must say where it is
/// wrong, must not depend on a lenient parser, and must not let a repeated key hide a setting,
/// so the loader scans the bytes itself. The positions also order the problems as they appear
/// in the file.
///
/// One pass reads the syntax and builds the value, in time linear in the size of the file
/// whatever its line structure. Positions are needed only for problems: the map of paths to
/// positions is built by a second pass, on the first lookup (or at once when a key is repeated).
struct JSONSourceMap: Sendable {
    /// The document, as `JSONDecoder` decodes it into a `JSONValue` (the first of two duplicate
    /// keys wins; numbers as in `JSONValue.init(from:)`). Nil when the syntax is valid but
    /// `JSONDecoder` would reject it: invalid UTF-8 in a string, an unpaired surrogate escape,
    /// a number out of range.
    let value: JSONValue?
    /// Keys repeated in one object: the path, its first and its repeated position.
    private(set) var duplicateKeys: [(path: String, first: SourceLocation, repeated: SourceLocation)] = []

    private let bytes: [UInt8]
    private var locationsByPath: [String: SourceLocation]?

    /// Scans `bytes`; throws the first syntax error with its line and column.
    static func scan(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONSourceMap {
        var scanner = Scanner(bytes: bytes, recordsPaths: false)
        let document = try scanner.scanDocument()
        // Not `nil`: JSONValue is ExpressibleByNilLiteral, so a bare nil here would be `.null`.
        let value: JSONValue? = scanner.isRepresentable ? .some(document) : .none
        var map = JSONSourceMap(value: value, bytes: bytes)
        if scanner.hasDuplicateKeys { map.recordPaths() }
        return map
    }

    private init(value: JSONValue?, bytes: [UInt8]) {
        self.value = value
        self.bytes = bytes
    }

    /// Path → where its key (for an object member) or value (for an array element or the
    /// document) starts. The first occurrence wins for a duplicate key.
    var locations: [String: SourceLocation] {
        mutating get {
            if locationsByPath == nil { recordPaths() }
            return locationsByPath ?? [:]
        }
    }

    mutating func location(of path: String) -> SourceLocation? {
        locations[path]
    }

    /// The second pass: the same scanner, recording every path's position.
    private mutating func recordPaths() {
        var scanner = Scanner(bytes: bytes, recordsPaths: true)
        // The first pass accepted the syntax, so this pass cannot throw.
        _ = try? scanner.scanDocument()
        locationsByPath = scanner.locations
        duplicateKeys = scanner.duplicateKeys
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

/// The strict scanner. Builds the document's value as it goes; with `recordsPaths`, also the
/// position of every path and the repeated keys (the second pass, for problems only).
private struct Scanner {
    static let maximumDepth = 256

    let bytes: [UInt8]
    let recordsPaths: Bool
    var index = 0
    /// False once a string or number is found that `JSONDecoder` would reject.
    var isRepresentable = true
    var hasDuplicateKeys = false
    var locations: [String: SourceLocation] = [:]
    var duplicateKeys: [(path: String, first: SourceLocation, repeated: SourceLocation)] = []
    /// Built on first use: only errors and the second pass need positions.
    private var lineTable: LineTable?

    init(bytes: [UInt8], recordsPaths: Bool) {
        self.bytes = bytes
        self.recordsPaths = recordsPaths
        if recordsPaths { lineTable = LineTable(bytes) }
    }

    mutating func scanDocument() throws(JSONSyntaxError) -> JSONValue {
        // A UTF-8 byte order mark, as some Windows editors write.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        skipWhitespace()
        guard index < bytes.count else { throw failure("the file is empty; expected a JSON object") }
        if recordsPaths { locations[""] = location(index) }
        let value = try scanValue(path: "", depth: 0)
        skipWhitespace()
        if index < bytes.count {
            throw failure("unexpected \(describe(bytes[index])) after the end of the JSON document")
        }
        return value
    }

    private mutating func location(_ offset: Int) -> SourceLocation {
        if let lineTable { return lineTable.location(offset) }
        let table = LineTable(bytes)
        lineTable = table
        return table.location(offset)
    }

    private mutating func scanValue(path: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < Self.maximumDepth else {
            throw failure("nesting deeper than \(Self.maximumDepth) levels")
        }
        guard index < bytes.count else { throw failure("unexpected end of file; expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try scanObject(path: path, depth: depth)
        case UInt8(ascii: "["): return try scanArray(path: path, depth: depth)
        case UInt8(ascii: "\""): return .string(try scanString())
        case UInt8(ascii: "t"):
            try scanLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try scanLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try scanLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try scanNumber()
        case UInt8(ascii: "'"): throw failure("strings must be in double quotes (\"), not single quotes")
        case UInt8(ascii: "/"): throw failure("comments are not allowed in JSON")
        case UInt8(ascii: "T"), UInt8(ascii: "F"), UInt8(ascii: "N"):
            throw failure("invalid literal; JSON literals are true, false and null, in lower case")
        case let byte: throw failure("unexpected \(describe(byte)); expected a value")
        }
    }

    private mutating func scanObject(path: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
        index += 1  // {
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return .object([:]) }
        var members: [String: JSONValue] = [:]
        var seen: [String: SourceLocation] = [:]
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of file inside an object; expected a key") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                if bytes[index] == UInt8(ascii: "}") { throw failure("trailing comma before '}'") }
                if bytes[index] == UInt8(ascii: "/") { throw failure("comments are not allowed in JSON") }
                throw failure("unexpected \(describe(bytes[index])); expected a key in double quotes")
            }
            let keyOffset = index
            let key = try scanString()
            var memberPath = ""
            if recordsPaths {
                let keyLocation = location(keyOffset)
                memberPath = ConfigPath.member(path, key)
                if let first = seen[key] {
                    duplicateKeys.append((memberPath, first, keyLocation))
                } else {
                    seen[key] = keyLocation
                    if locations[memberPath] == nil { locations[memberPath] = keyLocation }
                }
            }
            skipWhitespace()
            guard consume(UInt8(ascii: ":")) else { throw failure(expecting: "':' after the key") }
            skipWhitespace()
            // The first of two duplicate keys wins, as in JSONDecoder, which never decodes the
            // repeated key's value: what it holds cannot make the document unrepresentable.
            let isRepeated = members[key] != nil
            let wasRepresentable = isRepresentable
            let value = try scanValue(path: memberPath, depth: depth + 1)
            if isRepeated {
                hasDuplicateKeys = true
                isRepresentable = wasRepresentable
            } else {
                members[key] = value
            }
            skipWhitespace()
            if consume(UInt8(ascii: "}")) { return .object(members) }
            guard consume(UInt8(ascii: ",")) else { throw failure(expecting: "',' or '}' after an object member") }
        }
    }

    private mutating func scanArray(path: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
        index += 1  // [
        skipWhitespace()
        if consume(UInt8(ascii: "]")) { return .array([]) }
        var elements: [JSONValue] = []
        while true {
            skipWhitespace()
            if peek(UInt8(ascii: "]")) { throw failure("trailing comma before ']'") }
            var elementPath = ""
            if recordsPaths {
                elementPath = ConfigPath.element(path, elements.count)
                if index < bytes.count, locations[elementPath] == nil {
                    locations[elementPath] = location(index)
                }
            }
            elements.append(try scanValue(path: elementPath, depth: depth + 1))
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { return .array(elements) }
            guard consume(UInt8(ascii: ",")) else { throw failure(expecting: "',' or ']' after an array element") }
        }
    }

    /// Scans a string starting at its opening quote; returns its decoded value.
    private mutating func scanString() throws(JSONSyntaxError) -> String {
        let start = index
        index += 1  // "
        // Most strings have no escape: their bytes are the value.
        let contentStart = index
        var isASCII = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                let content = contentStart..<index - 1
                // ASCII is valid UTF-8: no validation pass.
                if isASCII {
                    return bytes.withUnsafeBufferPointer {
                        String(decoding: UnsafeBufferPointer(rebasing: $0[content]), as: UTF8.self)
                    }
                }
                return decode(bytes[content])
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            if byte >= 0x80 { isASCII = false }
            index += 1
        }
        var utf8 = Array(bytes[contentStart..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return decode(utf8[...])
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): utf8.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): utf8.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "/"): utf8.append(UInt8(ascii: "/"))
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "r"): utf8.append(UInt8(ascii: "\r"))
                case UInt8(ascii: "t"): utf8.append(UInt8(ascii: "\t"))
                case UInt8(ascii: "u"): utf8.append(contentsOf: UTF8.encode(try scanUnicodeEscape())!)
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
                utf8.append(byte)
                index += 1
            }
        }
        index = start
        throw failure("unterminated string (no closing \")")
    }

    /// The string of UTF-8 `bytes`; invalid UTF-8 (which JSONDecoder rejects) is repaired and
    /// makes the document unrepresentable.
    private mutating func decode(_ utf8: ArraySlice<UInt8>) -> String {
        if let text = String(validating: utf8, as: UTF8.self) { return text }
        isRepresentable = false
        return String(decoding: utf8, as: UTF8.self)
    }

    /// After `\u`: four hex digits, and a low surrogate escape after a high one. An unpaired
    /// surrogate (which JSONDecoder rejects) becomes U+FFFD and makes the document
    /// unrepresentable.
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
        guard let scalar = Unicode.Scalar(high) else {
            isRepresentable = false
            return "\u{FFFD}"
        }
        return scalar
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

    private mutating func scanNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = index
        var isInteger = true
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw failure(expecting: "a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw failure("numbers must not have leading zeros") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: ".")) {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw failure(expecting: "a digit after the decimal point")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw failure(expecting: "a digit in the exponent")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        guard let value = JSONNumber.value(bytes[start..<index], isInteger: isInteger) else {
            isRepresentable = false
            return .null
        }
        return value
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

    /// Moves past `byte` when it is next; whether it was.
    private mutating func consume(_ byte: UInt8) -> Bool {
        guard peek(byte) else { return false }
        index += 1
        return true
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

    private mutating func failure(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message: message, location: location(index))
    }

    private mutating func failure(expecting what: String) -> JSONSyntaxError {
        if index >= bytes.count { return failure("unexpected end of file; expected \(what)") }
        return failure("unexpected \(describe(bytes[index])); expected \(what)")
    }
}

/// JSON numbers as `JSONValue.init(from:)` decodes them with `JSONDecoder` (swift-foundation):
/// it tries `Int64` first, then `Double`.
enum JSONNumber {
    /// The value of a number literal the scanner accepted; nil when JSONDecoder rejects it
    /// (out of the range of a Double).
    static func value(_ literal: ArraySlice<UInt8>, isInteger: Bool) -> JSONValue? {
        // A plain integer that fits is read exactly.
        if isInteger, let integer = int64(literal) { return .int(integer) }
        if !isInteger, let double = Double(String(decoding: literal, as: UTF8.self)), double.isFinite {
            // JSONDecoder's Int64 reads a number with a fraction or exponent through a Double,
            // exactly when it is whole and below 2^53 in magnitude (then through Decimal: left
            // to JSONDecoder itself); otherwise Double reads it when finite.
            if let integer = Int64(exactly: double) {
                if double.magnitude < 0x1p53 { return .int(integer) }
            } else {
                return .double(double)
            }
        }
        // The rare rest (integers beyond Int64, whole numbers ≥ 2^53 written with a fraction
        // or exponent, overflow): JSONDecoder itself, on this number alone.
        var document: [UInt8] = [UInt8(ascii: "[")]
        document.append(contentsOf: literal)
        document.append(UInt8(ascii: "]"))
        return (try? JSONDecoder().decode([JSONValue].self, from: Data(document)))?.first
    }

    /// Digits with an optional minus sign, when the value fits in an Int64.
    private static func int64(_ literal: ArraySlice<UInt8>) -> Int64? {
        var digits = literal[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        var value: Int64 = 0
        for byte in digits {
            let digit = Int64(byte &- UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = next
        }
        return value
    }
}
