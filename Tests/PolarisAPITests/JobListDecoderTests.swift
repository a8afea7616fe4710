import AsyncHTTPClient
import Foundation
import NIOCore
import PolarisEmulator
import Testing

@testable import PolarisAPI

/// `JobListDecoder` (the single-scan `GET /jobs` page decoder) gives exactly what the
/// `JSONDecoder` path gives, and returns nil (so the client falls back) on anything else.
@Suite struct JobListDecoderTests {
    /// Decodes `body` both ways; the fast decoder must succeed and agree.
    static func expectSame(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reference = try JSONDecoder().decode(JobList.self, from: Data(body.utf8))
        let fast = JobListDecoder.decode(Array(body.utf8))
        #expect(fast == reference, "\(body)", sourceLocation: sourceLocation)
        // `PolarisTimestamp ==` ignores the text; the text must match too.
        let texts = { (list: JobList?) in
            list?.values.map {
                [
                    $0.createdTimestamp, $0.lastUpdatedTimestamp, $0.startedTimestamp,
                    $0.completedTimestamp, $0.health.log?.timestamp,
                ].map { $0?.text }
            }
        }
        #expect(texts(fast) == texts(reference), sourceLocation: sourceLocation)
    }

    /// Both must agree that `body` is no page: the fast decoder returns nil, JSONDecoder throws.
    static func expectRejected(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(JobListDecoder.decode(Array(body.utf8)) == nil, "\(body)", sourceLocation: sourceLocation)
    }

    static func page(_ items: String..., more: String = #","moreResultsAvailable":false"#) -> String {
        #"{"values":["# + items.joined(separator: ",") + "]" + more + "}"
    }

    static let minimal = #"{"id":"a","type":"streaming","executionStatus":"running"}"#

    // MARK: Documented bodies

    @Test func seedJobSummaryList() throws {
        try Self.expectSame(Self.page(ModelDecodingTests.seedJobResponse, ModelDecodingTests.seedJobResponse))
        let list = JobListDecoder.decode(Array(Self.page(ModelDecodingTests.seedJobResponse).utf8))
        #expect(list?.values.first?.targetTable == "wikipedia-kinesis")
        #expect(list?.values.first?.connectionName == "stream-wiki")
        #expect(list?.values.first?.createdTimestamp?.nanoseconds == 142_369_067)
        #expect(list?.values.first?.spec == nil)
        #expect(list?.values.first?.otherFields == [:])
    }

