import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PolarisAPI
import PolarisEmulator
import TestSupport
import Testing

/// The emulator's responses, captured raw over HTTP, validated against the Polaris OpenAPI
/// document (`Conformance/polaris-project-api.derived.openapi.json`, a copy of
/// shared/polaris/openapi) by `Conformance/openapi_conformance.py` (OpenAPI 3.0 rules via
/// openapi-schema-validator). One sample per operation and documented status the warden uses.
@Suite struct OpenAPIConformanceTests {
    struct Sample: Encodable {
        var method: String
        var path: String
        var status: Int
        var body: JSONValue?
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Conformance")

    @Test func emulatorResponsesConformToTheOpenAPIDocument() async throws {
        guard Self.pythonHasValidator() else {
            let reason =
                "needs python3 with openapi-schema-validator (`make test-deps` puts it in .build/venv, "
                + "and `make test` runs the tests with that venv first on PATH)"
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("\(reason): failing because CI=true")
            } else {
                print("skipping OpenAPI conformance: \(reason)")
            }
            return
        }
        let key = "pok_conformance_key"
        let emulator = PolarisEmulator(configuration: EmulatorConfiguration(apiKey: key))
        _ = try await emulator.start()
        defer { Task { await emulator.stop() } }
        let base = emulator.projectURL
        let auth = "Basic " + Data((key + ":").utf8).base64EncodedString()
        var samples: [Sample] = []

        func call(_ method: HTTPMethod, _ path: String, template: String, body: JSONValue? = nil) async throws -> Sample
        {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            request.headers.add(name: "Authorization", value: auth)
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
            }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
            let bytes = try await response.body.collect(upTo: 1 << 24)
            let data = Data(bytes.readableBytesView)
            let sample = Sample(
                method: method.rawValue, path: "/v1/projects/{projectId}" + template, status: Int(response.status.code),
                body: data.isEmpty ? nil : try JSONDecoder().decode(JSONValue.self, from: data))
            samples.append(sample)
            return sample
        }

        let connection = JSONValue.object(SampleBodies.kinesisConnection())
        let spec: JSONValue = [
            "type": "streaming",
            "source": [
                "type": "connection", "connectionName": "stream-wiki", "formatSettings": ["format": "nd-json"],
                "inputSchema": [["name": "timestamp", "dataType": "string"]],
            ],
            "target": ["type": "table", "tableName": "wikipedia-kinesis"],
            "mappings": [["columnName": "__time", "expression": "TIME_PARSE(\"timestamp\")", "isAggregation": nil]],
            "createTableIfNotExists": true,
        ]
        _ = try await call(.POST, "/connections", template: "/connections", body: connection)
        _ = try await call(.POST, "/connections", template: "/connections", body: connection)
        _ = try await call(.GET, "/connections", template: "/connections")
        _ = try await call(.GET, "/connections/stream-wiki", template: "/connections/{name}")
        _ = try await call(.GET, "/connections/missing", template: "/connections/{name}")
        _ = try await call(
            .PATCH, "/connections/stream-wiki", template: "/connections/{name}",
            body: ["type": "kinesis", "stream": "other"])
        _ = try await call(.POST, "/connections/stream-wiki/test", template: "/connections/{name}/test")
        let created = try await call(.POST, "/jobs", template: "/jobs", body: spec)
        let id = try #require(created.body?["id"]?.stringValue)
        _ = try await call(.POST, "/jobs", template: "/jobs", body: spec)
        _ = try await call(.POST, "/jobs", template: "/jobs", body: ["type": "streaming"])
        _ = try await call(.GET, "/jobs?type=streaming&paginationLimit=10", template: "/jobs")
        _ = try await call(.GET, "/jobs?paginationLimit=0", template: "/jobs")
        _ = try await call(.GET, "/jobs/\(id)", template: "/jobs/{jobId}")
        _ = try await call(.GET, "/jobs/missing", template: "/jobs/{jobId}")
        _ = try await call(.GET, "/jobs/\(id)/status", template: "/jobs/{jobId}/status")
        _ = try await call(
            .POST, "/jobs/\(id)/status", template: "/jobs/{jobId}/status", body: ["desiredExecutionStatus": "suspended"]
        )
        _ = try await call(.GET, "/jobs/\(id)/logs", template: "/jobs/{jobId}/logs")
        _ = try await call(.GET, "/jobs/\(id)/metrics", template: "/jobs/{jobId}/metrics")
        _ = try await call(.GET, "/jobs/\(id)/progress", template: "/jobs/{jobId}/progress")
        _ = try await call(.POST, "/jobs/\(id)/reset", template: "/jobs/{jobId}/reset")
        _ = try await call(.PUT, "/jobs/\(id)", template: "/jobs/{jobId}", body: ["desiredExecutionStatus": "running"])
        try await emulator.failJob(id: id, code: "internal_error", message: "boom")
        _ = try await call(.GET, "/jobs/\(id)", template: "/jobs/{jobId}")
        _ = try await call(.DELETE, "/connections/stream-wiki", template: "/connections/{name}")
        await emulator.stop()

        let samplesFile = FileManager.default.temporaryDirectory.appendingPathComponent("samples-\(UUID()).json")
        try JSONEncoder().encode(samples).write(to: samplesFile)
        defer { try? FileManager.default.removeItem(at: samplesFile) }
        let result = try runProcess(
            "/usr/bin/env",
            [
                "python3", Self.directory.appendingPathComponent("openapi_conformance.py").path,
                Self.directory.appendingPathComponent("polaris-project-api.derived.openapi.json").path,
                samplesFile.path,
            ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("\(samples.count) passed, 0 failed"), "\(result.output)")
    }

    static func pythonHasValidator() -> Bool {
        (try? runProcess("/usr/bin/env", ["python3", "-c", "import openapi_schema_validator"]).status) == 0
    }
}
