/// A job's `health` (`JobHealthV2`, discriminated by `status`).
public struct JobHealth: Hashable, Sendable {
    public enum Status: Hashable, Sendable {
        case ok, warn, error
        case unrecognized(String)

        /// Accepts `warning`, the spelling of the SDK's discriminator, as well as `warn`.
        public init(rawValue: String) {
            switch rawValue {
            case "ok": self = .ok
            case "warn", "warning": self = .warn
            case "error": self = .error
            default: self = .unrecognized(rawValue)
            }
        }

        public var rawValue: String {
            switch self {
            case .ok: "ok"
            case .warn: "warn"
            case .error: "error"
            case .unrecognized(let value): value
            }
        }
    }

    public var status: Status
    /// `lost_connection_to_source`, `could_not_connect_to_source`, ... (warn and error only).
    public var code: String?
    public var message: String?
    public var log: JobLogEntry?

    public init(status: Status, code: String? = nil, message: String? = nil, log: JobLogEntry? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.log = log
    }

    public static let ok = JobHealth(status: .ok)
}

extension JobHealth: Codable {
    private enum CodingKeys: String, CodingKey { case status, code, message, log }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        status = Status(rawValue: try container.decode(String.self, forKey: .status))
        code = try container.decodeIfPresent(String.self, forKey: .code)
        message = try container.decodeIfPresent(String.self, forKey: .message)
        log = try container.decodeIfPresent(JobLogEntry.self, forKey: .log)
    }

    public func encode(to encoder: any Encoder) throws {
        try encode(to: encoder, statusSpelling: status.rawValue)
    }

    /// Encodes with a chosen spelling of the status (the emulator can send `warning`).
    public func encode(to encoder: any Encoder, statusSpelling: String) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(statusSpelling, forKey: .status)
        try container.encodeIfPresent(code, forKey: .code)
        try container.encodeIfPresent(message, forKey: .message)
        try container.encodeIfPresent(log, forKey: .log)
    }
}

/// `JobLogEntry`: one line of a job's log, also attached to warn/error health.
public struct JobLogEntry: Hashable, Sendable, Codable {
    public var timestamp: PolarisTimestamp?
    public var healthStatus: String?
    public var code: String?
    public var message: String?

    public init(
        timestamp: PolarisTimestamp? = nil, healthStatus: String? = nil, code: String? = nil, message: String? = nil
    ) {
        self.timestamp = timestamp
        self.healthStatus = healthStatus
        self.code = code
        self.message = message
    }
}

/// `GET /jobs/{id}/logs`.
public struct JobLogs: Hashable, Sendable, Codable {
    public var logs: [JobLogEntry]
    public init(logs: [JobLogEntry]) { self.logs = logs }
}

/// `GET /jobs/{id}/metrics`: `{"totals": {...}}`.
public struct JobMetrics: Hashable, Sendable, Codable {
    public var totals: IngestionJobTotals
    public init(totals: IngestionJobTotals) { self.totals = totals }
}

/// Row counters of a job. The docs spell one field `numRowsProcessedWithWarnings`, the SDK
/// `numRowsProcessedWithWarning`: both decode.
public struct IngestionJobTotals: Hashable, Sendable, Codable {
    public var numRowsProcessed: Int64?
    public var numRowsProcessedWithWarning: Int64?
    public var numRowsSkippedByError: Int64?
    public var numRowsSkippedByFilter: Int64?
    public var numBytesProcessed: Int64?
    public var numRowsPersisted: Int64?

    private enum CodingKeys: String, CodingKey {
        case numRowsProcessed, numRowsProcessedWithWarning, numRowsProcessedWithWarnings
        case numRowsSkippedByError, numRowsSkippedByFilter, numBytesProcessed, numRowsPersisted
    }

    public init(
        numRowsProcessed: Int64? = nil, numRowsProcessedWithWarning: Int64? = nil,
        numRowsSkippedByError: Int64? = nil, numRowsSkippedByFilter: Int64? = nil,
        numBytesProcessed: Int64? = nil, numRowsPersisted: Int64? = nil
    ) {
        self.numRowsProcessed = numRowsProcessed
        self.numRowsProcessedWithWarning = numRowsProcessedWithWarning
        self.numRowsSkippedByError = numRowsSkippedByError
        self.numRowsSkippedByFilter = numRowsSkippedByFilter
        self.numBytesProcessed = numBytesProcessed
        self.numRowsPersisted = numRowsPersisted
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        numRowsProcessed = try container.decodeIfPresent(Int64.self, forKey: .numRowsProcessed)
        numRowsProcessedWithWarning =
            try container.decodeIfPresent(Int64.self, forKey: .numRowsProcessedWithWarning)
            ?? container.decodeIfPresent(Int64.self, forKey: .numRowsProcessedWithWarnings)
        numRowsSkippedByError = try container.decodeIfPresent(Int64.self, forKey: .numRowsSkippedByError)
        numRowsSkippedByFilter = try container.decodeIfPresent(Int64.self, forKey: .numRowsSkippedByFilter)
        numBytesProcessed = try container.decodeIfPresent(Int64.self, forKey: .numBytesProcessed)
        numRowsPersisted = try container.decodeIfPresent(Int64.self, forKey: .numRowsPersisted)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(numRowsProcessed, forKey: .numRowsProcessed)
        try container.encodeIfPresent(numRowsProcessedWithWarning, forKey: .numRowsProcessedWithWarning)
        try container.encodeIfPresent(numRowsSkippedByError, forKey: .numRowsSkippedByError)
        try container.encodeIfPresent(numRowsSkippedByFilter, forKey: .numRowsSkippedByFilter)
        try container.encodeIfPresent(numBytesProcessed, forKey: .numBytesProcessed)
        try container.encodeIfPresent(numRowsPersisted, forKey: .numRowsPersisted)
    }
}
