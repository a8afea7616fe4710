import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

@testable import Warden

#if canImport(Glibc)
import Glibc
#endif

/// `polaris-warden doctor` against the emulator: every check passes on a good set-up, each
/// broken piece fails with its fix, and Polaris sees only GETs and connection tests (the
/// emulator's request log, as for `plan`).
@Suite struct DoctorTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let key = "pok_doctor_test_key"

    /// A temp directory with config.json, api-key (0600) and units/polaris-warden.service: the
    /// shipped unit with its two paths pointed into the directory.
    struct Setup {
        var emulator: PolarisEmulator
        var directory: String
        var options: Doctor.Options

        var keyPath: String { directory + "/api-key" }
        var unitPath: String { directory + "/units/polaris-warden.service" }

        static func make(
            key: String = DoctorTests.key, credential: String = "polaris-api-key", managed: Bool = true
        ) async throws -> Setup {
            let emulator = PolarisEmulator(configuration: EmulatorConfiguration(apiKey: DoctorTests.key))
            _ = try await emulator.start()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("doctor-\(UUID())").path
            try FileManager.default.createDirectory(atPath: directory + "/units", withIntermediateDirectories: true)
            let connection =
                managed
                ? #"{"type": "kinesis", "name": "stream-wiki", "stream": "demo-stream", "awsEndpoint": "kinesis.us-east-1.amazonaws.com", "awsAssumedRoleArn": "arn:aws:iam::012345678901:role/demo-role"}"#
                : #"{"name": "stream-wiki", "managed": false}"#
            let job = { (name: String) in
                #"{"name": "\#(name)", "spec": {"type": "streaming", "source": {"type": "connection", "connectionName": "stream-wiki", "formatSettings": {"format": "nd-json"}, "inputSchema": [{"name": "timestamp", "dataType": "string"}]}, "target": {"type": "table", "tableName": "\#(name)"}, "mappings": [{"columnName": "__time", "expression": "TIME_PARSE(\"timestamp\")"}], "createTableIfNotExists": true, "useSchemaDiscovery": true}}"#
            }
            let config = """
                {"polaris": {"url": "\(emulator.baseURL)", "projectId": "\(emulator.projectID)",
                             "auth": {"type": "apiKey", "credential": "\(credential)"}},
                 "connections": [\(connection)], "jobs": [\(job("a")), \(job("b"))]}
                """
            try config.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
            try (key + "\n").write(toFile: directory + "/api-key", atomically: true, encoding: .utf8)
            chmod(directory + "/api-key", 0o600)
            let unit = try String(
                contentsOf: DoctorTests.repository.appendingPathComponent("systemd/polaris-warden.service"),
                encoding: .utf8
            )
            .replacingOccurrences(of: "/etc/polaris-warden/api-key", with: directory + "/api-key")
            .replacingOccurrences(of: "/etc/polaris-warden/config.json", with: directory + "/config.json")
            try unit.write(toFile: directory + "/units/polaris-warden.service", atomically: true, encoding: .utf8)
            let options = Doctor.Options(
                configPath: directory + "/config.json", stateDirectory: directory + "/state",
                unitDirectories: [directory + "/units"], keyOwner: getuid())
            return Setup(emulator: emulator, directory: directory, options: options)
        }

        func run() async -> [String: DoctorCheck] {
            let checks = await Doctor.run(options)
            return Dictionary(checks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        }

        /// A client for the emulator with the good key, after it has created `stream-wiki`.
        func clientWithConnection() async throws -> PolarisClient {
            let client = PolarisClient(
                configuration: try PolarisClientConfiguration(
                    url: emulator.baseURL, projectID: emulator.projectID,
                    authentication: .apiKey(Secret(DoctorTests.key))))
            _ = try await client.createConnection(WardenConfig.connectionFields("stream-wiki"))
            return client
        }

        func stop() async {
            await emulator.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test func aGoodSetUpPassesEveryCheckWithReadsAndConnectionTestsOnly() async throws {
        let setup = try await Setup.make()
        let client = try await setup.clientWithConnection()
        let existing = try await client.createJob(WardenConfig.spec(table: "a"))
        await setup.emulator.resetRequestLog()

        let checks = await Doctor.run(setup.options)
        #expect(
            checks.map(\.name) == [
                "config", "unit", "key", "api", "project", "connection stream-wiki", "job a", "job b", "state",
            ])
        for check in checks {
            #expect(check.status == .pass, "\(check.name): \(check.detail)")
        }
        let byName = Dictionary(uniqueKeysWithValues: checks.map { ($0.name, $0) })
        #expect(byName["job a"]?.detail.contains(existing.id) == true)
        #expect(byName["job b"]?.detail.contains("creates one") == true)
        #expect(byName["connection stream-wiki"]?.detail.contains("connection test passes") == true)

        let requests = await setup.emulator.requestLog()
        #expect(requests.contains { $0.method == "POST" && $0.path.hasSuffix("/connections/stream-wiki/test") })
        let writes = requests.filter { $0.method != "GET" && !($0.method == "POST" && $0.path.hasSuffix("/test")) }
        #expect(writes.isEmpty, "doctor wrote to Polaris: \(writes.map(\.route))")
        #expect(await setup.emulator.allJobs().map(\.id) == [existing.id])
        #expect(!FileManager.default.fileExists(atPath: setup.directory + "/state"), "doctor made the state directory")
        await setup.stop()
    }

    @Test func aKeyOthersCanReadFailsAndPolarisIsNotAsked() async throws {
        let setup = try await Setup.make()
        chmod(setup.keyPath, 0o644)
        let checks = await setup.run()
        Self.expect(checks["key"], .fail, fix: "chmod 0600 \(setup.keyPath)")
        Self.expect(checks["api"], .skip)
        #expect(await setup.emulator.requestLog().isEmpty)
        await setup.stop()
    }

    @Test func aWrongKeyIsReportedAsRejected() async throws {
        let setup = try await Setup.make(key: "pok_not_the_key")
        let checks = await setup.run()
        Self.expect(checks["key"], .pass)
        Self.expect(checks["api"], .fail, detail: "rejects the key")
        await setup.stop()
    }

    @Test func aFailingConnectionTestAndAMissingUnmanagedConnectionFail() async throws {
        let setup = try await Setup.make()
        _ = try await setup.clientWithConnection()
        await setup.emulator.setConnectionTestFailure(
            name: "stream-wiki", (code: "AccessDenied", message: "not authorized to perform sts:AssumeRole"))
        Self.expect(await setup.run()["connection stream-wiki"], .fail, detail: "sts:AssumeRole")
        await setup.stop()

        let unmanaged = try await Setup.make(managed: false)
        Self.expect(await unmanaged.run()["connection stream-wiki"], .fail, detail: "managed")
        await unmanaged.stop()
    }

    @Test func aPausedProjectFails() async throws {
        let setup = try await Setup.make()
        await setup.emulator.pauseProject()
        let checks = await setup.run()
        Self.expect(checks["api"], .pass)
        Self.expect(checks["project"], .fail, detail: "paused")
        await setup.stop()
    }

    @Test func aCredentialTheUnitDoesNotLoadFails() async throws {
        let setup = try await Setup.make(credential: "other-key")
        let checks = await setup.run()
        Self.expect(checks["unit"], .fail, fix: "\"credential\": \"polaris-api-key\"")
        Self.expect(checks["key"], .fail)
        await setup.stop()
    }

    @Test func anInvalidConfigFailsWithItsPath() async throws {
        let setup = try await Setup.make()
        try #"{"polaris": {}}"#.write(toFile: setup.options.configPath, atomically: true, encoding: .utf8)
        let checks = await Doctor.run(setup.options)
        #expect(checks.first?.name == "config")
        Self.expect(checks.first, .fail, detail: "polaris.url")
        #expect(await setup.emulator.requestLog().isEmpty)
        await setup.stop()
    }

    /// Expects `check` to be there with `status`, its detail containing `detail` and its fix
    /// containing `fix` (each when given). Failures point at the caller.
    static func expect(
        _ check: DoctorCheck?, _ status: DoctorCheck.Status, detail: String? = nil, fix: String? = nil,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        #expect(check?.status == status, "\(check?.name ?? "missing check")", sourceLocation: sourceLocation)
        if let detail {
            #expect(
                check?.detail.contains(detail) == true, "detail: \(check?.detail ?? "-")",
                sourceLocation: sourceLocation)
        }
        if let fix {
            #expect(check?.fix?.contains(fix) == true, "fix: \(check?.fix ?? "-")", sourceLocation: sourceLocation)
        }
    }

    /// The shipped template, read as an instance: `%i` expanded; a drop-in adds a credential.
    @Test func templateUnitIsReadAsItsInstance() throws {
        let text = try String(
            contentsOf: Self.repository.appendingPathComponent("systemd/polaris-warden@.service"), encoding: .utf8)
        var unit = UnitFile.parse(text, path: "polaris-warden@.service", instance: "north")
        #expect(unit.configPath == "/etc/polaris-warden/north.json")
        #expect(unit.credentials == ["polaris-api-key": "/etc/polaris-warden/north.api-key"])
        unit.merge(UnitFile.parse("[Service]\nLoadCredential=oauth:/etc/o\n", path: "d.conf", instance: "north"))
        #expect(unit.credentials["oauth"] == "/etc/o")
        #expect(unit.configPath == "/etc/polaris-warden/north.json")
    }
}
