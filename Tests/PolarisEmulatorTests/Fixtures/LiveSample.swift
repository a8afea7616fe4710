/// The Polaris docs' own sample exchange, verbatim: the page "Ingest data from Amazon Kinesis by
/// API" as vendored in `docs/polaris/ingest-kinesis-by-api.txt` (docs/polaris/api-reference.md §0.1).
/// `connectionRequest` is the cURL `--data-raw` of "Create a connection to Amazon Kinesis",
/// `jobRequest` the cURL `--data` of "Start an ingestion job", and `jobResponse` the sample
/// response below it ("A successful request returns a 201 Created response …"), the one exact
/// picture of what the live service sends back. Copied byte for byte; do not edit.
enum LiveSample {
    static let connectionRequest = #"""
        {
        "type": "kinesis",
        "name": "stream-wiki",
        "awsAssumedRoleArn": "arn:aws:iam::012345678901:role/demo-role",
        "awsEndpoint": "kinesis.us-east-1.amazonaws.com",
        "stream": "demo-stream"
        }
        """#

    static let jobRequest = #"""
        {
        "type": "streaming",
        "source": {
        "type": "connection",
        "connectionName": "stream-wiki",
        "formatSettings": {
        "format": "nd-json"
        },
        "inputSchema": [
        {
        "name": "timestamp",
        "dataType": "string"
        }
        ]
        },
        "target": {
        "type": "table",
        "tableName": "wikipedia-kinesis"
        },
        "mappings": [
        {
        "columnName": "__time",
        "expression": "TIME_PARSE(\"timestamp\")"
        }
        ],
        "createTableIfNotExists": true,
        "useSchemaDiscovery": true
        }
        """#

    static let jobResponse = #"""
        {
        "source": {
        "connectionName": "stream-wiki",
        "formatSettings": {
        "flattenSpec": {},
        "format": "nd-json"
        },
        "inputSchema": [
        {
        "dataType": "string",
        "name": "timestamp"
        }
        ],
        "type": "connection"
        },
        "mappings": [
        {
        "columnName": "__time",
        "expression": "TIME_PARSE(\"timestamp\")",
        "isAggregation": null
        }
        ],
        "dimensionExclusions": [],
        "useSchemaDiscovery": true,
        "filterExpression": null,
        "lateMessageRejectionPeriod": "P30D",
        "earlyMessageRejectionPeriod": "P2000D",
        "readFromPoint": "latest",
        "maxParseExceptions": 2147483647,
        "createdBy": {
        "username": "api-key-pok_vipgj...bjjvyo",
        "userId": "a52cacf6-3ddc-48e5-8675-xxxxxxxxxxxx"
        },
        "createdTimestamp": "2023-09-12T23:17:39.142369067Z",
        "desiredExecutionStatus": "running",
        "executionStatus": "pending",
        "health": {
        "status": "ok"
        },
        "id": "018a8baf-a6c6-721f-b35a-284ffc8dce90",
        "lastModifiedBy": {
        "username": "api-key-pok_vipgj...bjjvyo",
        "userId": "a52cacf6-3ddc-48e5-8675-xxxxxxxxxxxx"
        },
        "lastUpdatedTimestamp": "2023-09-12T23:17:39.142369067Z",
        "spec": {
        "source": {
        "connectionName": "stream-wiki",
        "formatSettings": {
        "flattenSpec": {},
        "format": "nd-json"
        },
        "inputSchema": [
        {
        "dataType": "string",
        "name": "timestamp"
        }
        ],
        "type": "connection"
        },
        "target": {
        "tableName": "wikipedia-kinesis",
        "type": "table",
        "intervals": []
        },
        "createTableIfNotExists": true,
        "dimensionExclusions": [],
        "filterExpression": null,
        "lateMessageRejectionPeriod": "P30D",
        "earlyMessageRejectionPeriod": "P2000D",
        "mappings": [
        {
        "columnName": "__time",
        "expression": "TIME_PARSE(\"timestamp\")",
        "isAggregation": null
        }
        ],
        "maxParseExceptions": 2147483647,
        "readFromPoint": "latest",
        "useSchemaDiscovery": true,
        "replaceRunning": false,
        "type": "streaming",
        "desiredExecutionStatus": "running"
        },
        "target": {
        "tableName": "wikipedia-kinesis",
        "type": "table",
        "intervals": []
        },
        "type": "streaming",
        "completedTimestamp": null,
        "startedTimestamp": null
        }
        """#
}
