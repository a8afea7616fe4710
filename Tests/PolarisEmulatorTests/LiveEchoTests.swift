import Foundation
import NIOHTTP1
import PolarisAPI
import Testing

@testable import PolarisEmulator

/// The emulator answers like the live service: the docs' sample request gets the docs' sample
/// response (`Fixtures/LiveSample.swift`), member for member, so it can never drift back to
/// echoing the request; a spec copied back from a live response is accepted; the enums the
/// OpenAPI document gives are enforced.
@Suite("Live-service echo")
struct LiveEchoTests {
    // MARK: Path-by-path comparison

    /// Members whose values are the service's own (ids, users, times): only their JSON type
    /// must match the sample's.
    static let ownValues: Set<String> = [
        "id", "createdBy.username", "createdBy.userId", "lastModifiedBy.username", "lastModifiedBy.userId",
        "createdTimestamp", "lastUpdatedTimestamp",
    ]

    /// Every difference between the sample and `actual`: a member missing or extra at any path,
    /// a different JSON type, a non-`null` where the sample has `null`, and a different value
    /// anywhere except `ownValues`.
    static func differences(sample: JSONValue, actual: JSONValue, path: String = "") -> [String] {
        let here = path.isEmpty ? "(root)" : path
        switch (sample, actual) {
        case (.object(let expected), .object(let got)):
            var found: [String] = []
            for key in Set(expected.keys).union(got.keys).sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                switch (expected[key], got[key]) {
                case (let want?, let have?): found += differences(sample: want, actual: have, path: child)
                case (.some, nil): found.append("\(child): missing (the sample has it)")
                case (nil, .some): found.append("\(child): extra (the sample has no such member)")
                case (nil, nil): break
                }
            }
            return found
        case (.array(let expected), .array(let got)):
            guard expected.count == got.count else {
                return ["\(here): \(got.count) elements, the sample has \(expected.count)"]
            }
            return zip(expected, got).enumerated().flatMap { index, pair in
                differences(sample: pair.0, actual: pair.1, path: "\(path)[\(index)]")
            }
        default:
            guard sample.typeName == actual.typeName else {
                return ["\(here): \(actual.typeName), the sample has \(sample.typeName)"]
            }
            if ownValues.contains(path) || sample == actual { return [] }
            return ["\(here): \(JSONWriter.string(actual)), the sample has \(JSONWriter.string(sample))"]
        }
    }

    @Test func theComparisonCatchesEachKindOfDifference() {
        let sample = json(#"{"a":{"b":null,"c":[1,2]},"id":"x","s":"v"}"#)
        #expect(Self.differences(sample: sample, actual: sample).isEmpty)
        #expect(Self.differences(sample: sample, actual: json(#"{"a":{"b":null,"c":[1,2]},"id":"y","s":"v"}"#)).isEmpty)
        #expect(
            Self.differences(sample: sample, actual: json(#"{"a":{"c":[1,2]},"id":"x","s":"v"}"#)) == [
                "a.b: missing (the sample has it)"
            ])
        #expect(
            Self.differences(sample: sample, actual: json(#"{"a":{"b":null,"c":[1,2],"d":0},"id":"x","s":"v"}"#)) == [
                "a.d: extra (the sample has no such member)"
            ])
        #expect(
            Self.differences(sample: sample, actual: json(#"{"a":{"b":"x","c":[1,2]},"id":"x","s":"v"}"#)) == [
                "a.b: a string, the sample has null"
            ])
        #expect(
            Self.differences(sample: sample, actual: json(#"{"a":{"b":null,"c":[1]},"id":"x","s":"v"}"#)) == [
                "a.c: 1 elements, the sample has 2"
            ])
        #expect(
            Self.differences(sample: sample, actual: json(#"{"a":{"b":null,"c":[1,3]},"id":"x","s":"w"}"#)) == [
                "a.c[1]: 3, the sample has 2", #"s: "w", the sample has "v""#,
            ])
        #expect(
            Self.differences(sample: sample, actual: json(#"{"a":{"b":null,"c":[1,2]},"id":7,"s":"v"}"#)) == [
                "id: a number, the sample has a string"
            ])
    }

    // MARK: The sample exchange

    @Test func theSampleRequestGetsTheSampleResponseOnCreateAndGet() async throws {
        // A start delay long enough that the job is still `pending`, as in the sample.
        try await EmulatorHarness.with(EmulatorHarness.configuration(startDelay: .seconds(3600))) { harness in
            let connection = try await harness.send(.POST, "connections", json: json(LiveSample.connectionRequest))
            #expect(connection.status == 201, "\(connection.text)")
            let sample = json(LiveSample.jobResponse)
            #expect(sample["executionStatus"] == "pending")

            let created = try await harness.send(.POST, "jobs", json: json(LiveSample.jobRequest))
            #expect(created.status == 201, "\(created.text)")
            let createDifferences = Self.differences(sample: sample, actual: created.json)
            #expect(createDifferences.isEmpty, "POST /jobs: \(createDifferences.joined(separator: "; "))")

            let id = try #require(created.json["id"]?.stringValue)
            let fetched = try await harness.send(.GET, "jobs/\(id)")
            #expect(fetched.status == 200)
            let getDifferences = Self.differences(sample: sample, actual: fetched.json)
            #expect(getDifferences.isEmpty, "GET /jobs/{id}: \(getDifferences.joined(separator: "; "))")

            // The client library reads the echo; unset timestamps are nil, not errors.
            let job = try fetched.decode(Job.self)
            #expect(job.startedTimestamp == nil && job.completedTimestamp == nil)
            #expect(job.executionStatus == .pending)
            // What the in-process API reports is what the wire says.
            let model = await harness.emulator.job(id: id)
            #expect(model?.spec == job.spec)
            #expect(model?.otherFields == job.otherFields)
        }
    }

    @Test func theEchoIsNotTheRequest() async throws {
        // Guards the guard: the request itself (what the emulator used to echo) is not the sample.
        let request = json(LiveSample.jobRequest)
        let sample = json(LiveSample.jobResponse)
        let differences = Self.differences(sample: sample["spec"]!, actual: request)
        for member in [
            "source.formatSettings.flattenSpec", "mappings[0].isAggregation", "dimensionExclusions", "filterExpression",
            "target.intervals", "replaceRunning", "desiredExecutionStatus", "readFromPoint", "maxParseExceptions",
            "lateMessageRejectionPeriod", "earlyMessageRejectionPeriod",
        ] {
            #expect(differences.contains("\(member): missing (the sample has it)"), "\(member)")
        }
    }

    @Test func timestampsAndDesiredStatusFollowTheJob() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.send(.POST, "connections", json: json(LiveSample.connectionRequest))
            let created = try await harness.send(.POST, "jobs", json: json(LiveSample.jobRequest))
            let id = try #require(created.json["id"]?.stringValue)
            // Start delay 0: running at once, so startedTimestamp is a timestamp now.
            #expect(created.json["startedTimestamp"]?.stringValue != nil)
            #expect(created.json["completedTimestamp"] == .null)
            try await harness.send(
                .POST, "jobs/\(id)/status", json: json(#"{"desiredExecutionStatus":"suspended"}"#))
            let suspended = try await harness.send(.GET, "jobs/\(id)").json
            #expect(suspended["desiredExecutionStatus"] == "suspended")
            #expect(suspended["spec"]?["desiredExecutionStatus"] == "suspended")
        }
    }

    @Test func whatTheServiceFillsInForOtherRequests() async throws {
        try await EmulatorHarness.with { harness in
            let job = try await harness.createStreamingJob(extra: [
                "replaceRunning": true, "filterExpression": "\"amount\" >= 0", "readFromPoint": "earliest",
                "dimensionExclusions": ["x"], "clusteringColumns": ["a"], "desiredExecutionStatus": "suspended",
                "mappings": json(
                    #"[{"columnName":"__time","expression":"\"ts\"","isAggregation":false},{"columnName":"n","expression":"\"n\""}]"#
                ),
                "source": json(
                    #"{"type":"connection","connectionName":"orders-kinesis","formatSettings":{"format":"kinesis","valueFormat":{"format":"nd-json"}}}"#
                ),
            ])
            let spec = try #require(job.spec?.fields)
            #expect(spec["replaceRunning"] == true)  // what the request sent
            #expect(spec["filterExpression"] == "\"amount\" >= 0")
            #expect(spec["readFromPoint"] == "earliest")
            #expect(spec["dimensionExclusions"] == ["x"])
            #expect(spec["desiredExecutionStatus"] == "running")  // ignored on create
            let mappings = try #require(spec["mappings"]?.arrayValue)
            #expect(mappings.map { $0["isAggregation"] } == [.bool(false), .null])
            // No flattenSpec for a format whose settings have none.
            #expect(spec["source"]?["formatSettings"]?.objectValue?.keys.sorted() == ["format", "valueFormat"])
            #expect(spec["clusteringColumns"] == ["a"])
            #expect(job.otherFields["clusteringColumns"] == nil)  // not repeated at the top level
            #expect(job.otherFields["useSchemaDiscovery"] == nil)  // the request did not set it
            #expect(job.target == json(#"{"type":"table","tableName":"orders","intervals":[]}"#))
        }
    }

    // MARK: A spec copied back from a live response

    @Test(arguments: ["spec", "the spec with a different table"])
    func aSpecCopiedBackFromALiveResponseIsAccepted(_ variant: String) async throws {
        try await EmulatorHarness.with { harness in
            try await harness.send(.POST, "connections", json: json(LiveSample.connectionRequest))
            var spec = try #require(json(LiveSample.jobResponse)["spec"]?.objectValue)
            if variant != "spec" { spec["target"] = json(#"{"tableName":"other","type":"table","intervals":[]}"#) }
            let reply = try await harness.send(.POST, "jobs", json: .object(spec))
            #expect(reply.status == 201, "\(reply.text)")
            // Pasting it back changes nothing: the echo of the echo is the echo.
            let echoed = try #require(reply.json["spec"]?.objectValue)
            #expect(echoed == spec)
        }
    }

    @Test func aSpecWithTheSDKDefaultsAndNullsIsAccepted() async throws {
        try await EmulatorHarness.with { harness in
            let reply = try await harness.createStreamingJob(extra: [
                "readFromPoint": "latest", "maxParseExceptions": 2_147_483_647, "lateMessageRejectionPeriod": "P30D",
                "earlyMessageRejectionPeriod": "P2000D", "replaceRunning": nil, "createTableIfNotExists": true,
                "dimensionExclusions": nil, "filterExpression": nil,
                "target": json(#"{"type":"table","tableName":"orders","intervals":null}"#),
            ])
            #expect(reply.spec?.fields["dimensionExclusions"] == [])
            #expect(reply.spec?.fields["replaceRunning"] == false)
            #expect(reply.target?["intervals"] == [])
        }
    }

    // MARK: Validation

    struct Invalid: Sendable, CustomTestStringConvertible {
        let member: String
        let value: JSONValue
        let target: String
        var testDescription: String { "\(member) = \(JSONWriter.string(value))" }
    }

    static let invalid: [Invalid] = [
        Invalid(member: "readFromPoint", value: "newest", target: "readFromPoint"),
        Invalid(member: "readFromPoint", value: "LATEST", target: "readFromPoint"),
        Invalid(member: "readFromPoint", value: 0, target: "readFromPoint"),
        Invalid(
            member: "source",
            value: json(#"{"type":"connection","connectionName":"orders-kinesis","formatSettings":{"format":"json"}}"#),
            target: "source.formatSettings.format"),
        Invalid(
            member: "source",
            value: json(#"{"type":"connection","connectionName":"orders-kinesis","formatSettings":{}}"#),
            target: "source.formatSettings.format"),
        Invalid(
            member: "source",
            value: json(#"{"type":"connection","connectionName":"orders-kinesis","formatSettings":{"format":7}}"#),
            target: "source.formatSettings.format"),
        Invalid(
            member: "source",
            value: json(
                #"{"type":"connection","connectionName":"orders-kinesis","inputSchema":[{"name":"ts","dataType":"string"},{"name":"n","dataType":"integer"}]}"#
            ),
            target: "source.inputSchema[1].dataType"),
        Invalid(
            member: "source",
            value: json(#"{"type":"connection","connectionName":"orders-kinesis","inputSchema":[{"name":"ts"}]}"#),
            target: "source.inputSchema[0].dataType"),
        Invalid(
            member: "source",
            value: json(
                #"{"type":"connection","connectionName":"orders-kinesis","inputSchema":[{"name":"ts","dataType":"String"}]}"#
            ),
            target: "source.inputSchema[0].dataType"),
        Invalid(
            member: "target",
            value: json(#"{"type":"table","tableName":"orders","intervals":["2024-01-01/2024-01-02"]}"#),
            target: "target.intervals"),
        Invalid(
            member: "target", value: json(#"{"type":"table","tableName":"orders","intervals":"all"}"#),
            target: "target.intervals"),
        Invalid(member: "replaceRunning", value: "false", target: "replaceRunning"),
    ]

    @Test(arguments: invalid)
    func invalidValuesAre400NamingTheMember(_ invalidCase: Invalid) async throws {
        try await EmulatorHarness.with { harness in
            try await harness.send(.POST, "connections", json: EmulatorHarness.kinesisConnection())
            let reply = try await harness.send(
                .POST, "jobs", json: EmulatorHarness.streamingJob(extra: [invalidCase.member: invalidCase.value]))
            #expect(reply.status == 400, "\(reply.text)")
            #expect(reply.isErrorResponse)
            #expect(reply.json["target"]?.stringValue == invalidCase.target, "\(reply.text)")
            #expect(await harness.emulator.allJobs().isEmpty)
        }
    }

    @Test func everyEnumValueIsAccepted() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.send(.POST, "connections", json: EmulatorHarness.kinesisConnection())
            var created = 0
            for point in LiveEcho.readFromPoints {
                let reply = try await harness.send(
                    .POST, "jobs",
                    json: EmulatorHarness.streamingJob(table: "p-\(point)", extra: ["readFromPoint": .string(point)]))
                #expect(reply.status == 201, "\(point): \(reply.text)")
                created += 1
            }
            for format in LiveEcho.dataFormats {
                let source = JSONValue.object([
                    "type": "connection", "connectionName": "orders-kinesis",
                    "formatSettings": ["format": .string(format)],
                    "inputSchema": .array(
                        LiveEcho.inputDataTypes.map { ["name": .string("f-\($0)"), "dataType": .string($0)] }),
                ])
                let reply = try await harness.send(
                    .POST, "jobs", json: EmulatorHarness.streamingJob(table: "f-\(format)", extra: ["source": source]))
                #expect(reply.status == 201, "\(format): \(reply.text)")
                let settings = reply.json["spec"]?["source"]?["formatSettings"]
                #expect(
                    (settings?["flattenSpec"] == .object([:])) == LiveEcho.formatsWithFlattenSpec.contains(format),
                    "\(format)")
                created += 1
            }
            #expect(await harness.emulator.allJobs().count == created)
        }
    }

    /// The enums are the OpenAPI document's (the copy vendored for the conformance test).
    @Test func theEnumsAreTheOpenAPIDocuments() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../PolarisAPITests/Conformance/polaris-project-api.derived.openapi.json")
        let document = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
        let schemas = try #require(document["components"]?["schemas"])
        func strings(_ value: JSONValue?) -> [String] { value?.arrayValue?.compactMap(\.stringValue) ?? [] }
        #expect(
            strings(schemas["CreateStreamingJobRequest"]?["properties"]?["readFromPoint"]?["enum"])
                == LiveEcho.readFromPoints)
        #expect(strings(schemas["DataFormatSettings"]?["properties"]?["format"]?["enum"]) == LiveEcho.dataFormats)
        #expect(
            strings(schemas["FieldNameAndDataType"]?["properties"]?["dataType"]?["enum"]) == LiveEcho.inputDataTypes)
        // The formats whose settings schema has a flattenSpec member.
        let mapping = try #require(schemas["DataFormatSettings"]?["discriminator"]?["mapping"]?.objectValue)
        let withFlatten = mapping.filter { format, reference in
            let name = reference.stringValue?.split(separator: "/").last.map(String.init) ?? ""
            return LiveEcho.dataFormats.contains(format) && schemas[name]?["properties"]?["flattenSpec"] != nil
        }
        #expect(Set(withFlatten.keys) == LiveEcho.formatsWithFlattenSpec)
        // The top-level streaming members are StreamingJobResponse's, less the common ones.
        let common: Set<String> = [
            "createdBy", "createdTimestamp", "desiredExecutionStatus", "executionStatus", "health", "id",
            "lastModifiedBy", "lastUpdatedTimestamp", "spec", "target", "type", "completedTimestamp",
            "startedTimestamp",
        ]
        let response = try #require(schemas["StreamingJobResponse"]?["properties"]?.objectValue)
        #expect(Set(response.keys).subtracting(common) == Set(LiveEcho.topLevelStreamingKeys))
    }

    // MARK: List summaries

    @Test func listSummariesCarryNullTimestampsAndTheLiveTarget() async throws {
        try await EmulatorHarness.with(EmulatorHarness.configuration(startDelay: .seconds(3600))) { harness in
            try await harness.send(.POST, "connections", json: json(LiveSample.connectionRequest))
            let created = try await harness.send(.POST, "jobs", json: json(LiveSample.jobRequest))
            let id = try #require(created.json["id"]?.stringValue)
            let page = try await harness.send(.GET, "jobs")
            let summary = try #require(page.json["values"]?.arrayValue?.first)
            #expect(summary["startedTimestamp"] == .null && summary["completedTimestamp"] == .null)
            #expect(summary["target"] == json(LiveSample.jobResponse)["target"])
            #expect(summary["spec"] == nil && summary["mappings"] == nil)
            // The summary is the full response's common members, no more, no less.
            let full = try #require(created.json.objectValue)
            let expectedKeys = Set(full.keys).subtracting(LiveEcho.topLevelStreamingKeys + ["spec"]).union(["source"])
            #expect(Set(summary.objectValue.map { Array($0.keys) } ?? []) == expectedKeys)
            for key in expectedKeys where key != "source" { #expect(summary[key] == full[key], "\(key)") }
            // The client's single-pass decoder reads it (nil timestamps), as JSONDecoder does.
            let list = try page.decode(JobList.self)
            #expect(list.values.map(\.id) == [id])
            #expect(list.values[0].startedTimestamp == nil && list.values[0].completedTimestamp == nil)
            #expect(list.values[0].targetTable == "wikipedia-kinesis")

            await harness.emulator.advance(by: .seconds(3601))
            let later = try await harness.send(.GET, "jobs").decode(JobList.self)
            #expect(later.values[0].startedTimestamp != nil && later.values[0].executionStatus == .running)
        }
    }
}
