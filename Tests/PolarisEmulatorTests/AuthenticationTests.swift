import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

@Suite("Authentication and project scoping")
struct AuthenticationTests {
    @Test func basicAuthFormsAreAccepted() async throws {
        try await EmulatorHarness.with { harness in
            let standard = Data("\(EmulatorHarness.apiKey):".utf8).base64EncodedString()
            #expect(standard.contains("+") && standard.contains("/") && standard.hasSuffix("="))
            let urlSafe = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            let unpadded = urlSafe.trimmingCharacters(in: CharacterSet(charactersIn: "="))
            for header in [
                "Basic \(standard)", "Basic \(urlSafe)", "Basic \(unpadded)", "Basic \(EmulatorHarness.apiKey)",
                "basic \(standard)",
            ] {
                let reply = try await harness.send(.GET, "connections", auth: .header(header))
                #expect(reply.status == 200, "\(header)")
                #expect(reply.headers.first(name: "Content-Type") == "application/json")
            }
        }
    }

    @Test func missingOrWrongCredentialsAre401WithAMessage() async throws {
        try await EmulatorHarness.with { harness in
            let wrongKey = Data("pok_wrong:".utf8).base64EncodedString()
            let withPassword = Data("\(EmulatorHarness.apiKey):password".utf8).base64EncodedString()
            let cases: [EmulatorHarness.Auth] = [
                .none, .header("Basic \(wrongKey)"), .header("Basic \(withPassword)"), .header("Basic"),
                .header("Digest abc"), .header("Bearer nope"), .header("Basic %%%"),
            ]
            for auth in cases {
                let reply = try await harness.send(.GET, "jobs", auth: auth)
                #expect(reply.status == 401)
                #expect(reply.json["message"]?.stringValue?.isEmpty == false)
                #expect(!reply.text.contains(EmulatorHarness.apiKey))
            }
        }
    }

    @Test func unknownProjectIs404ErrorResponse() async throws {
        try await EmulatorHarness.with { harness in
            let reply = try await harness.send(.GET, "/v1/projects/00000000-0000-0000-0000-000000000000/jobs")
            #expect(reply.status == 404)
            #expect(reply.isErrorResponse)
            // Auth comes first: an unauthenticated caller learns nothing about projects.
            let anonymous = try await harness.send(
                .GET, "/v1/projects/00000000-0000-0000-0000-000000000000/jobs", auth: .none)
            #expect(anonymous.status == 401)
        }
    }

    @Test func unknownRouteIs404ErrorResponse() async throws {
        try await EmulatorHarness.with { harness in
            let reply = try await harness.send(.GET, "no-such-thing")
            #expect(reply.status == 404)
            #expect(reply.isErrorResponse)
            #expect(await harness.emulator.counters()["GET (unmatched)"] == 1)
        }
    }

    @Test func oauthTokenIsAcceptedUntilItExpires() async throws {
        try await EmulatorHarness.with { harness in
            let form = "grant_type=client_credentials&client_id=warden&client_secret=s3cret"
            let token = try await harness.send(
                .POST, "/_emulator/oauth/token", rawBody: form, contentType: "application/x-www-form-urlencoded",
                auth: .none)
            #expect(token.status == 200)
            #expect(token.json["token_type"]?.stringValue == "Bearer")
            #expect(token.json["expires_in"]?.intValue == 300)
            let accessToken = try #require(token.json["access_token"]?.stringValue)

            let ok = try await harness.send(.GET, "jobs", auth: .header("Bearer \(accessToken)"))
            #expect(ok.status == 200)

            await harness.emulator.advance(by: .seconds(301))
            let expired = try await harness.send(.GET, "jobs", auth: .header("Bearer \(accessToken)"))
            #expect(expired.status == 401)
            #expect(expired.json["message"]?.stringValue == #"Token claims invalid: ["exp"]="token expired""#)

            #expect(await harness.emulator.counters()["POST /_emulator/oauth/token"] == 1)
        }
    }

    @Test func oauthRejectsBadClientsAndGrants() async throws {
        try await EmulatorHarness.with { harness in
            let badSecret = try await harness.send(
                .POST, "/_emulator/oauth/token",
                rawBody: "grant_type=client_credentials&client_id=warden&client_secret=wrong",
                contentType: "application/x-www-form-urlencoded", auth: .none)
            #expect(badSecret.status == 401)
            #expect(badSecret.json["error"]?.stringValue == "invalid_client")
            let badGrant = try await harness.send(
                .POST, "/_emulator/oauth/token", rawBody: "grant_type=password&client_id=warden&client_secret=s3cret",
                contentType: "application/x-www-form-urlencoded", auth: .none)
            #expect(badGrant.status == 400)
        }
    }

    @Test func configuredStaticBearerTokenIsAccepted() async throws {
        try await EmulatorHarness.with { harness in
            let reply = try await harness.send(.GET, "jobs", auth: .header("Bearer static-token"))
            #expect(reply.status == 200)
        }
    }

    @Test func requestLogNeverContainsTheKey() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.send(.GET, "jobs")
            let log = try await harness.send(.GET, "/_emulator/requests", auth: .none)
            #expect(log.status == 200)
            #expect(log.json["values"]?.arrayValue?.count == 1)
            let encoded = Data("\(EmulatorHarness.apiKey):".utf8).base64EncodedString()
            #expect(!log.text.contains(encoded) && !log.text.contains(EmulatorHarness.apiKey))
            #expect(!log.text.lowercased().contains("authorization"))
        }
    }
}
