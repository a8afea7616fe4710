import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PolarisAPI
import PolarisEmulator
import Testing

/// A running emulator on loopback plus a tiny HTTP helper, so each test reads as the requests
/// a Polaris client would send.
struct EmulatorHarness {
    let emulator: PolarisEmulator
    let client = HTTPClient.shared

    enum Auth {
        case apiKey
        case none
        case header(String)
    }

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]

        var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: Data(body))) ?? .null }
        var text: String { String(decoding: body, as: UTF8.self) }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONDecoder().decode(type, from: Data(body))
        }

        /// The `ErrorResponse` shape: a string `code` and a string `message`.
        var isErrorResponse: Bool { json["code"]?.stringValue != nil && json["message"]?.stringValue != nil }
    }

    /// Chosen so its base64 has `+` and `/` (URL-safe: `-` and `_`) and padding.
    static let apiKey = "pok_??>>~~"

    static func configuration(startDelay: Duration = .zero) -> EmulatorConfiguration {
        var logger = Logger(label: "emulator-test")
        logger.logLevel = .error
        return EmulatorConfiguration(
            apiKey: apiKey, startDelay: startDelay, oauthClients: ["warden": "s3cret"],
            acceptedBearerTokens: ["static-token"], tokenLifetime: .seconds(300), logger: logger)
    }

    /// Runs `body` against a fresh emulator and always stops it.
    static func with(
        _ configuration: EmulatorConfiguration = EmulatorHarness.configuration(),
        _ body: (EmulatorHarness) async throws -> Void
    ) async throws {
        let emulator = PolarisEmulator(configuration: configuration)
        try await emulator.start()
        let harness = EmulatorHarness(emulator: emulator)
        do {
            try await body(harness)
        } catch {
            await emulator.stop()
            throw error
        }
        await emulator.stop()
    }

    /// A request to `path`: relative to the project URL unless it starts with `/`.
    @discardableResult
    func send(
        _ method: HTTPMethod, _ path: String, json: JSONValue? = nil, rawBody: String? = nil,
        contentType: String? = "application/json", auth: Auth = .apiKey
    ) async throws -> Reply {
        let url = path.hasPrefix("/") ? emulator.baseURL + path : emulator.projectURL + "/" + path
        var request = HTTPClientRequest(url: url)
        request.method = method
        switch auth {
        case .apiKey:
            let encoded = Data("\(Self.apiKey):".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(encoded)")
        case .none: break
        case .header(let value): request.headers.add(name: "Authorization", value: value)
        }
        if let json {
            let data = try JSONEncoder().encode(json)
            request.body = .bytes(ByteBuffer(bytes: Array(data)))
        } else if let rawBody {
            request.body = .bytes(ByteBuffer(string: rawBody))
        }
        if json != nil || rawBody != nil, let contentType {
            request.headers.add(name: "Content-Type", value: contentType)
        }
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(body.readableBytesView))
    }

    // MARK: Fixtures

    static func kinesisConnection(_ name: String = "orders-kinesis") -> JSONValue {
        json(
            """
            {"type":"kinesis","name":"\(name)","stream":"orders","awsEndpoint":"kinesis.us-east-1.amazonaws.com",
             "awsAssumedRoleArn":"arn:aws:iam::123456789012:role/polaris-kinesis-reader"}
            """)
    }

    static func streamingJob(
        table: String = "orders", connection: String = "orders-kinesis", extra: [String: JSONValue] = [:]
    ) -> JSONValue {
        var fields = json(
            """
            {"type":"streaming",
             "source":{"type":"connection","connectionName":"\(connection)","formatSettings":{"format":"nd-json"}},
             "target":{"type":"table","tableName":"\(table)"},
             "createTableIfNotExists":true,
             "mappings":[{"columnName":"__time","expression":"TIME_PARSE(\\"ts\\")","isAggregation":null}]}
            """
        ).objectValue!
        for (key, value) in extra { fields[key] = value }
        return .object(fields)
    }

    /// Creates the connection (once) and one streaming job; returns the job.
    func createStreamingJob(table: String = "orders", extra: [String: JSONValue] = [:]) async throws -> Job {
        if await emulator.connections().isEmpty {
            let created = try await send(.POST, "connections", json: Self.kinesisConnection())
            #expect(created.status == 201)
        }
        let reply = try await send(.POST, "jobs", json: Self.streamingJob(table: table, extra: extra))
        #expect(reply.status == 201, "\(reply.text)")
        return try reply.decode(Job.self)
    }
}

/// Parses JSON text (test fixtures read best as the JSON a client sends).
func json(_ text: String) -> JSONValue {
    do {
        return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    } catch {
        Issue.record("bad fixture JSON: \(text)")
        return .null
    }
}
