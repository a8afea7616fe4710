import Foundation
import PolarisAPI
import Testing

@testable import Warden

/// Files this suite reads, located from this source file so tests run from any directory.
enum ConfigTestFiles {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let repository = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
    static let example = repository.appendingPathComponent("config/example.json")
    static let exampleHA = repository.appendingPathComponent("config/example-ha.json")
    static let schema = repository.appendingPathComponent("config/polaris-warden.schema.json")
    static let badConfigs = testsDirectory.appendingPathComponent("Fixtures/bad-configs")
}

/// One bad config: `NAME.json` and its sidecar `NAME.expect`, which lists
/// `error: PATH | FRAGMENT` (or `error: LINE:COLUMN | FRAGMENT` for a syntax error),
/// `absent: TEXT` (a secret that must not appear in the error), `count: N` (exact number of
/// problems) and `schema: invalid | unparseable | not expressible …` (what the JSON Schema can
/// say about it).
struct BadConfigCase: Sendable, CustomTestStringConvertible {
    enum SchemaExpectation: Sendable, Equatable {
        /// The schema rejects it too.
        case invalid
        /// Not JSON: no schema validator can read it.
        case unparseable
        /// A rule the schema cannot state (cross-references, uniqueness, comparisons): the
        /// schema accepts the file, and only the loader rejects it.
        case notExpressible(String)
    }

    var name: String
    var path: String
    var errors: [(location: String, fragment: String)] = []
    var absent: [String] = []
    var count: Int?
    var schema = SchemaExpectation.invalid

    var testDescription: String { name }

    static let all: [BadConfigCase] = {
        let directory = ConfigTestFiles.badConfigs.path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { file in
            let name = String(file.dropLast(".json".count))
            var testCase = BadConfigCase(name: name, path: "\(directory)/\(file)")
            let expect = (try? String(contentsOfFile: "\(directory)/\(name).expect", encoding: .utf8)) ?? ""
            for line in expect.split(separator: "\n") where !line.hasPrefix("#") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let key = line[..<colon]
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                switch key {
                case "error":
                    let parts = value.components(separatedBy: " | ")
                    testCase.errors.append((parts[0], parts.dropFirst().joined(separator: " | ")))
                case "absent": testCase.absent.append(value)
                case "count": testCase.count = Int(value)
                case "schema":
                    testCase.schema =
                        switch value {
                        case "invalid": .invalid
                        case "unparseable": .unparseable
                        default: .notExpressible(value)
                        }
                default: break
                }
            }
            return testCase
        }
    }()
}

@Suite("Config loader")
struct ConfigLoaderTests {
    /// A valid config with nothing optional set.
    static let minimal = """
        {
          "polaris": {
            "url": "https://example.us-east-1.aws.api.imply.io",
            "projectId": "3f1f0a0e-8c5c-4b9e-9d6b-2b7c1a6e4d10",
            "auth": { "type": "apiKey", "credential": "polaris-api-key" }
          },
          "jobs": []
        }
        """

    /// `minimal` with `polaris` or `jobs` members replaced.
    static func config(polaris: String? = nil, extra: String = "", jobs: String = "[]") -> String {
        let polarisSection =
            polaris ?? """
                { "url": "https://example.us-east-1.aws.api.imply.io",
                  "projectId": "3f1f0a0e-8c5c-4b9e-9d6b-2b7c1a6e4d10",
                  "auth": { "type": "apiKey", "credential": "polaris-api-key" } }
                """
        return "{ \"polaris\": \(polarisSection), \(extra) \"jobs\": \(jobs) }"
    }

    // MARK: The example

