import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

@Suite("Connections v1")
struct ConnectionsAPITests {
    @Test func createGetListUpdateDelete() async throws {
        try await EmulatorHarness.with { harness in
            var body = EmulatorHarness.kinesisConnection().objectValue!
            body["secrets"] = .object(["type": .string("access_key"), "accessKeySecret": .string("hidden")])
            let created = try await harness.send(.POST, "connections", json: .object(body))
            #expect(created.status == 201)
            #expect(
                created.headers.first(name: "Location") == "\(harness.emulator.projectURL)/connections/orders-kinesis")
            let connection = try created.decode(Connection.self)
            #expect(connection.stream == "orders")
            #expect(connection.submittedByUser != nil && connection.submittedOnTimestamp != nil)
            #expect(connection.otherFields["secrets"] == nil)  // never shown back

            let fetched = try await harness.send(.GET, "connections/orders-kinesis")
            #expect(fetched.status == 200)
            #expect(try fetched.decode(Connection.self).awsEndpoint == "kinesis.us-east-1.amazonaws.com")

            let list = try await harness.send(.GET, "connections")
            #expect(try list.decode(ConnectionList.self).values.map(\.name) == ["orders-kinesis"])

            let patched = try await harness.send(
                .PATCH, "connections/orders-kinesis", json: json(#"{"type":"kinesis","stream":"orders-v2"}"#))
            #expect(patched.status == 200)
            #expect(try patched.decode(Connection.self).stream == "orders-v2")
            #expect(try patched.decode(Connection.self).awsEndpoint == "kinesis.us-east-1.amazonaws.com")

            let deleted = try await harness.send(.DELETE, "connections/orders-kinesis")
            #expect(deleted.status == 200)
            #expect(deleted.body.isEmpty)
            #expect(try await harness.send(.GET, "connections/orders-kinesis").status == 404)
        }
    }

    @Test func documentedErrors() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.send(.POST, "connections", json: EmulatorHarness.kinesisConnection())

            let duplicate = try await harness.send(.POST, "connections", json: EmulatorHarness.kinesisConnection())
            #expect(duplicate.status == 409)
            #expect(duplicate.isErrorResponse)

            for bad in [
                #"{"type":"kinesis","name":"bad name!"}"#, #"{"type":"kinesis"}"#, #"{"name":"x"}"#,
                #"{"type":"ftp","name":"x"}"#, "[]",
                "{\"type\":\"kinesis\",\"name\":\"\(String(repeating: "a", count: 65))\"}",
            ] {
                let reply = try await harness.send(.POST, "connections", rawBody: bad)
                #expect(reply.status == 400, "\(bad)")
                #expect(reply.isErrorResponse)
            }
            let notJSON = try await harness.send(.POST, "connections", rawBody: "{nope")
            #expect(notJSON.status == 400 && notJSON.isErrorResponse)

            let wrongType = try await harness.send(
                .POST, "connections", rawBody: "{}", contentType: "text/plain")
            #expect(wrongType.status == 415 && wrongType.isErrorResponse)
            let noType = try await harness.send(.POST, "connections", rawBody: "{}", contentType: nil)
            #expect(noType.status == 415)
            let withCharset = try await harness.send(
                .POST, "connections", json: EmulatorHarness.kinesisConnection("b"),
                contentType: "application/json; charset=utf-8")
            #expect(withCharset.status == 201)

            #expect(try await harness.send(.GET, "connections/missing").status == 404)
            #expect(try await harness.send(.DELETE, "connections/missing").status == 404)
            #expect(try await harness.send(.POST, "connections/missing/test").status == 404)
            let patchMissing = try await harness.send(.PATCH, "connections/missing", json: json(#"{"type":"kinesis"}"#))
            #expect(patchMissing.status == 404 && patchMissing.isErrorResponse)

            let patchNoType = try await harness.send(
                .PATCH, "connections/orders-kinesis", json: json(#"{"stream":"x"}"#))
            #expect(patchNoType.status == 400 && patchNoType.isErrorResponse)
            let patchOtherType = try await harness.send(
                .PATCH, "connections/orders-kinesis", json: json(#"{"type":"kafka"}"#))
            #expect(patchOtherType.status == 400)
            let patchRename = try await harness.send(
                .PATCH, "connections/orders-kinesis", json: json(#"{"type":"kinesis","name":"renamed"}"#))
            #expect(patchRename.status == 400)
            let patchWrongMedia = try await harness.send(
                .PATCH, "connections/orders-kinesis", rawBody: #"{"type":"kinesis"}"#, contentType: "text/plain")
            #expect(patchWrongMedia.status == 415)
        }
    }

    @Test func connectionTestSucceedsUntilAFaultSaysOtherwise() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.send(.POST, "connections", json: EmulatorHarness.kinesisConnection())
            let ok = try await harness.send(.POST, "connections/orders-kinesis/test")
            #expect(ok.status == 200 && ok.body.isEmpty)

            await harness.emulator.setConnectionTestFailure(
                name: "orders-kinesis", (code: "AccessDenied", message: "trust policy does not name Imply"))
            let failed = try await harness.send(.POST, "connections/orders-kinesis/test")
            #expect(failed.status == 400)
            let error = try failed.decode(PolarisErrorBody.self)
            #expect(error.code == "AccessDenied" && error.message == "trust policy does not name Imply")

            // And through the admin API.
            let healed = try await harness.send(
                .DELETE, "/_emulator/connections/orders-kinesis/test-failure", auth: .none)
            #expect(healed.status == 200)
            #expect(try await harness.send(.POST, "connections/orders-kinesis/test").status == 200)
            try await harness.send(
                .PUT, "/_emulator/connections/orders-kinesis/test-failure", json: .object([:]), auth: .none)
            #expect(try await harness.send(.POST, "connections/orders-kinesis/test").status == 400)
        }
    }

    @Test func connectionsMeta() async throws {
        try await EmulatorHarness.with { harness in
            let reply = try await harness.send(.GET, "connectionsMeta")
            #expect(reply.status == 200)
            #expect(reply.json["externalId"]?.stringValue != nil && reply.json["implyArn"]?.stringValue != nil)
        }
    }
}
