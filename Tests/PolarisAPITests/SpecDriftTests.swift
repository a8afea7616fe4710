import Foundation
import PolarisAPI
import Testing

/// `SpecDrift`: what counts as drift between a desired spec and a live job's echoed spec.
@Suite struct SpecDriftTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var desired: String
        var live: String
        /// The paths that differ; empty = no drift.
        var drift: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "identical", desired: #"{"a":1}"#, live: #"{"a":1}"#, drift: []),
        Case(name: "live adds members", desired: #"{"a":1}"#, live: #"{"a":1,"b":2}"#, drift: []),
        Case(name: "member missing live", desired: #"{"a":1}"#, live: #"{}"#, drift: ["spec.a"]),
        Case(name: "string differs", desired: #"{"a":"x"}"#, live: #"{"a":"y"}"#, drift: ["spec.a"]),
        Case(name: "strings are case-sensitive", desired: #"{"a":"X"}"#, live: #"{"a":"x"}"#, drift: ["spec.a"]),
        Case(name: "bool differs", desired: #"{"a":true}"#, live: #"{"a":false}"#, drift: ["spec.a"]),
        Case(name: "int equals double by value", desired: #"{"a":5}"#, live: #"{"a":5.0}"#, drift: []),
        Case(name: "number differs", desired: #"{"a":5}"#, live: #"{"a":6}"#, drift: ["spec.a"]),
        Case(name: "number vs string", desired: #"{"a":5}"#, live: #"{"a":"5"}"#, drift: ["spec.a"]),
        Case(name: "desired null equals absent", desired: #"{"a":null}"#, live: #"{}"#, drift: []),
        Case(name: "desired null is not compared", desired: #"{"a":null}"#, live: #"{"a":"x"}"#, drift: []),
        Case(name: "live null equals absent", desired: #"{"a":"x"}"#, live: #"{"a":null}"#, drift: ["spec.a"]),
        Case(name: "empty object equals absent", desired: #"{"a":{}}"#, live: #"{}"#, drift: []),
        Case(name: "empty array equals absent", desired: #"{"a":[]}"#, live: #"{}"#, drift: []),
        Case(name: "empty array vs filled", desired: #"{"a":[]}"#, live: #"{"a":[1]}"#, drift: ["spec.a"]),
        Case(
            name: "nested member differs", desired: #"{"a":{"b":{"c":1}}}"#, live: #"{"a":{"b":{"c":2}}}"#,
            drift: ["spec.a.b.c"]),
        Case(name: "object vs scalar", desired: #"{"a":{"b":1}}"#, live: #"{"a":3}"#, drift: ["spec.a"]),
        Case(name: "scalar arrays equal", desired: #"{"a":["x","y"]}"#, live: #"{"a":["x","y"]}"#, drift: []),
        Case(
            name: "scalar arrays by position", desired: #"{"a":["x","y"]}"#, live: #"{"a":["y","x"]}"#,
            drift: ["spec.a[0]", "spec.a[1]"]),
        Case(name: "array length differs", desired: #"{"a":[1]}"#, live: #"{"a":[1,2]}"#, drift: ["spec.a"]),
        Case(
            name: "unnamed object elements satisfied one by one", desired: #"{"a":[{"x":1}]}"#,
            live: #"{"a":[{"x":1,"y":2}]}"#, drift: []),
        Case(
            name: "mappings gain isAggregation: null",
            desired: #"{"mappings":[{"columnName":"__time","expression":"T"}]}"#,
            live: #"{"mappings":[{"columnName":"__time","expression":"T","isAggregation":null}]}"#, drift: []),
        Case(
            name: "mappings compare by columnName, not position",
            desired: #"{"mappings":[{"columnName":"a","expression":"1"},{"columnName":"b","expression":"2"}]}"#,
            live: #"{"mappings":[{"columnName":"b","expression":"2"},{"columnName":"a","expression":"1"}]}"#, drift: []),
        Case(
            name: "mapping expression differs",
            desired: #"{"mappings":[{"columnName":"__time","expression":"TIME_PARSE(\"ts\")"}]}"#,
            live: #"{"mappings":[{"columnName":"__time","expression":"TIME_PARSE(\"timestamp\")"}]}"#,
            drift: ["spec.mappings[columnName=__time].expression"]),
        Case(
            name: "mapping missing live",
            desired: #"{"mappings":[{"columnName":"a","expression":"1"},{"columnName":"b","expression":"2"}]}"#,
            live: #"{"mappings":[{"columnName":"a","expression":"1"}]}"#, drift: ["spec.mappings[columnName=b]"]),
        Case(
            name: "extra live mapping",
            desired: #"{"mappings":[{"columnName":"a","expression":"1"}]}"#,
            live: #"{"mappings":[{"columnName":"a","expression":"1"},{"columnName":"z","expression":"9"}]}"#,
            drift: ["spec.mappings[columnName=z]"]),
        Case(
            name: "inputSchema by name",
            desired: #"{"source":{"inputSchema":[{"name":"a","dataType":"string"},{"name":"b","dataType":"long"}]}}"#,
            live: #"{"source":{"inputSchema":[{"dataType":"long","name":"b"},{"dataType":"string","name":"a"}]}}"#,
            drift: []),
        Case(
            name: "inputSchema dataType differs",
            desired: #"{"source":{"inputSchema":[{"name":"a","dataType":"string"}]}}"#,
            live: #"{"source":{"inputSchema":[{"name":"a","dataType":"long"}]}}"#,
            drift: ["spec.source.inputSchema[name=a].dataType"]),
        Case(
            name: "flattenSpec filled in",
            desired: #"{"source":{"formatSettings":{"format":"nd-json"}}}"#,
            live: #"{"source":{"formatSettings":{"format":"nd-json","flattenSpec":{}}}}"#, drift: []),
        Case(
            name: "flattenSpec pasted back, live lacks it",
            desired: #"{"source":{"formatSettings":{"flattenSpec":{}}}}"#,
            live: #"{"source":{"formatSettings":{}}}"#, drift: []),
        Case(
            name: "target.intervals filled in", desired: #"{"target":{"tableName":"t"}}"#,
            live: #"{"target":{"tableName":"t","intervals":[]}}"#, drift: []),
        Case(
            name: "replaceRunning is create-time", desired: #"{"replaceRunning":true}"#,
            live: #"{"replaceRunning":false}"#, drift: []),
        Case(
            name: "desiredExecutionStatus is lifecycle", desired: #"{"desiredExecutionStatus":"running"}"#,
            live: #"{"desiredExecutionStatus":"suspended"}"#, drift: []),
        Case(
            name: "defaults the service fills in", desired: #"{"type":"streaming"}"#,
            live: #"{"type":"streaming","readFromPoint":"latest","maxParseExceptions":2147483647}"#, drift: []),
        Case(
            name: "a default the user set differently", desired: #"{"readFromPoint":"earliest"}"#,
            live: #"{"readFromPoint":"latest"}"#, drift: ["spec.readFromPoint"]),
        Case(
            name: "filterExpression null both sides", desired: #"{"filterExpression":null}"#,
            live: #"{"filterExpression":null}"#, drift: []),
        Case(
            name: "filterExpression set but live null", desired: #"{"filterExpression":"x = 1"}"#,
            live: #"{"filterExpression":null}"#, drift: ["spec.filterExpression"]),
        Case(
            name: "duplicate names fall back to positions",
            desired: #"{"a":[{"name":"x","v":1},{"name":"x","v":2}]}"#,
            live: #"{"a":[{"name":"x","v":2},{"name":"x","v":1}]}"#,
            drift: ["spec.a[0].v", "spec.a[1].v"]),
    ]

    @Test(arguments: cases) func table(_ row: Case) throws {
        let differences = SpecDrift.differences(desired: try Self.spec(row.desired), live: try Self.spec(row.live))
        #expect(differences.map(\.path) == row.drift)
        #expect(try Self.spec(row.desired).isSatisfied(by: try Self.spec(row.live)) == row.drift.isEmpty)
    }

    @Test func tableHasAtLeastTwentyFiveCases() {
        #expect(Self.cases.count >= 25)
        #expect(Set(Self.cases.map(\.name)).count == Self.cases.count)
    }

    @Test func differenceNamesPathAndBothValues() throws {
        let differences = SpecDrift.differences(
            desired: try Self.spec(#"{"mappings":[{"columnName":"__time","expression":"TIME_PARSE(\"ts\")"}]}"#),
            live: try Self.spec(#"{"mappings":[{"columnName":"__time","expression":"TIME_PARSE(\"timestamp\")"}]}"#))
        #expect(
            differences.map(\.description) == [
                #"spec.mappings[columnName=__time].expression: desired "TIME_PARSE(\"ts\")", live "TIME_PARSE(\"timestamp\")""#
            ])
        let missing = SpecDrift.differences(desired: try Self.spec(#"{"a":{"b":1}}"#), live: try Self.spec("{}"))
        #expect(missing.map(\.description) == ["spec.a.b: desired 1, live absent"])
    }

    /// The docs' sample request against the docs' sample response (both verbatim from
    /// "Ingest data from Amazon Kinesis by API"): the live echo is no drift.
    @Test func sampleRequestIsSatisfiedBySampleResponse() throws {
        let response = try JSONDecoder().decode(Job.self, from: Data(Self.sampleResponse.utf8))
        let echoed = try #require(response.spec)
        #expect(SpecDrift.differences(desired: try Self.spec(Self.sampleRequest), live: echoed) == [])
        // A spec pasted back from a live GET adopts cleanly too.
        #expect(SpecDrift.differences(desired: echoed, live: echoed) == [])
        var changed = try Self.spec(Self.sampleRequest)
        changed.fields["useSchemaDiscovery"] = false
        #expect(SpecDrift.differences(desired: changed, live: echoed).map(\.path) == ["spec.useSchemaDiscovery"])
    }

    static func spec(_ text: String) throws -> JobSpec {
        try JSONDecoder().decode(JobSpec.self, from: Data(text.utf8))
    }

    static let sampleRequest = #"""
        {"type": "streaming",
         "source": {"type": "connection", "connectionName": "stream-wiki",
                    "formatSettings": {"format": "nd-json"},
                    "inputSchema": [{"name": "timestamp", "dataType": "string"}]},
         "target": {"type": "table", "tableName": "wikipedia-kinesis"},
         "mappings": [{"columnName": "__time", "expression": "TIME_PARSE(\"timestamp\")"}],
         "createTableIfNotExists": true, "useSchemaDiscovery": true}
        """#

    static let sampleResponse = #"""
        {"source": {"connectionName": "stream-wiki", "formatSettings": {"flattenSpec": {}, "format": "nd-json"},
                    "inputSchema": [{"dataType": "string", "name": "timestamp"}], "type": "connection"},
         "mappings": [{"columnName": "__time", "expression": "TIME_PARSE(\"timestamp\")", "isAggregation": null}],
         "dimensionExclusions": [], "useSchemaDiscovery": true, "filterExpression": null,
         "lateMessageRejectionPeriod": "P30D", "earlyMessageRejectionPeriod": "P2000D", "readFromPoint": "latest",
         "maxParseExceptions": 2147483647,
         "createdBy": {"username": "api-key-pok_vipgj...bjjvyo", "userId": "a52cacf6-3ddc-48e5-8675-xxxxxxxxxxxx"},
         "createdTimestamp": "2023-09-12T23:17:39.142369067Z", "desiredExecutionStatus": "running",
         "executionStatus": "pending", "health": {"status": "ok"}, "id": "018a8baf-a6c6-721f-b35a-284ffc8dce90",
         "lastModifiedBy": {"username": "api-key-pok_vipgj...bjjvyo", "userId": "a52cacf6-3ddc-48e5-8675-xxxxxxxxxxxx"},
         "lastUpdatedTimestamp": "2023-09-12T23:17:39.142369067Z",
         "spec": {"source": {"connectionName": "stream-wiki", "formatSettings": {"flattenSpec": {}, "format": "nd-json"},
                             "inputSchema": [{"dataType": "string", "name": "timestamp"}], "type": "connection"},
                  "target": {"tableName": "wikipedia-kinesis", "type": "table", "intervals": []},
                  "createTableIfNotExists": true, "dimensionExclusions": [], "filterExpression": null,
                  "lateMessageRejectionPeriod": "P30D", "earlyMessageRejectionPeriod": "P2000D",
                  "mappings": [{"columnName": "__time", "expression": "TIME_PARSE(\"timestamp\")", "isAggregation": null}],
                  "maxParseExceptions": 2147483647, "readFromPoint": "latest", "useSchemaDiscovery": true,
                  "replaceRunning": false, "type": "streaming", "desiredExecutionStatus": "running"},
         "target": {"tableName": "wikipedia-kinesis", "type": "table", "intervals": []},
         "type": "streaming", "completedTimestamp": null, "startedTimestamp": null}
        """#
}
