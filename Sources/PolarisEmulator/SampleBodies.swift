import PolarisAPI

/// The sample request bodies of the Polaris docs page "Ingest from Amazon Kinesis by API"
/// (docs/polaris/ingest-kinesis-by-api.txt): the `stream-wiki` Kinesis connection and the
/// streaming job that reads it. For tests and benchmarks, so every target starts from the same
/// bodies the docs show rather than from its own copy.
public enum SampleBodies {
    /// The docs' connection body: a Kinesis connection on the demo role and the us-east-1 endpoint.
    public static func kinesisConnection(name: String = "stream-wiki", stream: String = "demo-stream")
        -> [String: JSONValue]
    {
        [
            "type": "kinesis", "name": .string(name), "stream": .string(stream),
            "awsEndpoint": "kinesis.us-east-1.amazonaws.com",
            "awsAssumedRoleArn": "arn:aws:iam::012345678901:role/demo-role",
        ]
    }

    /// The docs' streaming job body: nd-json with one `timestamp` column parsed into `__time`,
    /// creating its table if it does not exist. `useSchemaDiscovery` nil leaves the member out.
    public static func streamingSpec(
        table: String, connection: String = "stream-wiki", useSchemaDiscovery: Bool? = true
    ) -> JobSpec {
        var fields: [String: JSONValue] = [
            "type": "streaming",
            "source": [
                "type": "connection", "connectionName": .string(connection),
                "formatSettings": ["format": "nd-json"],
                "inputSchema": [["name": "timestamp", "dataType": "string"]],
            ],
            "target": ["type": "table", "tableName": .string(table)],
            "mappings": [["columnName": "__time", "expression": "TIME_PARSE(\"timestamp\")"]],
            "createTableIfNotExists": true,
        ]
        if let useSchemaDiscovery { fields["useSchemaDiscovery"] = .bool(useSchemaDiscovery) }
        return JobSpec(fields: fields)
    }
}
