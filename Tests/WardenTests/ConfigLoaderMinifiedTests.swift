import Foundation
import PolarisAPI
import Testing

@testable import Warden

/// Configs written on one line (`jq -c`, deployment tools): they load like the same config
/// indented, and positions near the end of a long line are exact. Correctness only; the time
/// to load them is measured by `make bench-config` (bench/config_load.py).
@Suite("Config loader, minified configs")
struct ConfigLoaderMinifiedTests {
    /// A valid config with `jobs` jobs, on one line (`indented: false`) or one member per line.
    /// `jobDescription` goes into every job's spec (non-ASCII text moves columns off bytes).
    static func config(jobs: Int, indented: Bool, jobDescription: String = "ingest") -> String {
        let separator = indented ? "\n  " : ""
        let connection =
            #"{"type":"kinesis","name":"seed-connection","stream":"seed-connection","#
            + #""awsEndpoint":"kinesis.us-east-1.amazonaws.com","#
            + #""awsAssumedRoleArn":"arn:aws:iam::123456789012:role/polaris-emulator"}"#
        let jobList = (0..<jobs).map { index in
            #"{"name":"job-\#(index)","priority":\#(index % 7),"spec":{"type":"streaming","#
                + #""description":"\#(jobDescription)","#
                + #""source":{"type":"connection","connectionName":"seed-connection","#
                + #""formatSettings":{"format":"nd-json"}},"target":{"type":"table","tableName":"table-\#(index)"},"#
                + #""createTableIfNotExists":true,"#
                + #""mappings":[{"columnName":"__time","expression":"TIME_PARSE(\"ts\")"}]}}"#
        }
        return "{" + separator
            + #""polaris":{"url":"https://example.us-east-1.aws.api.imply.io","#
            + #""projectId":"3f1f0a0e-8c5c-4b9e-9d6b-2b7c1a6e4d10","#
            + #""auth":{"type":"apiKey","credential":"polaris-api-key"}},"# + separator
            + #""supervisor":{"pollIntervalSeconds":5},"# + separator
            + #""connections":[\#(connection)],"# + separator
            + #""jobs":["# + separator + jobList.joined(separator: "," + separator) + separator + "]"
            + (indented ? "\n" : "") + "}"
    }

    /// 1-based line and column (in Unicode scalars) of the first occurrence of `marker`.
    static func position(of marker: String, in text: String) -> (line: Int, column: Int)? {
        guard let range = text.range(of: marker) else { return nil }
        let before = text[..<range.lowerBound]
        let line = before.utf8.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        let lineStart = before.lastIndex(of: "\n").map { before.index(after: $0) } ?? before.startIndex
        return (line, before[lineStart...].unicodeScalars.count + 1)
    }

    @Test func twoThousandJobsOnOneLineLoadLikeTheSameConfigIndented() throws {
        let minified = Self.config(jobs: 2000, indented: false)
        #expect(!minified.contains("\n"))
        let config = try ConfigLoader.parse(minified, source: "minified.json")
        #expect(config.jobs.count == 2000)
        #expect(config.jobs.first?.name == "job-0")
        #expect(config.jobs.last?.name == "job-1999")
        #expect(config.jobs.last?.table == "table-1999")
        #expect(config.jobs.last?.priority == 1999 % 7)
        #expect(config.connections.map(\.name) == ["seed-connection"])
        let indented = try ConfigLoader.parse(Self.config(jobs: 2000, indented: true), source: "indented.json")
        #expect(config == indented)
    }

    @Test(arguments: ["ingest", "naïve 日本 😀 ingest"])
    func aSyntaxErrorNearTheEndOfALongLineReportsItsColumn(jobDescription: String) {
        // A missing value in the last job's last mapping, ~300 kB into the only line.
        let valid = Self.config(jobs: 2000, indented: false, jobDescription: jobDescription)
        let broken = valid.replacing(#""expression":"TIME_PARSE(\"ts\")"}]}}]}"#, with: #""expression":}]}}]}"#)
        #expect(broken != valid)
        guard let expected = Self.position(of: #"}]}}]}"#, in: broken) else { return }
        #expect(expected.line == 1)
        #expect(expected.column > 250_000)
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse(broken, source: "bad.json") }
        #expect(error?.problems.count == 1)
        #expect(error?.problems.first?.line == expected.line)
        #expect(error?.problems.first?.column == expected.column)
        #expect(
            error?.description == "bad.json:1:\(expected.column): unexpected '}'; expected a value",
            "\(String(describing: error))")
    }

