/// A Polaris connection (`ConnectionResponse`, discriminated by `type`).
///
/// Kinesis is modelled in full; other types (`kafka`, `confluent`, `s3`, ...) keep their
/// fields in `otherFields` so they pass through unchanged.
public struct Connection: Hashable, Sendable {
    /// `azure`, `confluent`, `confluent_schema_registry`, `kafka`, `kinesis`, `push_streaming`, `s3`.
    public var type: String
    /// 1–64 of ASCII letters, digits, `.`, `_`, `-`; the connection's identity.
    public var name: String
    public var description: String?
    /// Kinesis: the stream to read.
    public var stream: String?
    /// Kinesis/S3: e.g. `kinesis.us-east-1.amazonaws.com`.
    public var awsEndpoint: String?
    /// Kinesis/S3: the customer IAM role Imply assumes.
    public var awsAssumedRoleArn: String?
    public var submittedByUser: PolarisUser?
    public var modifiedByUser: PolarisUser?
    public var submittedOnTimestamp: String?
    public var modifiedOnTimestamp: String?
    /// Fields of other connection types, kept as received.
    public var otherFields: [String: JSONValue]

    public init(
        type: String, name: String, description: String? = nil, stream: String? = nil,
        awsEndpoint: String? = nil, awsAssumedRoleArn: String? = nil,
        submittedByUser: PolarisUser? = nil, modifiedByUser: PolarisUser? = nil,
        submittedOnTimestamp: String? = nil, modifiedOnTimestamp: String? = nil,
        otherFields: [String: JSONValue] = [:]
    ) {
        self.type = type
        self.name = name
        self.description = description
        self.stream = stream
        self.awsEndpoint = awsEndpoint
        self.awsAssumedRoleArn = awsAssumedRoleArn
        self.submittedByUser = submittedByUser
        self.modifiedByUser = modifiedByUser
        self.submittedOnTimestamp = submittedOnTimestamp
        self.modifiedOnTimestamp = modifiedOnTimestamp
        self.otherFields = otherFields
    }

    /// Builds a connection from a JSON object (a config entry or a request body).
    public init(json fields: [String: JSONValue]) throws(PolarisError) {
        guard let type = fields["type"]?.stringValue, let name = fields["name"]?.stringValue else {
            throw PolarisError.invalidRequest("a connection needs a string `type` and `name`")
        }
        self.init(type: type, name: name)
        apply(fields)
    }

    /// The read-only fields Polaris sets; never sent and never compared for drift.
    public static let readOnlyFields: Set<String> = [
        "submittedByUser", "modifiedByUser", "submittedOnTimestamp", "modifiedOnTimestamp", "endpointUrl",
    ]

    /// All members as JSON, as Polaris returns them.
    public var json: [String: JSONValue] {
        var fields = otherFields
        fields["type"] = .string(type)
        fields["name"] = .string(name)
        func put(_ key: String, _ value: String?) { if let value { fields[key] = .string(value) } }
        put("description", description)
        put("stream", stream)
        put("awsEndpoint", awsEndpoint)
        put("awsAssumedRoleArn", awsAssumedRoleArn)
        put("submittedOnTimestamp", submittedOnTimestamp)
        put("modifiedOnTimestamp", modifiedOnTimestamp)
        if let submittedByUser {
            fields["submittedByUser"] = .object([
                "username": submittedByUser.username.map(JSONValue.string) ?? .null,
                "userId": submittedByUser.userId.map(JSONValue.string) ?? .null,
            ])
        }
        if let modifiedByUser {
            fields["modifiedByUser"] = .object([
                "username": modifiedByUser.username.map(JSONValue.string) ?? .null,
                "userId": modifiedByUser.userId.map(JSONValue.string) ?? .null,
            ])
        }
        return fields
    }

    /// Overwrites the fields present in `fields` (a PATCH); `name` and `type` stay.
    public mutating func apply(_ fields: [String: JSONValue]) {
        for (key, value) in fields {
            switch key {
            case "type", "name": continue
            case "description": description = value.stringValue
            case "stream": stream = value.stringValue
            case "awsEndpoint": awsEndpoint = value.stringValue
            case "awsAssumedRoleArn": awsAssumedRoleArn = value.stringValue
            case "submittedOnTimestamp": submittedOnTimestamp = value.stringValue
            case "modifiedOnTimestamp": modifiedOnTimestamp = value.stringValue
            case "submittedByUser":
                submittedByUser = PolarisUser(
                    username: value["username"]?.stringValue, userId: value["userId"]?.stringValue)
            case "modifiedByUser":
                modifiedByUser = PolarisUser(
                    username: value["username"]?.stringValue, userId: value["userId"]?.stringValue)
            default: otherFields[key] = value
            }
        }
    }

    /// The desired fields that differ from this connection (what a PATCH must send), ignoring
    /// read-only fields and secrets, which Polaris never shows back.
    public func differences(from desired: [String: JSONValue]) -> [String: JSONValue] {
        let current = json
        var changed: [String: JSONValue] = [:]
        for (key, value) in desired where key != "name" && key != "secrets" && !Self.readOnlyFields.contains(key) {
            if current[key] != value { changed[key] = value }
        }
        return changed
    }
}

extension Connection: Codable {
    public init(from decoder: any Decoder) throws {
        let fields = try decoder.singleValueContainer().decode([String: JSONValue].self)
        do {
            try self.init(json: fields)
        } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(json)
    }
}

/// `GET /connections`: `{"values": [...]}` (no pagination).
public struct ConnectionList: Hashable, Sendable, Codable {
    public var values: [Connection]
    public init(values: [Connection]) { self.values = values }
}