    /// A summary as the live service sends it for a job that has not started yet (the common
    /// members of the docs' sample response, docs/polaris/api-reference.md §0.1): `startedTimestamp` and
    /// `completedTimestamp` `null`, `target.intervals: []`. Both decoders read it alike.
    @Test func liveSummaryWithNullTimestamps() throws {
        let user = #"{"username":"api-key-pok_vipgj...bjjvyo","userId":"a52cacf6-3ddc-48e5-8675-xxxxxxxxxxxx"}"#
        let summary =
            #"{"createdBy":\#(user),"createdTimestamp":"2023-09-12T23:17:39.142369067Z","desiredExecutionStatus":"running","executionStatus":"pending","health":{"status":"ok"},"id":"018a8baf-a6c6-721f-b35a-284ffc8dce90","lastModifiedBy":\#(user),"lastUpdatedTimestamp":"2023-09-12T23:17:39.142369067Z","source":{"connectionName":"stream-wiki","type":"connection"},"target":{"tableName":"wikipedia-kinesis","type":"table","intervals":[]},"type":"streaming","completedTimestamp":null,"startedTimestamp":null}"#
        try Self.expectSame(Self.page(summary, summary))
        let job = try #require(JobListDecoder.decode(Array(Self.page(summary).utf8))?.values.first)
        #expect(job.startedTimestamp == nil && job.completedTimestamp == nil)
        #expect(job.createdTimestamp?.nanoseconds == 142_369_067)
        #expect(job.executionStatus == .pending && job.desiredExecutionStatus == .running)
        #expect(job.targetTable == "wikipedia-kinesis" && job.connectionName == "stream-wiki")
        // A started job's timestamp still reads after a null one on the same page.
        let started = summary.replacingOccurrences(
            of: #""startedTimestamp":null"#, with: #""startedTimestamp":"2023-09-12T23:17:45Z""#)
        let page = try #require(JobListDecoder.decode(Array(Self.page(summary, started).utf8)))
        #expect(page.values.map { $0.startedTimestamp?.text } == [nil, "2023-09-12T23:17:45Z"])
    }

    @Test func documentedUnknownStatusBody() throws {
        try Self.expectSame(
            #"{"values":[{"id":"a","type":"streaming","executionStatus":"hibernating","health":{"status":"ok"}}],"moreResultsAvailable":false}"#
        )
    }

    @Test func emptyListAndMoreResults() throws {
        try Self.expectSame(#"{"values":[],"moreResultsAvailable":false}"#)
        try Self.expectSame(#"{"values":[]}"#)
        try Self.expectSame(#"{"moreResultsAvailable":true,"values":[]}"#)
        try Self.expectSame(#"{"values":[],"moreResultsAvailable":null}"#)
        try Self.expectSame(Self.page(Self.minimal, more: #","moreResultsAvailable":true"#))
        try Self.expectSame(Self.page(Self.minimal, more: ""))
        #expect(JobListDecoder.decode(Array(Self.page(Self.minimal, more: "").utf8))?.moreResultsAvailable == false)
    }

    @Test(arguments: ExecutionStatus.documented.map(\.rawValue) + ["hibernating", "", "RUNNING", "r\\u00fcnning"])
    func everyExecutionStatus(_ raw: String) throws {
        try Self.expectSame(Self.page(#"{"id":"a","type":"streaming","executionStatus":"\#(raw)"}"#))
    }

    @Test(arguments: DesiredExecutionStatus.allCases.map { "\"\($0.rawValue)\"" } + ["null"])
    func desiredExecutionStatus(_ raw: String) throws {
        try Self.expectSame(
            Self.page(#"{"id":"a","type":"s","executionStatus":"running","desiredExecutionStatus":\#(raw)}"#))
    }

    @Test(arguments: [
        #"{"status":"ok"}"#,
        #"{"status":"warn","code":"lost_connection_to_source","log":{"timestamp":"2024-05-01T12:00:00Z","healthStatus":"warn","code":"lost_connection_to_source","message":"m"}}"#,
        #"{"status":"warning","code":"no_rows_found"}"#,
        #"{"status":"error","code":"could_not_connect_to_source","message":"AccessDenied"}"#,
        #"{"status":"error","code":"internal_error","message":"boom","log":{"timestamp":"2024-05-01T12:00:00.1Z","healthStatus":"error","code":"internal_error","message":"boom"}}"#,
        #"{"status":"degraded","log":{}}"#,
        #"{"status":"warn","code":null,"message":null,"log":null}"#,
        #"{"status":"warn","log":{"timestamp":null,"healthStatus":null,"code":null,"message":null,"extra":[1]}}"#,
        #"{"log":{"timestamp":"2024-05-01T12:00:00+02:00"},"status":"error","x":{"status":"ok"}}"#,
        "null",
    ])
    func health(_ health: String) throws {
        try Self.expectSame(Self.page(#"{"id":"a","type":"s","executionStatus":"running","health":\#(health)}"#))
    }

    @Test func nullAndMissingOptionalMembers() throws {
        let nulls = [
            "desiredExecutionStatus", "health", "createdBy", "lastModifiedBy", "createdTimestamp",
            "lastUpdatedTimestamp", "startedTimestamp", "completedTimestamp", "target", "source",
        ].map { #""\#($0)":null"# }.joined(separator: ",")
        try Self.expectSame(Self.page(#"{"id":"a","type":"s","executionStatus":"idle",\#(nulls)}"#))
        try Self.expectSame(Self.page(Self.minimal))
        try Self.expectSame(
            Self.page(
                #"{"id":"a","type":"s","executionStatus":"idle","createdBy":{},"lastModifiedBy":{"username":null,"userId":"u"},"target":{},"source":{"type":null,"connectionName":"c"}}"#
            ))
        try Self.expectSame(
            Self.page(
                #"{"id":"a","type":"s","executionStatus":"idle","target":{"tableName":"t"},"source":{"type":"connection"}}"#
            ))
    }

    @Test func unknownMembersOfEveryTypeNestedDeeply() throws {
        let deep =
            String(repeating: #"{"a":[["#, count: 20) + #"1,-0.5e-3,"\"}]\\",true,false,null,{}"#
            + String(repeating: "]]}", count: 20)
        let extras =
            #""n":0,"f":-12.5E+10,"t":true,"F":false,"z":null,"s":"x\"}","a":[],"o":{},"deep":\#(deep),"spec":{"type":"streaming","target":{"tableName":"nope"}}"#
        try Self.expectSame(
            #"{"x":\#(deep),"values":[{\#(extras),"id":"a","type":"s","executionStatus":"running","health":{\#(extras),"status":"ok","log":{\#(extras)}},"createdBy":{\#(extras),"username":"u"},"target":{\#(extras),"tableName":"t"},"source":{\#(extras)}}],"y":[1,{"values":[]}],"moreResultsAvailable":true}"#
        )
    }

    @Test func escapesAndUnicode() throws {
        let nasty = #"q\"b\\s\/\b\f\n\r\t\u0000\u001f\u00e9\u20AC\ud83d\ude00é€😀 ·"#
        try Self.expectSame(
            Self.page(
                #"{"id":"\#(nasty)","type":"\#(nasty)","executionStatus":"\#(nasty)","health":{"status":"\#(nasty)","code":"\#(nasty)","message":"\#(nasty)"},"createdBy":{"username":"\#(nasty)","userId":"\#(nasty)"},"target":{"type":"\#(nasty)","tableName":"\#(nasty)"},"source":{"connectionName":"\#(nasty)"},"\#(nasty)":"\#(nasty)"}"#
            ))
        let list = JobListDecoder.decode(
            Array(Self.page(#"{"id":"\u0041\ud83d\ude00","type":"s","executionStatus":"x"}"#).utf8))
        #expect(list?.values.first?.id == "A😀")
        // Escaped keys name the same member, as in JSONDecoder's keyed containers.
        try Self.expectSame(
            #"{"\u0076alues":[{"\u0069d":"a","typ\u0065":"s","executionStatus":"running","target":{"table\u004eame":"t"}}]}"#
        )
    }

    @Test func whitespaceVariations() throws {
        let spaced =
            " \n\t{ \r\n\"values\" :\t[ { \"id\" : \"a\" , \"type\":\"s\" ,\n\"executionStatus\" : \"running\""
            + " , \"health\" : { \"status\" : \"ok\" } , \"target\" : { \"tableName\" : \"t\" } } ,\n"
            + "\(Self.minimal) ] , \"moreResultsAvailable\" : true } \n "
        try Self.expectSame(spaced)
        try Self.expectSame(#"{"values":[ ]}"#)
        try Self.expectSame(
            "{\"values\":[{\"id\":\"a\",\"type\":\"s\",\"executionStatus\":\"running\",\"x\":[ ],\"y\":{ }}]}")
    }

    // MARK: Rejections

    @Test(arguments: [
        // Syntax.
        "", " ", "[]", "null", #"{"values":[]"#, #"{"values":[] x"#, #"{"values":[]}}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","x":NaN}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","x":tru}]}"#,
        #"{"values":[{"id":"\udc00","type":"s","executionStatus":"running"}]}"#,
        #"{"values":[{"id":"\u12","type":"s","executionStatus":"running"}]}"#,
        "{\"values\":[{\"id\":\"a\u{01}\",\"type\":\"s\",\"executionStatus\":\"running\"}]}",
        "{\u{0C}\"values\":[]}", #"{"values":[] /* c */}"#,
        // Types.
        #"{"values":null}"#, #"{"values":{}}"#, #"{"values":[1]}"#, #"{"moreResultsAvailable":false}"#,
        #"{"values":[],"moreResultsAvailable":"yes"}"#, #"{"values":[],"moreResultsAvailable":1}"#,
        #"{"values":[{"type":"s","executionStatus":"running"}]}"#,
        #"{"values":[{"id":null,"type":"s","executionStatus":"running"}]}"#,
        #"{"values":[{"id":1,"type":"s","executionStatus":"running"}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":null}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":["running"]}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","desiredExecutionStatus":"paused"}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","health":{}}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","health":"ok"}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","health":{"status":"ok","code":5}}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","createdBy":"me"}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","createdBy":{"userId":7}}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","target":"t"}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","target":{"tableName":true}}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","source":[]}]}"#,
        // Timestamps.
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","createdTimestamp":"yesterday"}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","startedTimestamp":"2024-13-01T00:00:00Z"}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","completedTimestamp":1714564800}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","health":{"status":"ok","log":{"timestamp":"x"}}}]}"#,
    ])
    func rejected(_ body: String) {
        Self.expectRejected(body)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(JobList.self, from: Data(body.utf8)) }
    }

    /// Inputs JSONDecoder may accept but the fast decoder leaves to it: no result may differ.
    @Test(arguments: [
        // JSONDecoder is lenient with members it never decodes (and with trailing commas, a BOM).
        #"{"values":[],}"#, "\u{FEFF}{\"values\":[]}",
        #"{"values":[{"id":"a","type":"s","executionStatus":"running",}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running"},]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","x":01}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","x":1.}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","x":-}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","x":"\q"}]}"#,
        #"{"values":[{"id":"a","type":"s","executionStatus":"running","x":"\ud800"}]}"#,
        #"{"values":[{"id":"a","id":"b","type":"s","executionStatus":"running"}]}"#,
        #"{"values":[],"values":[]}"#,
        "{\"x\":\"\\ud800\",\"values\":[]}",
        String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
    ])
    func leftToTheFallback(_ body: String) {
        let fullBody = body.hasPrefix("[") ? #"{"values":[],"x":\#(body)}"# : body
        Self.expectRejected(fullBody)
    }

    @Test func truncatedBodiesAreRejected() throws {
        let body = Self.page(ModelDecodingTests.seedJobResponse, Self.minimal)
        let bytes = Array(body.utf8)
        try Self.expectSame(body)
        for length in 0..<bytes.count - 1 {
            let prefix = Array(bytes[..<length])
            #expect(JobListDecoder.decode(prefix) == nil, "\(length)")
        }
        // Invalid UTF-8 in a modelled string and in a skipped one.
        for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80]] {
            let modelled =
                Array(#"{"values":[{"id":""#.utf8) + bad + Array(#"","type":"s","executionStatus":"x"}]}"#.utf8)
            #expect(JobListDecoder.decode(modelled) == nil)
            let skipped = Array(#"{"x":""#.utf8) + bad + Array(#"","values":[]}"#.utf8)
            #expect(JobListDecoder.decode(skipped) == nil)
        }
    }

    // MARK: Randomized

    @Test func randomPagesAgreeWithJSONDecoder() throws {
        var generator = PageGenerator(seed: 0x5EED_1234)
        var fastAccepted = 0
        for _ in 0..<500 {
            let body = generator.page()
            let reference = try JSONDecoder().decode(JobList.self, from: Data(body.utf8))
            guard let fast = JobListDecoder.decode(Array(body.utf8)) else {
                Issue.record("fast decoder rejected a valid page: \(body)")
                continue
            }
            fastAccepted += 1
            #expect(fast == reference, "\(body)")
        }
        #expect(fastAccepted == 500)
    }

    // MARK: The emulator's pages

    @Test func emulatorPageOfAThousandSummaries() async throws {
        let key = "pok_decoder_test_key"
        let emulator = PolarisEmulator(configuration: EmulatorConfiguration(apiKey: key))
        _ = try await emulator.start()
        do {
            try await emulator.seed(connection: "seed-connection", jobs: 1000)
            var request = HTTPClientRequest(
                url: emulator.projectURL + "/jobs?type=streaming&paginationLimit=1000&paginationOffset=0")
            request.headers.add(name: "Authorization", value: "Basic " + Data((key + ":").utf8).base64EncodedString())
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            let buffer = try await response.body.collect(upTo: 1 << 26)
            let bytes = Array(buffer.readableBytesView)
            let reference = try JSONDecoder().decode(JobList.self, from: Data(bytes))
            #expect(reference.values.count == 1000)
            let fast = buffer.withUnsafeReadableBytes { JobListDecoder.decode($0) }
            #expect(fast == reference)
            #expect(fast?.values.allSatisfy { $0.targetTable != nil && $0.connectionName == "seed-connection" } == true)
        } catch {
            await emulator.stop()
            throw error
        }
        await emulator.stop()
    }
}

/// Random `GET /jobs` pages: every modelled member randomly present, null or absent, random
/// extra members of every JSON type, random escapes and whitespace, random member order.
private struct PageGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// SplitMix64.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    private mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    private mutating func pick<T>(_ options: [T]) -> T { options[below(options.count)] }

    private mutating func space() -> String { chance(80) ? "" : pick([" ", "\n", "\t", "\r\n", "  "]) }

    /// A JSON string literal with random escapes and non-ASCII characters.
    mutating func string() -> String {
        let pieces = [
            "a", "Z", "seed-table-", "0", "_", " ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
            "\\u0041", "\\u00e9", "\\u20ac", "\\ud83d\\ude00", "\\u0000", "é", "€", "😀", "日本", "\\uFFFF",
        ]
        return "\"" + (0..<below(12)).map { _ in pick(pieces) }.joined() + "\""
    }

    mutating func timestamp() -> String {
        let year = 1970 + below(100)
        let fraction = chance(50) ? "" : "." + String(repeating: "7", count: 1 + below(9))
        let zone = pick(["Z", "z", "+02:00", "-05:30"])
        return "\"\(year)-0\(1 + below(9))-1\(below(9))T1\(below(9)):3\(below(9)):5\(below(9))\(fraction)\(zone)\""
    }

    /// Any JSON value, nested up to `depth`.
    mutating func value(depth: Int) -> String {
        switch below(depth > 0 ? 8 : 6) {
        case 0: return "null"
        case 1: return pick(["true", "false"])
        case 2: return pick(["0", "-0", "12", "-3.25", "1e9", "2.5E-7", "-1E+2", "2147483647", "1.0e400"])
        case 3, 4: return string()
        case 5: return pick(["[]", "{}"])
        case 6:
            return "[" + (0..<below(4)).map { _ in space() + value(depth: depth - 1) + space() }.joined(separator: ",")
                + "]"
        default: return object((0..<below(4)).map { _ in (string(), value(depth: depth - 1)) })
        }
    }

    mutating func object(_ members: [(String, String)]) -> String {
        "{" + space()
            + members.shuffled(using: &self).map { "\($0.0)\(space()):\(space())\($0.1)" }
            .joined(separator: space() + "," + space()) + space() + "}"
    }

    /// `members` plus random extra members; optional members are randomly null or absent.
    private mutating func withExtras(_ members: [(String, String?)]) -> String {
        var result: [(String, String)] = []
        for (key, value) in members {
            if let value {
                result.append(("\"\(key)\"", value))
            } else if chance(50) {
                continue
            } else {
                result.append(("\"\(key)\"", "null"))
            }
        }
        for _ in 0..<below(3) { result.append((string(), value(depth: 3))) }
        return object(result)
    }

    private mutating func optional(_ make: (inout Self) -> String) -> String? {
        chance(60) ? make(&self) : nil
    }

    mutating func job() -> String {
        let statuses = ExecutionStatus.documented.map { "\"\($0.rawValue)\"" } + ["\"hibernating\""]
        let desired = DesiredExecutionStatus.allCases.map { "\"\($0.rawValue)\"" }
        let healthStatuses = ["\"ok\"", "\"warn\"", "\"warning\"", "\"error\"", "\"degraded\""]
        return withExtras([
            ("id", string()), ("type", pick(["\"streaming\"", "\"batch\"", string()])),
            ("executionStatus", pick(statuses)),
            ("desiredExecutionStatus", optional { $0.pick(desired) }),
            (
                "health",
                optional { generator in
                    let log = generator.optional { inner in
                        inner.withExtras([
                            ("timestamp", inner.optional { $0.timestamp() }),
                            ("healthStatus", inner.optional { $0.string() }),
                            ("code", inner.optional { $0.string() }), ("message", inner.optional { $0.string() }),
                        ])
                    }
                    return generator.withExtras([
                        ("status", generator.pick(healthStatuses)), ("code", generator.optional { $0.string() }),
                        ("message", generator.optional { $0.string() }), ("log", log),
                    ])
                }
            ),
            ("createdBy", optional { $0.user() }), ("lastModifiedBy", optional { $0.user() }),
            ("createdTimestamp", optional { $0.timestamp() }), ("lastUpdatedTimestamp", optional { $0.timestamp() }),
            ("startedTimestamp", optional { $0.timestamp() }), ("completedTimestamp", optional { $0.timestamp() }),
            (
                "target",
                optional { generator in
                    generator.withExtras([
                        ("type", generator.optional { $0.string() }),
                        ("tableName", generator.optional { $0.string() }),
                    ])
                }
            ),
            (
                "source",
                optional { generator in
                    generator.withExtras([
                        ("type", generator.optional { $0.string() }),
                        ("connectionName", generator.optional { $0.string() }),
                    ])
                }
            ),
        ])
    }

    private mutating func user() -> String {
        withExtras([("username", optional { $0.string() }), ("userId", optional { $0.string() })])
    }

    mutating func page() -> String {
        let jobs = (0..<1 + below(20)).map { _ in job() }
        let values = "[" + space() + jobs.joined(separator: space() + "," + space()) + space() + "]"
        return space()
            + withExtras([
                ("values", values), ("moreResultsAvailable", optional { $0.pick(["true", "false"]) }),
            ]) + space()
    }
}

extension PageGenerator: RandomNumberGenerator {}
