import PolarisAPI
import Testing

@testable import Warden

/// Configs written on one line (`jq -c`, deployment tools): they load like the same config
/// indented, and positions near the end of a long line are exact. Correctness only; the time
/// to load them is measured by `make bench-config` (bench/config-load).
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
}
