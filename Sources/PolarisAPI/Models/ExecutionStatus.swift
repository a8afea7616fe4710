/// A job's `executionStatus` (`JobExecutionStatusV2`). A value a newer Polaris may add decodes
/// as `.unrecognized` instead of failing the whole job list.
public enum ExecutionStatus: Hashable, Sendable {
    case pending, running, completed, idle, canceled, failed, suspended, unknown
    case unrecognized(String)

    /// The eight documented values, in the reference's order.
    public static let documented: [ExecutionStatus] = [
        .pending, .running, .completed, .idle, .canceled, .failed, .suspended, .unknown,
    ]

    public init(rawValue: String) {
        self = Self.documented.first { $0.rawValue == rawValue } ?? .unrecognized(rawValue)
    }

    public var rawValue: String {
        switch self {
        case .pending: "pending"
        case .running: "running"
        case .completed: "completed"
        case .idle: "idle"
        case .canceled: "canceled"
        case .failed: "failed"
        case .suspended: "suspended"
        case .unknown: "unknown"
        case .unrecognized(let value): value
        }
    }

    /// Terminal states never change again; such a job can only be replaced by a new one.
    public var isTerminal: Bool {
        switch self {
        case .completed, .canceled, .failed: true
        default: false
        }
    }
}

extension ExecutionStatus: Codable, CustomStringConvertible {
    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
}

/// `desiredExecutionStatus`: what a client asks a job to become (`POST /jobs/{id}/status`).
public enum DesiredExecutionStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case running, canceled, suspended
}