    @Test func exampleLoadsWithExpectedValues() throws {
        let config = try ConfigLoader.load(path: ConfigTestFiles.example.path)

        #expect(config.polaris.url == "https://example.us-east-1.aws.api.imply.io")
        #expect(config.polaris.projectId == "3f1f0a0e-8c5c-4b9e-9d6b-2b7c1a6e4d10")
        #expect(config.polaris.auth == .apiKey(.credential("polaris-api-key")))
        #expect(config.polaris.requestTimeoutSeconds == 10)
        #expect(config.polaris.maxRequestsPerSecond == 10)
        // The example spells out every default (and turns stall detection on with its defaults).
        var defaults = SupervisorSettings()
        defaults.stall = SupervisorSettings.Stall()
        #expect(config.supervisor == defaults)
        let orders = try #require(config.job(named: "orders"))
        #expect(orders.priority == 10)
        #expect(orders.stall == .custom(afterSeconds: 600, action: .replace))
        #expect(orders.stallSettings(config.supervisor)?.afterSeconds == 600)
        #expect(orders.stallSettings(config.supervisor)?.metricsShare == 0.2)
        #expect(config.job(named: "wikipedia-kinesis")?.stallSettings(config.supervisor)?.action == .report)
        // ...and the metrics endpoint, on loopback.
        #expect(config.metrics == MetricsSettings(address: MetricsAddress(host: "127.0.0.1", port: 9464)))

        #expect(
            config.connections.map(\.name) == [
                "stream-wiki", "orders-kinesis", "clickstream-kinesis", "payments-kafka",
            ])
        let wiki = try #require(config.connection(named: "stream-wiki"))
        #expect(wiki.managed)
        #expect(wiki.type == "kinesis")
        #expect(
            wiki.fields == [
                "type": .string("kinesis"), "name": .string("stream-wiki"), "stream": .string("demo-stream"),
                "awsEndpoint": .string("kinesis.us-east-1.amazonaws.com"),
                "awsAssumedRoleArn": .string("arn:aws:iam::012345678901:role/demo-role"),
            ])
        let payments = try #require(config.connection(named: "payments-kafka"))
        #expect(!payments.managed)
        #expect(payments.fields["managed"] == nil)

        #expect(config.jobs.map(\.name) == ["wikipedia-kinesis", "orders", "clickstream", "payments"])
        #expect(config.jobs.map(\.table) == ["wikipedia-kinesis", "orders", "clickstream", "payments"])
        #expect(
            config.jobs.map(\.connectionName) == [
                "stream-wiki", "orders-kinesis", "clickstream-kinesis", "payments-kafka",
            ])

        // The design's job, passed through unchanged.
        let designSpec = """
            { "type": "streaming", "source": { "type": "connection", "connectionName": "stream-wiki",
                "formatSettings": { "format": "nd-json" },
                "inputSchema": [ { "name": "timestamp", "dataType": "string" } ] },
              "target": { "type": "table", "tableName": "wikipedia-kinesis" },
              "mappings": [ { "columnName": "__time", "expression": "TIME_PARSE(\\"timestamp\\")" } ],
              "createTableIfNotExists": true, "useSchemaDiscovery": true }
            """
        let expected = try JSONDecoder().decode(JobSpec.self, from: Data(designSpec.utf8))
        #expect(config.job(named: "wikipedia-kinesis")?.spec == expected)
        let clickstream = try #require(config.job(named: "clickstream"))
        #expect(clickstream.spec.fields["source"]?["formatSettings"]?["format"] == .string("kinesis"))
    }

    /// Jobs made from one template share what their specs have in common once loaded (a
    /// 10,000-job config kept 10,000 copies; BENCHMARKS.md), and each spec is still its own.
    @Test func jobsFromOneTemplateShareTheirCommonParts() throws {
        let spec =
            #"{"type": "streaming", "source": {"type": "connection", "connectionName": "kinesis-clickstream-prod", "#
            + #""formatSettings": {"format": "nd-json"}}, "target": {"type": "table", "tableName": "TABLE"}}"#
        let jobs = ["a", "b"].map {
            #"{"name": "\#($0)", "spec": "# + spec.replacingOccurrences(of: "TABLE", with: $0) + "}"
        }
        let text = Self.config(
            extra: #""connections": [{"name": "kinesis-clickstream-prod", "managed": false}],"#,
            jobs: "[" + jobs.joined(separator: ",") + "]")
        let config = try ConfigLoader.parse(Array(text.utf8), source: "inline")
        let names = config.jobs.map { $0.spec.fields["source"]?["connectionName"]?.stringValue }
        let storage = names.map { $0?.utf8.withContiguousStorageIfAvailable { UInt(bitPattern: $0.baseAddress) } }
        #expect(names == ["kinesis-clickstream-prod", "kinesis-clickstream-prod"])
        #expect(storage[0] != nil && storage[0] == storage[1], "one copy of the shared connection name")
        #expect(config.jobs.map(\.table) == ["a", "b"])
        #expect(config.jobs.map(\.connectionName) == ["kinesis-clickstream-prod", "kinesis-clickstream-prod"])
    }

    @Test func aJobSwitchesStallDetectionOffOrOnForItself() throws {
        let spec =
            #"{"type": "streaming", "source": {"type": "connection", "connectionName": "c"}, "#
            + #""target": {"type": "table", "tableName": "TABLE"}}"#
        let jobs = """
            [{"name": "quiet", "stall": false, "spec": \(spec.replacingOccurrences(of: "TABLE", with: "q"))},
             {"name": "watched", "stall": {"afterSeconds": 120}, "spec": \(spec.replacingOccurrences(of: "TABLE", with: "w"))},
             {"name": "plain", "spec": \(spec.replacingOccurrences(of: "TABLE", with: "p"))}]
            """
        let text = Self.config(extra: #""connections": [{"name": "c", "managed": false}],"#, jobs: jobs)
        let config = try ConfigLoader.parse(Array(text.utf8), source: "inline")
        #expect(config.supervisor.stall == nil)
        #expect(config.job(named: "quiet")?.stallSettings(config.supervisor) == nil)
        #expect(config.job(named: "plain")?.stallSettings(config.supervisor) == nil)
        let watched = try #require(config.job(named: "watched")?.stallSettings(config.supervisor))
        #expect(watched.afterSeconds == 120 && watched.action == .report)
    }

    @Test func defaultsApplyWhenSettingsAreAbsent() throws {
        let config = try ConfigLoader.parse(Self.minimal, source: "minimal.json")
        #expect(config.supervisor == SupervisorSettings())
        #expect(config.polaris.requestTimeoutSeconds == 10)
        #expect(config.polaris.maxRequestsPerSecond == 10)
        #expect(config.connections.isEmpty)
        #expect(config.jobs.isEmpty)
        #expect(config.metrics == nil, "no metrics endpoint unless configured")
    }

    @Test func partialSupervisorKeepsOtherDefaults() throws {
        let text = Self.config(
            extra: """
                "supervisor": { "pollIntervalSeconds": 30, "onSpecDrift": "report",
                                "recreate": { "maxAttempts": 2 }, "prune": true },
                """)
        let settings = try ConfigLoader.parse(text, source: "partial.json").supervisor
        var expected = SupervisorSettings()
        expected.pollIntervalSeconds = 30
        expected.onSpecDrift = .report
        expected.recreate.maxAttempts = 2
        expected.prune = true
        #expect(settings == expected)
    }

    // MARK: Accepted variants

    @Test(arguments: [
        ("https://example.us-east-1.aws.api.imply.io/", "https://example.us-east-1.aws.api.imply.io"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.9.9.9:8080/", "http://127.9.9.9:8080"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
    ])
    func acceptedURLs(given: String, stored: String) throws {
        let polaris = """
            { "url": "\(given)", "projectId": "3f1f0a0e-8c5c-4b9e-9d6b-2b7c1a6e4d10",
              "auth": { "type": "apiKey", "env": "POLARIS_API_KEY" } }
            """
        let config = try ConfigLoader.parse(Self.config(polaris: polaris), source: "url.json")
        #expect(config.polaris.url == stored)
        #expect(config.polaris.auth == .apiKey(.env("POLARIS_API_KEY")))
    }

    @Test(arguments: ["http://128.0.0.1", "http://127.0.0.1.example.com", "http://localhost.example.com", "https://"])
    func rejectedURLs(url: String) {
        let polaris = """
            { "url": "\(url)", "projectId": "3f1f0a0e-8c5c-4b9e-9d6b-2b7c1a6e4d10",
              "auth": { "type": "apiKey", "credential": "k" } }
            """
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(Self.config(polaris: polaris), source: "u.json") }
    }

    @Test func oauthAndFileSources() throws {
        let oauth = """
            { "url": "https://example.us-east-1.aws.api.imply.io", "projectId": "3f1f0a0e-8c5c-4b9e-9d6b-2b7c1a6e4d10",
              "auth": { "type": "oauth", "clientId": "warden",
                        "tokenUrl": "https://id.imply.io/auth/realms/example/protocol/openid-connect/token",
                        "clientSecretFile": "/etc/polaris-warden/client-secret" } }
            """
        let config = try ConfigLoader.parse(Self.config(polaris: oauth), source: "oauth.json")
        #expect(
            config.polaris.auth
                == .oauth(
                    clientId: "warden", secret: .file("/etc/polaris-warden/client-secret"),
                    tokenURL: "https://id.imply.io/auth/realms/example/protocol/openid-connect/token"))
    }

    @Test func specIsPassedThroughUnchanged() throws {
        let jobs = """
            [ { "name": "orders", "spec": { "type": "streaming",
                "source": { "type": "connection", "connectionName": "ext" },
                "target": { "type": "table", "tableName": "orders" },
                "maxParseExceptions": 2147483647, "futurePolarisField": { "a": [1, 2.5, null] } } } ]
            """
        let config = try ConfigLoader.parse(
            Self.config(extra: "\"connections\": [ { \"name\": \"ext\", \"managed\": false } ],", jobs: jobs),
            source: "spec.json")
        let spec = try #require(config.jobs.first?.spec)
        #expect(spec.fields["maxParseExceptions"] == .int(2_147_483_647))
        #expect(spec.fields["futurePolarisField"] == .object(["a": .array([.int(1), .double(2.5), .null])]))
        #expect(
            config.connections == [
                DesiredConnection(name: "ext", managed: false, type: nil, fields: ["name": .string("ext")])
            ])
    }

    // MARK: Metrics

    @Test(arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464, true),
        ("localhost:9100", "localhost", 9100, true),
        ("[::1]:9464", "::1", 9464, true),
        ("0.0.0.0:9464", "0.0.0.0", 9464, false),
        ("[::]:65535", "::", 65535, false),
        ("metrics.internal.example:1", "metrics.internal.example", 1, false),
    ])
    func acceptedMetricsAddresses(text: String, host: String, port: Int, loopback: Bool) throws {
        let config = try ConfigLoader.parse(
            Self.config(extra: "\"metrics\": { \"address\": \"\(text)\" },"), source: "metrics.json")
        let address = try #require(config.metrics?.address)
        #expect(address == MetricsAddress(host: host, port: port))
        #expect(address.isLoopback == loopback)
        #expect(address.description == text)
    }

    @Test(arguments: [
        ("9464", "needs a port"), ("127.0.0.1", "needs a port"), (":9464", "needs a host"),
        ("127.0.0.1:0", "port from 1 to 65535"), ("127.0.0.1:65536", "port from 1 to 65535"),
        ("127.0.0.1:94x4", "port from 1 to 65535"), ("::1:9464", "IPv6 address in brackets"),
        ("[::1:9464", "unclosed"), ("http://127.0.0.1:9464", "without a scheme"), ("", "must not be empty"),
    ])
    func rejectedMetricsAddresses(text: String, fragment: String) {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(
                Self.config(extra: "\"metrics\": { \"address\": \"\(text)\" },"), source: "metrics.json")
        }
        #expect(error?.problems.map(\.path) == ["metrics.address"])
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
    }

    @Test func metricsSectionMustBeAnObjectWithAnAddress() {
        let notObject = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(Self.config(extra: "\"metrics\": \"127.0.0.1:9464\","), source: "m.json")
        }
        #expect(notObject?.description == "m.json: metrics: expected an object, found a string")
        let empty = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(Self.config(extra: "\"metrics\": {},"), source: "m.json")
        }
        #expect(empty?.description == "m.json: metrics.address: required key is missing")
        let typo = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(Self.config(extra: "\"metric\": {},"), source: "m.json")
        }
        #expect(typo?.description == "m.json: metric: unknown key; did you mean metrics?")
    }

    // MARK: Rejected configs

    @Test func corpusHasAtLeastThirtyCases() {
        #expect(BadConfigCase.all.count >= 30)
        for testCase in BadConfigCase.all {
            #expect(!testCase.errors.isEmpty || !testCase.absent.isEmpty, "\(testCase.name).expect says nothing")
        }
    }

    @Test(arguments: BadConfigCase.all)
    func badConfigIsRejected(_ testCase: BadConfigCase) {
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.load(path: testCase.path) }
        guard let error else { return }
        let lines = error.description.split(separator: "\n").map(String.init)
        #expect(lines.count == error.problems.count)
        for (location, fragment) in testCase.errors {
            let isPosition = location.range(of: #"^\d+:\d+$"#, options: .regularExpression) != nil
            let prefix = isPosition ? "\(testCase.path):\(location): " : "\(testCase.path): \(location): "
            #expect(
                lines.contains { $0.hasPrefix(prefix) && $0.contains(fragment) },
                "expected \"\(prefix)…\(fragment)…\" in:\n\(error.description)")
        }
        for secret in testCase.absent {
            #expect(!error.description.contains(secret), "the error shows a secret:\n\(error.description)")
        }
        if let count = testCase.count {
            #expect(error.problems.count == count, "\(error.description)")
        }
    }

    @Test func severalProblemsAreReportedAtOnceInDocumentOrder() throws {
        let testCase = try #require(BadConfigCase.all.first { $0.name == "several-problems" })
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.load(path: testCase.path) }
        #expect(error?.problems.map(\.path) == testCase.errors.map(\.location))
        // Semantic problems also carry the position of their key.
        let table = try #require(error?.problems.last)
        #expect(table.line != nil && table.column != nil)
    }

    @Test func configErrorExitCodeIsEXConfig() {
        #expect(ConfigError.exitCode == 78)
    }

    @Test func unreadableFileNamesTheFile() {
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.load(path: "/nonexistent/polaris-warden/config.json")
        }
        #expect(
            error?.description
                == "/nonexistent/polaris-warden/config.json: cannot open the config file: No such file or directory")
    }

    @Test func aDirectoryOrAnOversizedFileIsRefusedWithThePath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let notAFile = #expect(throws: ConfigError.self) { try ConfigLoader.load(path: directory.path) }
        #expect(notAFile?.description == "\(directory.path): cannot read the config file: it is a directory")
        let big = directory.appendingPathComponent("config.json")
        try Data(count: ConfigLoader.maximumSize + 1).write(to: big)
        let tooLarge = #expect(throws: ConfigError.self) { try ConfigLoader.load(path: big.path) }
        #expect(tooLarge?.description == "\(big.path): the config file is larger than 16 MiB; is it the right file?")
    }

    // MARK: Syntax errors

    @Test(arguments: [
        ("{\n  \"jobs\": [1, 2,]\n}", 2, 17, "trailing comma"),
        ("{\r\n  \"polaris\": {\r\n    \"url\": x\r\n  }\r\n}", 3, 12, "expected a value"),
        ("{ \"naïve\": \"日本\", \"x\": tru }", 1, 23, "invalid literal"),
        ("{\n\t\"a\": 01\n}", 2, 8, "leading zeros"),
        ("{\"a\": \"\\q\"}", 1, 8, "invalid escape"),
        ("{\"a\": 1", 1, 8, "unexpected end of file"),
        ("{\"a\" 1}", 1, 6, "expected ':'"),
        ("", 1, 1, "empty"),
    ])
    func malformedJSONReportsLineAndColumn(text: String, line: Int, column: Int, fragment: String) {
        let error = #expect(throws: ConfigError.self) { try ConfigLoader.parse(text, source: "bad.json") }
        #expect(error?.problems.count == 1)
        #expect(error?.problems.first?.line == line)
        #expect(error?.problems.first?.column == column)
        #expect(error?.description.hasPrefix("bad.json:\(line):\(column): ") == true, "\(String(describing: error))")
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
    }

    @Test func lineTableCountsScalarsNotBytes() {
        let table = LineTable(Array("ab\nçd\n\n😀x".utf8))
        #expect(table.location(0) == SourceLocation(offset: 0, line: 1, column: 1))
        #expect(table.location(3) == SourceLocation(offset: 3, line: 2, column: 1))
        #expect(table.location(5) == SourceLocation(offset: 5, line: 2, column: 2))
        #expect(table.location(7) == SourceLocation(offset: 7, line: 3, column: 1))
        #expect(table.location(12) == SourceLocation(offset: 12, line: 4, column: 2))
    }

    // MARK: Secrets

    @Test(arguments: [
        (#"{"type": "apiKey", "apiKey": "pok_0123456789abcdef"}"#, "pok_0123456789abcdef"),
        (#"{"type": "apiKey", "credential": "k", "secret": "not-a-pok-but-secret"}"#, "not-a-pok-but-secret"),
        (#"{"type": "apiKey", "credential": "k", "token": {"value": "nested-secret-1"}}"#, "nested-secret-1"),
        (#"{"type": "apiKey", "env": "pok_looks_like_a_key"}"#, "pok_looks_like_a_key"),
        (
            #"{"type": "oauth", "clientId": "pok_client", "tokenUrl": "https://id.imply.io/t", "clientSecret": "s"}"#,
            "pok_client"
        ),
        (#"{"type": "apiKey", "file": "/etc/k", "Password": "CaseDoesNotMatter"}"#, "CaseDoesNotMatter"),
    ])
    func inlineSecretsAreRejectedWithoutEchoingThem(auth: String, secret: String) {
        let polaris = """
            { "url": "https://example.us-east-1.aws.api.imply.io",
              "projectId": "3f1f0a0e-8c5c-4b9e-9d6b-2b7c1a6e4d10", "auth": \(auth) }
            """
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(Self.config(polaris: polaris), source: "secret.json")
        }
        guard let error else { return }
        #expect(!error.description.contains(secret), "\(error.description)")
        #expect(error.description.contains("credential") || error.description.contains("Credential"))
        for problem in error.problems {
            #expect(!problem.path.contains(secret) && !problem.message.contains(secret))
        }
    }

    // MARK: Suggestions

    @Test func typoSuggestions() {
        #expect(
            ConfigValidator.closest(to: "pollIntervalSecond", among: ConfigValidator.supervisorKeys)
                == "pollIntervalSeconds")
        #expect(ConfigValidator.closest(to: "onCancelled", among: ConfigValidator.supervisorKeys) == "onCanceled")
        #expect(ConfigValidator.closest(to: "spce", among: ConfigValidator.jobKeys) == "spec")
        #expect(ConfigValidator.closest(to: "colour", among: ConfigValidator.supervisorKeys) == nil)
        #expect(ConfigValidator.closest(to: "b", among: ["a"]) == nil)
    }
}

// MARK: - Schema and loader agree

@Suite("Config schema")
struct ConfigSchemaTests {
    /// Validates every instance against the schema in one python3 run; returns, per instance
    /// path, the schema's error messages (empty: valid), or nil when an instance is not JSON.
    static func validate(_ instances: [String]) throws -> [String: [String]?] {
        let script = """
            import json, sys
            import jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            validator = jsonschema.Draft202012Validator(schema)
            result = {}
            for path in sys.argv[2:]:
                try:
                    instance = json.load(open(path))
                except ValueError:
                    result[path] = None
                    continue
                result[path] = ["/".join(map(str, e.absolute_path)) + ": " + e.message[:200]
                                for e in validator.iter_errors(instance)]
            print(json.dumps(result))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-", ConfigTestFiles.schema.path] + instances
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SchemaCheckFailure(message: "python3 exited with \(process.terminationStatus): \(stderr)")
        }
        return try JSONDecoder().decode([String: [String]?].self, from: data)
    }

    struct SchemaCheckFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Why the schema cannot be checked here, or nil when python3 and jsonschema are present.
    static func missingValidator() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import jsonschema"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            return "python3 is not installed (\(error))"
        }
        if process.terminationStatus == 127 { return "python3 is not installed" }
        if process.terminationStatus != 0 {
            return "python3's jsonschema module is missing (apt install python3-jsonschema)"
        }
        return nil
    }

    @Test func schemaAndLoaderAgree() throws {
        if let reason = Self.missingValidator() {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("cannot check config/polaris-warden.schema.json: \(reason)")
                return
            }
            try Test.cancel("skipped: \(reason); CI=true makes this a failure")
        }
        let cases = BadConfigCase.all
        let examples = [ConfigTestFiles.example.path, ConfigTestFiles.exampleHA.path]
        let results = try Self.validate(examples + cases.map(\.path))

        for path in examples {
            let example = results[path] ?? nil
            #expect(example == [], "the schema rejects \(path): \(String(describing: example))")
        }

        for testCase in cases {
            let schemaErrors = results[testCase.path] ?? nil
            switch testCase.schema {
            case .invalid:
                #expect(schemaErrors?.isEmpty == false, "the schema accepts \(testCase.name).json, the loader does not")
            case .unparseable:
                #expect(schemaErrors == nil, "\(testCase.name).json is marked unparseable, but python reads it")
            case .notExpressible:
                // Honest marking: the schema really cannot see this problem.
                #expect(
                    schemaErrors == [], "\(testCase.name).json is marked not expressible, but the schema rejects it")
            }
        }
    }
}