    @Test func aValidationErrorNearTheEndOfALongLineReportsItsPathAndPosition() {
        let valid = Self.config(jobs: 2000, indented: false, jobDescription: "日本 😀")
        let broken = valid.replacing(#""priority":5,"spec""#, with: #""priority":"high","spec""#)
        // Every seventh job from job-5 on: the first is reported first, the last at its own column.
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse(broken, source: "bad.json") }
        guard let error, let last = error.problems.last else { return }
        #expect(error.problems.count == (2000 - 5 + 6) / 7)
        #expect(error.problems.first?.path == "jobs[5].priority")
        #expect(last.path == "jobs[1993].priority")
        #expect(last.message == "expected a whole number, found a string")
        let expected = Self.position(of: #"{"name":"job-1993","priority""#, in: broken)
        #expect(last.line == expected?.line)
        #expect(last.column == expected.map { $0.column + #"{"name":"job-1993","#.count })
    }

    @Test func aDuplicateKeyAtTheEndOfALongLineReportsBothPositions() {
        let valid = Self.config(jobs: 2000, indented: false)
        let broken = valid.replacing(#"{"name":"job-1999","#, with: #"{"name":"job-1999","name":"again","#)
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse(broken, source: "bad.json") }
        let first = Self.position(of: #""name":"job-1999""#, in: broken)
        let repeated = Self.position(of: #""name":"again""#, in: broken)
        #expect(error?.problems.count == 1)
        #expect(error?.problems.first?.path == "jobs[1999].name")
        #expect(error?.problems.first?.line == repeated?.line)
        #expect(error?.problems.first?.column == repeated?.column)
        #expect(
            error?.description.contains("(first at line 1, column \(first?.column ?? 0))") == true,
            "\(String(describing: error))")
    }

    /// The line table against a direct count from the start of the line, at every offset of
    /// text whose multi-byte characters and line breaks fall on and around checkpoint boundaries.
    @Test func lineTableMatchesACountFromTheLineStartAtEveryOffset() {
        var text = ""
        for index in 0..<400 {
            text += ["a", "ç", "日", "😀", "\r\n", "bc", "\n", "\n\n", "xyz😀"][(index * index + 3 * index) % 9]
            if index % 97 == 0 { text += String(repeating: "é", count: LineTable.checkpointStride) }
        }
        for bytes in [Array(text.utf8), [], Array(String(repeating: "x", count: LineTable.checkpointStride).utf8)] {
            let table = LineTable(bytes)
            var mismatches: [Int] = []
            var line = 1
            var lineStart = 0
            for offset in 0...bytes.count + 2 {
                if offset > 0, offset <= bytes.count, bytes[offset - 1] == UInt8(ascii: "\n") {
                    line += 1
                    lineStart = offset
                }
                let end = min(offset, bytes.count)
                let column = 1 + bytes[lineStart..<max(lineStart, end)].count(where: { $0 & 0xC0 != 0x80 })
                if table.location(offset) != SourceLocation(offset: offset, line: line, column: column) {
                    mismatches.append(offset)
                }
            }
            #expect(mismatches.isEmpty, "\(bytes.count) bytes: \(mismatches.prefix(10))")
        }
    }

    // MARK: The scanner's value is JSONDecoder's

    /// `JSONDecoder`'s `JSONValue` for `bytes`, nil when it rejects them (the loader's
    /// reference before the scanner built the value itself).
    static func decoded(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// Equal, with doubles compared bit for bit (`-0.0` is not `0.0`) and `.int` never `.double`.
    static func identical(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case (.double(let x)?, .double(let y)?): return x.bitPattern == y.bitPattern
        case (.array(let x)?, .array(let y)?): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
        case (.object(let x)?, .object(let y)?):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { identical(value, $0) } ?? false }
        default: return a == b
        }
    }

    static let edgeNumbers = [
        "0", "-0", "0.0", "-0.0", "3.0", "1e2", "1E+2", "1.5e1", "1e-2", "0.1", "-7.25", "1e-400", "-1e-400", "1e400",
        "-1e400", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "123456789012345678901234567890", "9007199254740992", "9007199254740993", "9007199254740993.0",
        "9007199254740993.5", "9007199254740992.0", "9007199254740991.0", "-9007199254740993.0", "1e18", "9.3e18",
        "9.223372036854775807e18", "12345678901234567.0", "1.7976931348623157e308", "1.8e308", "2.5e-324",
        "4.9e-324", "100000000000000000000.0", "2147483647", "2147483647.0", "0.30000000000000004",
        "1.0000000000000001",
        "0e0", "-0e-0", "0.000e5", "10e-1", "15e-1",
    ]

    static func randomNumber(_ random: inout SeededRandom) -> String {
        let digits = (0..<Int.random(in: 1...22, using: &random)).map { _ in
            String(Int.random(in: 0...9, using: &random))
        }
        var text = Int.random(in: 0..<4, using: &random) == 0 ? "-" : ""
        text += digits.first == "0" && digits.count > 1 ? "1" + digits.dropFirst().joined() : digits.joined()
        if Bool.random(using: &random) {
            text += "." + (Bool.random(using: &random) ? "0" : String(Int.random(in: 0...999_999, using: &random)))
        }
        if Int.random(in: 0..<3, using: &random) == 0 {
            text +=
                ["e", "E", "e+", "e-"].randomElement(using: &random)! + String(Int.random(in: 0...330, using: &random))
        }
        return text
    }

    @Test func numbersAreReadAsJSONDecoderReadsThem() {
        var random = SeededRandom(seed: 14)
        var mismatches: [String] = []
        for literal in Self.edgeNumbers + (0..<20_000).map({ _ in Self.randomNumber(&random) }) {
            let bytes = Array(literal.utf8)
            let ours = JSONNumber.value(bytes[...], isInteger: !literal.contains(where: { ".eE".contains($0) }))
            let reference = Self.decoded(Array("[\(literal)]".utf8))?.arrayValue?.first
            if !Self.identical(ours, reference) { mismatches.append("\(literal): \(String(describing: ours))") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
    }

    static let edgeDocuments: [[UInt8]] =
        [
            #"{"a": 1, "a": 2}"#, #"{"a": {"b": 1}, "b": [1, {"c": "x", "c": "y"}], "a": "z"}"#,
            #"["\ud800"]"#, #"["\udc00"]"#, #"["\ud800\u0041"]"#, #"["\ud83d\ude00"]"#, #"["\ud800\ud800"]"#,
            #"{"\ud800": 1}"#, #"["\u0000 \/ \b\f\n\r\t \" \\ \u00e9 é 日本 😀"]"#, #"{"e\u0301": 1, "é": 2}"#,
            "\u{FEFF}{\"a\": [true, false, null]}", "[]", "{}", "\"text\"", "17", "-0.0", "[1e400]", "[1e-400]",
        ].map { Array($0.utf8) } + [
            [0x5B, 0x22, 0xFF, 0x22, 0x5D], [0x5B, 0x22, 0xC3, 0x22, 0x5D], [0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D],
            [0x5B, 0x22, 0xC0, 0xAF, 0x22, 0x5D], [0x7B, 0x22, 0xF0, 0x9F, 0x98, 0x22, 0x3A, 0x31, 0x7D],
            [0x5B, 0x22, 0xC3, 0x5C, 0x6E, 0x22, 0x5D],
            [0x5B, 0x22, 0xE2, 0x82, 0x5C, 0x75, 0x30, 0x30, 0x41, 0x43, 0x22, 0x5D],
        ]

    static func randomString(_ random: inout SeededRandom) -> String {
        let pieces = [
            "a", "job", " ", "é", "日本", "😀", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\u0000", "\\ud83d\\ude00",
            "\\ud800", "\\udfff", "\\u12AB", "\\t", "e\u{301}",
        ]
        return (0..<Int.random(in: 0...6, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    static func randomDocument(_ random: inout SeededRandom, depth: Int = 0) -> String {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 8), using: &random) {
        case 0: return ["true", "false", "null"].randomElement(using: &random)!
        case 1, 2: return randomNumber(&random)
        case 3, 4: return "\"\(randomString(&random))\""
        case 5:
            let count = Int.random(in: 0...5, using: &random)
            return "[" + (0..<count).map { _ in randomDocument(&random, depth: depth + 1) }.joined(separator: ",") + "]"
        default:
            let count = Int.random(in: 0...5, using: &random)
            let members = (0..<count).map { _ in
                // Few distinct keys, so objects repeat keys.
                let key =
                    Bool.random(using: &random)
                    ? ["a", "b", "é", "e\u{301}"].randomElement(using: &random)! : randomString(&random)
                return "\"\(key)\": \(randomDocument(&random, depth: depth + 1))"
            }
            return "{" + members.joined(separator: ", ") + "}"
        }
    }

    @Test func documentsAreReadAsJSONDecoderReadsThem() throws {
        var random = SeededRandom(seed: 2026)
        var documents = Self.edgeDocuments
        documents.append(Array(try String(contentsOf: ConfigTestFiles.example, encoding: .utf8).utf8))
        for testCase in BadConfigCase.all {
            documents.append(Array(try String(contentsOfFile: testCase.path, encoding: .utf8).utf8))
        }
        documents += (0..<3000).map { _ in Array(Self.randomDocument(&random).utf8) }
        var compared = 0
        var mismatches: [String] = []
        for bytes in documents {
            // Syntax errors are the scanner's alone; JSONDecoder accepts some of them.
            guard let map = try? JSONSourceMap.scan(bytes) else { continue }
            compared += 1
            if !Self.identical(map.value, Self.decoded(bytes)) {
                mismatches.append(String(decoding: bytes.prefix(200), as: UTF8.self))
            }
        }
        #expect(compared > 2000)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }
}
