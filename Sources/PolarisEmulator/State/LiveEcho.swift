import PolarisAPI

/// What the live service does with a streaming job's request body: the checks it makes, and
/// the members it fills in when it echoes the job back.
///
/// The one exact picture of a live echo is the docs' sample exchange
/// (`docs/polaris/ingest-kinesis-by-api.txt`, summarised in docs/polaris/api-reference.md §0.1); the enums
/// are the OpenAPI document's (`shared/polaris/openapi/…derived.openapi.json`, schema names
/// given on each). A test keeps these lists equal to the document's.
enum LiveEcho {
    // MARK: Enums of the OpenAPI document

    /// `CreateStreamingJobRequest.readFromPoint` (`StreamingReadFromPoint`).
    static let readFromPoints: [String] = ["earliest", "latest"]

    /// `DataFormatSettings.format` (`DataFormat`).
    static let dataFormats: [String] = [
        "avro_ocf", "avro_stream", "csv", "kafka", "kinesis", "nd-json", "orc", "parquet", "protobuf",
    ]

    /// `FieldNameAndDataType.dataType` (`FieldNameAndDataTypeDataType`).
    static let inputDataTypes: [String] = [
        "bigint", "complex<json>", "double", "float", "geo", "HLLSketch", "ipAddress", "ipPrefix", "json", "long",
        "longStringPair", "doubleArray", "floatArray", "longArray", "stringArray", "quantilesDoublesSketch",
        "string", "thetaSketch", "ingest_timeseries", "timestamp", "varchar", "variance",
    ]

    /// Formats whose settings schema has a `flattenSpec` member (`JsonFormatSettings`,
    /// `AvroOcfFormatSettings`, `AvroStreamFormatSettings`, `OrcFormatSettings`,
    /// `ParquetFormatSettings`, `ProtobufFormatSettings`). The sample shows `flattenSpec: {}`
    /// filled in for `nd-json`; the others are filled in the same way **[INFERRED]**.
    static let formatsWithFlattenSpec: Set<String> = [
        "avro_ocf", "avro_stream", "nd-json", "orc", "parquet", "protobuf",
    ]

    /// The streaming members the live service repeats at the top level of a job: exactly the
    /// sample response's, which are also `StreamingJobResponse`'s. `useSchemaDiscovery` only
    /// when the request set it (the sample's request did; nothing says what an absent one
    /// becomes).
    static let topLevelStreamingKeys = [
        "source", "mappings", "dimensionExclusions", "useSchemaDiscovery", "filterExpression",
        "lateMessageRejectionPeriod", "earlyMessageRejectionPeriod", "readFromPoint", "maxParseExceptions",
    ]

    /// Defaults the live service fills in when the request leaves them out (sample response,
    /// docs/polaris/api-reference.md §4.3; the SDK sends the same values, §4.10).
    static let streamingDefaults: [(key: String, value: JSONValue)] = [
        ("readFromPoint", .string("latest")),
        ("maxParseExceptions", .int(2_147_483_647)),
        ("lateMessageRejectionPeriod", .string("P30D")),
        ("earlyMessageRejectionPeriod", .string("P2000D")),
        ("dimensionExclusions", .array([])),
        ("filterExpression", .null),
        ("replaceRunning", .bool(false)),
    ]

    // MARK: Validation

    /// The checks the live service makes on a job body beyond its structure: the OpenAPI
    /// enums. A 400 `ErrorResponse` whose `target` is the member's JSON path.
    static func validate(_ fields: [String: JSONValue]) throws(EmulatorError) {
        if let point = present(fields["readFromPoint"]) {
            guard let text = point.stringValue, readFromPoints.contains(text) else {
                throw .invalid(
                    "readFromPoint must be one of \(readFromPoints.joined(separator: ", ")), got \(describe(point)).",
                    target: "readFromPoint")
            }
        }
        guard let source = fields["source"]?.objectValue else { return }
        if let settings = present(source["formatSettings"]) {
            let target = "source.formatSettings.format"
            guard let format = settings["format"] else {
                throw .invalid("\(target) is required.", target: target)
            }
            guard let text = format.stringValue, dataFormats.contains(text) else {
                throw .invalid(
                    "\(target) must be one of \(dataFormats.joined(separator: ", ")), got \(describe(format)).",
                    target: target)
            }
        }
        if let schema = present(source["inputSchema"]) {
            guard let elements = schema.arrayValue else {
                throw .invalid("source.inputSchema must be an array.", target: "source.inputSchema")
            }
            for (index, element) in elements.enumerated() {
                let path = "source.inputSchema[\(index)]"
                guard element.objectValue != nil else {
                    throw .invalid("\(path) must be an object.", target: path)
                }
                guard element["name"]?.stringValue != nil else {
                    throw .invalid("\(path).name is required.", target: "\(path).name")
                }
                guard let type = element["dataType"] else {
                    throw .invalid("\(path).dataType is required.", target: "\(path).dataType")
                }
                guard let text = type.stringValue, inputDataTypes.contains(text) else {
                    throw .invalid(
                        "\(path).dataType must be one of \(inputDataTypes.joined(separator: ", ")), "
                            + "got \(describe(type)).",
                        target: "\(path).dataType")
                }
            }
        }
    }

    /// `value` unless it is absent or `null` (the service reads both the same).
    static func present(_ value: JSONValue?) -> JSONValue? {
        guard let value, value != .null else { return nil }
        return value
    }

    private static func describe(_ value: JSONValue) -> String {
        if let text = value.stringValue { return "[\(text)]" }
        return "a \(value.typeName)"
    }

    // MARK: Echo

    /// A streaming job's `spec` as the live service echoes it, except `desiredExecutionStatus`
    /// (the job's current one, added when the job is rendered): the request plus
    /// `source.formatSettings.flattenSpec: {}`, `mappings[].isAggregation: null`,
    /// `target.intervals: []` and `streamingDefaults` for members left out or `null`.
    /// `replaceRunning` echoes what the request sent (`false` when it left it out, as in the
    /// sample) **[INFERRED]** for an explicit `true`. `desiredExecutionStatus` in the request
    /// is ignored, as on create (docs/polaris/api-reference.md §4.5).
    static func streamingSpec(_ request: [String: JSONValue]) -> [String: JSONValue] {
        var spec = request
        spec["desiredExecutionStatus"] = nil
        if case .object(var source) = spec["source"] {
            if case .object(var settings) = source["formatSettings"], let format = settings["format"]?.stringValue,
                formatsWithFlattenSpec.contains(format), present(settings["flattenSpec"]) == nil
            {
                settings["flattenSpec"] = .object([:])
                source["formatSettings"] = .object(settings)
            }
            spec["source"] = .object(source)
        }
        if case .array(let mappings) = spec["mappings"] {
            spec["mappings"] = .array(
                mappings.map { mapping in
                    guard case .object(var members) = mapping else { return mapping }
                    if members["isAggregation"] == nil { members["isAggregation"] = .null }
                    return .object(members)
                })
        }
        if case .object(var target) = spec["target"] {
            if present(target["intervals"]) == nil { target["intervals"] = .array([]) }
            spec["target"] = .object(target)
        }
        for (key, value) in streamingDefaults where present(spec[key]) == nil { spec[key] = value }
        return spec
    }

    /// The members repeated at the top level of a streaming job, from its echoed spec.
    static func topLevel(_ echoedSpec: [String: JSONValue]) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        for key in topLevelStreamingKeys { fields[key] = echoedSpec[key] }
        return fields
    }
}
