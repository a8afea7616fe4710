/// A Polaris project as `GET /v1/projects/{projectId}` returns it (docs/polaris/api-reference.md §1.1): only
/// `metadata.name` and `status.state` are read; the warden holds every write while the state
/// is not `running` (a paused project fails every new job).
public struct Project: Hashable, Sendable, Decodable {
    public var name: String?
    public var state: ProjectState

    public init(name: String? = nil, state: ProjectState) {
        self.name = name
        self.state = state
    }

    private struct Metadata: Decodable { var name: String? }
    private struct Status: Decodable { var state: ProjectState? }
    private enum CodingKeys: String, CodingKey { case metadata, status }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(Metadata.self, forKey: .metadata)?.name
        state = try container.decodeIfPresent(Status.self, forKey: .status)?.state ?? .unknown
    }
}

/// `status.state` of a project. Values the OpenAPI document lists: creating, pending, running,
/// pausing, paused, stopping, stopped, deleting, deleted, updating, balancing, failed, resuming,
/// unknown, restarting. Only `running` lets jobs run; a value this version does not know is
/// kept as it was sent.
public struct ProjectState: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public var description: String { rawValue }

    public static let running = ProjectState(rawValue: "running")
    public static let paused = ProjectState(rawValue: "paused")
    public static let pausing = ProjectState(rawValue: "pausing")
    public static let resuming = ProjectState(rawValue: "resuming")
    public static let unknown = ProjectState(rawValue: "unknown")

    /// Jobs run only in a `running` project: anything else holds the warden's writes.
    public var runsJobs: Bool { self == .running }
}
