import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

@testable import Warden

/// SIGHUP's work, in process: validate first, keep the old config on error, swap on success.
@Suite struct ReloadTests {
    @Test func aBadConfigKeepsTheOldOneAndAGoodOneIsApplied() async throws {
        let harness = try await WardenHarness.make()
        await harness.cycle()
        let configFile = harness.stateDirectory + "/config.json"
        let url = harness.emulator.baseURL
        let project = harness.emulator.projectID
        func write(_ tables: [String]) throws {
            let jobs = tables.map { table in
                """
                {"name": "\(table)", "spec": {"type": "streaming",
                  "source": {"type": "connection", "connectionName": "stream-wiki"},
                  "target": {"type": "table", "tableName": "\(table)"}, "createTableIfNotExists": true}}
                """
            }
            try """
            {"polaris": {"url": "\(url)", "projectId": "\(project)", "auth": {"type": "apiKey", "env": "POLARIS_API_KEY"}},
             "connections": [{"type": "kinesis", "name": "stream-wiki", "stream": "demo-stream",
                              "awsAssumedRoleArn": "arn:aws:iam::012345678901:role/demo-role"}],
             "jobs": [\(jobs.joined(separator: ","))]}
            """.write(toFile: configFile, atomically: true, encoding: .utf8)
        }
        var options = WardenService.Options(
            configPath: configFile, stateDirectory: harness.stateDirectory,
            environment: ["POLARIS_API_KEY": WardenHarness.apiKey])
        options.maxCycles = 1
        let service = WardenService(
            supervisor: harness.supervisor, options: options, watchdog: nil, logger: harness.recorder.logger)

        try #"{"polaris": {"url": "ftp://nowhere"}, "jobs": [{"name": 1}]}"#.write(
            toFile: configFile, atomically: true, encoding: .utf8)
        await service.reload()
        let rejected = harness.recorder.events("config-rejected")
        #expect(rejected.count == 1)
        #expect(rejected.first?.message.contains("polaris.url") == true, "\(rejected.first?.message ?? "")")
        #expect(await harness.supervisor.config == harness.config, "the old config is still in force")

        try write(["wikipedia-kinesis", "orders"])
        await service.reload()
        #expect(harness.recorder.events("reloaded").count == 1)
        #expect(await harness.supervisor.config.jobs.map(\.name) == ["wikipedia-kinesis", "orders"])
        await harness.cycle()
        #expect(await harness.aliveJobs(on: "orders").count == 1)
        await harness.stop()
    }
}
