import Foundation
import Logging
import PolarisAPI
import PolarisEmulator
import Testing

@testable import Warden

/// The API key and the OAuth client secret never reach a log line, an error text, a journal
/// event or the state file, on the success paths and the failure paths alike.
@Suite struct SecretHygieneTests {
    static let apiKey = "pok_hygiene_key_0c9e4d"
    static let oauthSecret = "oauth-hygiene-secret-51b7"

    func assertClean(_ texts: [String], _ context: String) {
        for text in texts {
            #expect(!text.contains(Self.apiKey), "API key leaked in \(context): \(text)")
            #expect(!text.contains(Self.oauthSecret), "OAuth secret leaked in \(context): \(text)")
        }
    }

    @Test func clientLogsAndErrorsNeverCarryTheKey() async throws {
        let emulator = PolarisEmulator(
            configuration: EmulatorConfiguration(apiKey: Self.apiKey, oauthClients: ["warden": Self.oauthSecret]))
        _ = try await emulator.start()
        let recorder = LogRecorder()
        var errors: [String] = []
        func client(_ authentication: PolarisClientConfiguration.Authentication) throws -> PolarisClient {
            PolarisClient(
                configuration: try PolarisClientConfiguration(
                    url: emulator.baseURL, projectID: emulator.projectID, authentication: authentication,
                    requestTimeout: .seconds(10),
                    retry: RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(5), maxDelay: .milliseconds(10))),
                logger: recorder.logger)
        }
        let good = try client(.apiKey(Secret(Self.apiKey)))
        let wrongKey = try client(.apiKey(Secret(Self.apiKey + "-wrong")))
        let oauth = try client(
            .oauth(
                clientID: "warden", clientSecret: Secret(Self.oauthSecret),
                tokenURL: emulator.baseURL + "/_emulator/oauth/token"))
        let badOAuth = try client(
            .oauth(
                clientID: "warden", clientSecret: Secret(Self.oauthSecret + "-wrong"),
                tokenURL: emulator.baseURL + "/_emulator/oauth/token"))

        _ = try await emulator.inject(.status(503, count: 1, method: "GET"))
        _ = try await good.listConnections()
        _ = try await oauth.listConnections()
        for attempt in [
            { _ = try await wrongKey.listConnections() },
            { _ = try await badOAuth.listConnections() },
            { _ = try await good.getJob(id: "missing") },
            {
                _ = try await emulator.inject(.status(500, count: 1, method: "POST"))
                _ = try await good.createConnection(WardenConfig.connectionFields("c1"))
            },
        ] as [() async throws -> Void] {
            do {
                try await attempt()
                Issue.record("expected a failure")
            } catch {
                errors.append("\(error)")
                errors.append(String(reflecting: error))
            }
        }
        await emulator.stop()
        #expect(errors.count == 8)
        assertClean(errors, "errors")
        assertClean(recorder.all.map { "\($0.message) \($0.metadata)" }, "client log")
        let requestLog = await emulator.requestLog().map { "\($0)" }
        assertClean(requestLog, "emulator request log")
    }

    @Test func wardenEventsAndStateFileNeverCarryTheKey() async throws {
        let harness = try await WardenHarness.make()
        let id = try await harness.jobIDAfterCycle()
        try await harness.emulator.failJob(id: id, code: "internal_error")
        _ = try await harness.emulator.inject(.status(401, count: 4, method: "GET"))
        await harness.cycle()
        await harness.cycles(until: { await harness.aliveJobs(on: "wikipedia-kinesis").count == 1 }, advance: 5)
        #expect(harness.recorder.events("auth-failed").count == 1)
        let texts = harness.recorder.all.map { "\($0.message) \($0.metadata)" }
        #expect(!texts.contains { $0.contains(WardenHarness.apiKey) })
        let state = try String(contentsOfFile: harness.stateDirectory + "/state.json", encoding: .utf8)
        #expect(!state.contains(WardenHarness.apiKey))
        await harness.stop()
    }

    @Test func aMissingCredentialIsReportedWithoutContent() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cred-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let keyFile = directory.appendingPathComponent("api-key")
        try Self.apiKey.write(to: keyFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile.path)
        let error = #expect(throws: (any Error).self) {
            _ = try SecretResolver.resolve(.file(keyFile.path), environment: [:])
        }
        #expect("\(error!)".contains(keyFile.path), "the message says which file")
        assertClean(["\(error!)", String(reflecting: error!)], "credential error")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile.path)
        let secret = try SecretResolver.resolve(.file(keyFile.path), environment: [:])
        #expect(secret.reveal() == Self.apiKey)
        assertClean(["\(secret)"], "secret description")
    }
}
