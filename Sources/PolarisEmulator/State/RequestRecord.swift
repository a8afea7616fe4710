import PolarisAPI

/// One request the emulator answered, as tests see it. Headers are deliberately absent: the
/// `Authorization` header carries the API key, which must never be logged or exposed.
public struct RequestRecord: Sendable, Hashable, Codable {
    public var method: String
    public var path: String
    /// The raw query string, nil when there was none.
    public var query: String?
    /// The status sent; nil when the connection was dropped by a fault.
    public var status: Int?
    /// `METHOD /template` relative to the project, e.g. `GET /jobs/{jobId}` (see `EmulatorCounters`).
    public var route: String
    public var timestamp: PolarisTimestamp
    /// The client's `User-Agent` (a warden with `highAvailability` names its instance there,
    /// so tests count each warden's writes).
    public var userAgent: String?

    public init(
        method: String, path: String, query: String?, status: Int?, route: String, timestamp: PolarisTimestamp
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.status = status
        self.route = route
        self.timestamp = timestamp
    }
}

extension RequestRecord {
    var json: JSONValue {
        .object([
            "method": .string(method), "path": .string(path), "query": query.map(JSONValue.string) ?? .null,
            "status": status.map { .int(Int64($0)) } ?? .null, "route": .string(route),
            "timestamp": .string(timestamp.text), "userAgent": userAgent.map(JSONValue.string) ?? .null,
        ])
    }
}
