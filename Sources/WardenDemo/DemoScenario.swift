import PolarisAPI
import Warden

/// The demo's declared world: realistic Kinesis connections and streaming jobs, the seed's
/// `stream-wiki` / `wikipedia-kinesis` first.
public enum DemoScenario {
    /// Job names and the connection each reads; more jobs (`--jobs`) cycle through the connections.
    static let base: [(job: String, connection: String, stream: String)] = [
        ("wikipedia-kinesis", "stream-wiki", "demo-stream"),
        ("orders", "orders-kinesis", "orders"),
        ("clickstream", "clickstream-kinesis", "clickstream"),
        ("payments", "payments-kinesis", "payments"),
        ("sensor-telemetry", "telemetry-kinesis", "sensor-telemetry"),
        ("inventory", "orders-kinesis", "orders"),
    ]

    public static func jobNames(count: Int) -> [String] {
        (0..<max(count, base.count)).map { index in
            index < base.count ? base[index].job : "stream-\(index + 1)"
        }
    }

    public static func config(url: String, projectID: String, jobCount: Int, settings: SupervisorSettings)
        -> WardenConfig
    {
        var connections: [String: DesiredConnection] = [:]
        var jobs: [DesiredJob] = []
        for (index, name) in jobNames(count: jobCount).enumerated() {
            let entry = base[index % base.count]
            if connections[entry.connection] == nil {
                connections[entry.connection] = DesiredConnection(
                    name: entry.connection, managed: true, type: "kinesis",
                    fields: [
                        "type": "kinesis", "name": .string(entry.connection), "stream": .string(entry.stream),
                        "awsEndpoint": "kinesis.us-east-1.amazonaws.com",
                        "awsAssumedRoleArn": "arn:aws:iam::012345678901:role/demo-role",
                    ])
            }
            jobs.append(DesiredJob(name: name, spec: spec(table: name, connection: entry.connection)))
        }
        return WardenConfig(
            polaris: PolarisSettings(
                url: url, projectId: projectID, auth: .apiKey(.env("POLARIS_DEMO_API_KEY")),
                requestTimeoutSeconds: 2, maxRequestsPerSecond: 50),
            supervisor: settings,
            connections: connections.values.sorted { $0.name < $1.name },
            jobs: jobs)
    }

    static func spec(table: String, connection: String) -> JobSpec {
        JobSpec(fields: [
            "type": "streaming",
            "source": [
                "type": "connection", "connectionName": .string(connection),
                "formatSettings": ["format": "nd-json"],
                "inputSchema": [
                    ["name": "timestamp", "dataType": "string"], ["name": "payload", "dataType": "json"],
                ],
            ],
            "target": ["type": "table", "tableName": .string(table)],
            "mappings": [
                ["columnName": "__time", "expression": "TIME_PARSE(\"timestamp\")"],
                ["columnName": "payload", "expression": "\"payload\""],
            ],
            "createTableIfNotExists": true, "useSchemaDiscovery": true,
        ])
    }

    /// Quick thresholds so a minute shows every rung of the ladder, and a silent stall.
    public static func settings(pollInterval: Double) -> SupervisorSettings {
        var settings = SupervisorSettings()
        settings.pollIntervalSeconds = pollInterval
        settings.unhealthyThreshold = 2
        settings.healthyThreshold = 2
        settings.recreate.maxAttempts = 3
        settings.recreate.windowSeconds = 600
        settings.recreate.backoffInitialSeconds = pollInterval / 2
        settings.recreate.backoffMaxSeconds = pollInterval * 2
        settings.maxConcurrentActions = 4
        // Stall detection at its shortest (3 polls), replacing a stalled job; half the rate limit
        // (50/s) for metrics reads covers every job each poll, even at 0.5 s polls.
        var stall = SupervisorSettings.Stall()
        stall.afterSeconds = 3 * pollInterval
        stall.action = .replace
        stall.metricsShare = 0.5
        settings.stall = stall
        return settings
    }
}
