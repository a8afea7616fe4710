import Foundation
import PolarisAPI
import Testing

/// Decoding of every documented body (docs/polaris/api-reference.md §3–4), the seed's sample included.
@Suite struct ModelDecodingTests {
    static let seedJobResponse = #"""
        {
          "type": "streaming",
          "id": "efb35e3e-406e-4127-ad2e-280fede4f431",
          "executionStatus": "running",
          "desiredExecutionStatus": "running",
          "health": {"status": "ok"},
          "createdBy": {"username": "api-key-pok_xxx", "userId": "631db145-0000-0000-0000-000000000000"},
          "lastModifiedBy": {"username": "api-key-pok_xxx", "userId": "631db145-0000-0000-0000-000000000000"},
          "createdTimestamp": "2023-09-12T23:17:39.142369067Z",
          "lastUpdatedTimestamp": "2023-09-12T23:17:45.5Z",
          "startedTimestamp": "2023-09-12T23:17:45Z",
          "target": {"type": "table", "tableName": "wikipedia-kinesis"},
          "source": {"type": "connection", "connectionName": "stream-wiki",
                     "formatSettings": {"format": "nd-json"},
                     "inputSchema": [{"name": "timestamp", "dataType": "string"}]},
          "mappings": [{"columnName": "__time", "expression": "TIME_PARSE(\"timestamp\")", "isAggregation": null}],
          "readFromPoint": "latest",
          "maxParseExceptions": 2147483647,
          "lateMessageRejectionPeriod": "P30D",
          "earlyMessageRejectionPeriod": "P2000D",
          "useSchemaDiscovery": true,
          "spec": {
            "type": "streaming",
            "source": {"type": "connection", "connectionName": "stream-wiki",
                       "formatSettings": {"format": "nd-json"},
                       "inputSchema": [{"name": "timestamp", "dataType": "string"}]},
            "target": {"type": "table", "tableName": "wikipedia-kinesis"},
            "mappings": [{"columnName": "__time", "expression": "TIME_PARSE(\"timestamp\")", "isAggregation": null}],
            "createTableIfNotExists": true,
            "useSchemaDiscovery": true,
            "readFromPoint": "latest",
            "maxParseExceptions": 2147483647,
            "futureField": {"kept": [1, 2.5, "x", false]}
          }
        }
        """#

    @Test func seedJobResponseDecodes() throws {
        let job = try JSONDecoder().decode(Job.self, from: Data(Self.seedJobResponse.utf8))
        #expect(job.id == "efb35e3e-406e-4127-ad2e-280fede4f431")
        #expect(job.executionStatus == .running)
        #expect(job.desiredExecutionStatus == .running)
        #expect(job.health == .ok)
        #expect(job.targetTable == "wikipedia-kinesis")
        #expect(job.connectionName == "stream-wiki")
        #expect(job.createdTimestamp?.nanoseconds == 142_369_067)
        #expect(job.spec?.type == "streaming")
        #expect(job.spec?.fields["maxParseExceptions"] == .int(2_147_483_647))
        #expect(job.spec?.createTableIfNotExists == true)
        #expect(job.otherFields["readFromPoint"] == .string("latest"))
        let mapping = job.spec?.fields["mappings"]?.arrayValue?.first
        #expect(mapping?["isAggregation"] == .null)
    }

    @Test func unknownFieldsRoundTrip() throws {
        let job = try JSONDecoder().decode(Job.self, from: Data(Self.seedJobResponse.utf8))
        let again = try JSONDecoder().decode(Job.self, from: try JSONEncoder().encode(job))
        #expect(again == job)
        #expect(
            again.spec?.fields["futureField"]
                == .object(["kept": .array([.int(1), .double(2.5), .string("x"), .bool(false)])]))
        #expect(again.createdTimestamp?.text == "2023-09-12T23:17:39.142369067Z")
    }

    @Test(arguments: ExecutionStatus.documented)
    func everyDocumentedExecutionStatusDecodes(_ status: ExecutionStatus) throws {
        let decoded = try JSONDecoder().decode(ExecutionStatus.self, from: Data("\"\(status.rawValue)\"".utf8))
        #expect(decoded == status)
        #expect(decoded != .unrecognized(status.rawValue))
    }

    @Test func unknownFutureExecutionStatusDecodesInsteadOfThrowing() throws {
        let body =
            #"{"values":[{"id":"a","type":"streaming","executionStatus":"hibernating","health":{"status":"ok"}}],"moreResultsAvailable":false}"#
        let list = try JSONDecoder().decode(JobList.self, from: Data(body.utf8))
        #expect(list.values.first?.executionStatus == .unrecognized("hibernating"))
        #expect(list.values.first?.executionStatus.isTerminal == false)
    }

    @Test func terminalStatuses() {
        #expect(ExecutionStatus.documented.filter(\.isTerminal) == [.completed, .canceled, .failed])
    }

    @Test(arguments: [
        (#"{"status":"ok"}"#, JobHealth.Status.ok, nil as String?),
        (
            #"{"status":"warn","code":"lost_connection_to_source","log":{"timestamp":"2024-05-01T12:00:00Z","healthStatus":"warn","code":"lost_connection_to_source","message":"m"}}"#,
            .warn, "lost_connection_to_source"
        ),
        (#"{"status":"warning","code":"no_rows_found"}"#, .warn, "no_rows_found"),
        (
            #"{"status":"error","code":"could_not_connect_to_source","message":"AccessDenied"}"#, .error,
            "could_not_connect_to_source"
        ),
        (#"{"status":"degraded"}"#, .unrecognized("degraded"), nil),
    ])
    func healthDecodes(body: String, status: JobHealth.Status, code: String?) throws {
        let health = try JSONDecoder().decode(JobHealth.self, from: Data(body.utf8))
        #expect(health.status == status)
        #expect(health.code == code)
    }

    @Test func errorHealthKeepsMessageAndLog() throws {
        let body =
            #"{"status":"error","code":"internal_error","message":"boom","log":{"timestamp":"2024-05-01T12:00:00.1Z","healthStatus":"error","code":"internal_error","message":"boom"}}"#
        let health = try JSONDecoder().decode(JobHealth.self, from: Data(body.utf8))
        #expect(health.message == "boom")
        #expect(health.log?.timestamp?.nanoseconds == 100_000_000)
    }

    @Test(arguments: [
        (
            #"{"code":"InvalidArgument","message":"bad table","target":"target.tableName","details":[{"code":"x","message":"y"}],"innererror":{"code":"z","message":"w","extra":1}}"#,
            "InvalidArgument", "bad table"
        ),
        (
            #"{"message":"Token claims invalid: [\"exp\"]=\"token expired\""}"#, nil,
            "Token claims invalid: [\"exp\"]=\"token expired\""
        ),
        (#"{"code":400,"message":"Unable to process JSON"}"#, "400", "Unable to process JSON"),
        (
            #"{"error":{"code":"AlreadyExists","message":"A table with name [Example Table] already exists"}}"#,
            "AlreadyExists", "A table with name [Example Table] already exists"
        ),
        (#"{"error":{"code":"OnlyCode"}}"#, "OnlyCode", "OnlyCode"),
        (#"[]"#, nil, nil),
    ])
    func errorBodiesParseInEveryShape(body: String, code: String?, message: String?) throws {
        let parsed = try JSONDecoder().decode(PolarisErrorBody.self, from: Data(body.utf8))
        #expect(parsed.code == code)
        #expect(parsed.message == message)
    }

    @Test func kinesisConnectionDecodesInFull() throws {
        let body =
            #"{"type":"kinesis","name":"orders-kinesis","description":"orders stream","stream":"orders","awsEndpoint":"kinesis.us-east-1.amazonaws.com","awsAssumedRoleArn":"arn:aws:iam::123456789012:role/r","submittedByUser":{"username":"u","userId":"i"},"submittedOnTimestamp":"2024-05-01T12:00:00Z","modifiedByUser":{"username":"u","userId":"i"},"modifiedOnTimestamp":"2024-05-01T12:00:00Z"}"#
        let connection = try JSONDecoder().decode(Connection.self, from: Data(body.utf8))
        #expect(connection.type == "kinesis")
        #expect(connection.stream == "orders")
        #expect(connection.awsAssumedRoleArn == "arn:aws:iam::123456789012:role/r")
        #expect(connection.submittedByUser?.username == "u")
        #expect(connection.otherFields.isEmpty)
    }

    @Test func kafkaConnectionFieldsPassThrough() throws {
        let body =
            #"{"type":"kafka","name":"k","bootstrapServers":"b:9092","topicName":"t","topicNameIsPattern":false,"secrets":{"type":"sasl_plain","username":"u"}}"#
        let connection = try JSONDecoder().decode(Connection.self, from: Data(body.utf8))
        #expect(connection.otherFields["bootstrapServers"] == .string("b:9092"))
        let again = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(connection))
        #expect(again == (try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8))))
    }

    @Test func connectionDifferencesIgnoreReadOnlyAndSecrets() throws {
        let current = Connection(
            type: "kinesis", name: "c", stream: "s", awsEndpoint: "e", awsAssumedRoleArn: "arn:a",
            submittedOnTimestamp: "2024-05-01T12:00:00Z")
        let desired: [String: JSONValue] = [
            "type": .string("kinesis"), "name": .string("c"), "stream": .string("s2"), "awsEndpoint": .string("e"),
            "awsAssumedRoleArn": .string("arn:a"), "secrets": .object(["type": .string("access_key")]),
        ]
        #expect(current.differences(from: desired) == ["stream": .string("s2")])
    }

    @Test func metricsAcceptBothSpellings() throws {
        let sdk = try JSONDecoder().decode(
            JobMetrics.self, from: Data(#"{"totals":{"numRowsProcessed":10,"numRowsProcessedWithWarning":2}}"#.utf8))
        let docs = try JSONDecoder().decode(
            JobMetrics.self, from: Data(#"{"totals":{"numRowsProcessed":10,"numRowsProcessedWithWarnings":3}}"#.utf8))
        #expect(sdk.totals.numRowsProcessedWithWarning == 2)
        #expect(docs.totals.numRowsProcessedWithWarning == 3)
        #expect(docs.totals.numRowsPersisted == nil)
    }

    @Test func logsDecode() throws {
        let logs = try JSONDecoder().decode(
            JobLogs.self,
            from: Data(
                #"{"logs":[{"timestamp":"2024-05-01T12:00:00.000000001Z","healthStatus":"warn","code":"invalid_rows_found","message":"row 3"}]}"#
                    .utf8))
        #expect(logs.logs.first?.timestamp?.nanoseconds == 1)
    }

    @Test func specDriftComparesOnlyFieldsTheDesiredSpecSets() throws {
        let job = try JSONDecoder().decode(Job.self, from: Data(Self.seedJobResponse.utf8))
        var desired = JobSpec(fields: job.spec!.fields)
        desired.fields["readFromPoint"] = nil
        desired.fields["maxParseExceptions"] = nil
        desired.fields["futureField"] = nil
        #expect(desired.isSatisfied(by: job.spec!))
        desired.replaceRunning = true
        #expect(desired.isSatisfied(by: job.spec!), "replaceRunning is a create-time flag, not drift")
        desired.fields["filterExpression"] = .string("\"x\" > 1")
        #expect(!desired.isSatisfied(by: job.spec!))
    }
}
