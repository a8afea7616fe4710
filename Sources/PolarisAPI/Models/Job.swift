/// A Polaris job: `JobResponse` from `GET /jobs/{id}` (with `spec`) or a `JobSummaryResponse`
/// list item (without it). Members this project does not model are kept in `otherFields` and
/// encoded back, so the emulator and the client round-trip unknown fields.
@dynamicMemberLookup
public struct Job: Hashable, Sendable {
    /// The members, behind one reference shared by every copy until one of them changes
    /// (copy on write): a job is copied into the warden's index, its matches, its decisions
    /// and its last observation, and inline its members took 440 bytes a copy (megabytes at
    /// 10,000 jobs). `job.id`, `job.health = ...` and `\Job.id` reach them as before.
    public struct Members: Hashable, Sendable {
        public var id: String
        /// `streaming`, `batch`, ...
        public var type: String
        public var executionStatus: ExecutionStatus
        public var desiredExecutionStatus: DesiredExecutionStatus?
        public var health: JobHealth
        public var createdBy: PolarisUser?
        public var lastModifiedBy: PolarisUser?
        public var createdTimestamp: PolarisTimestamp?
        public var lastUpdatedTimestamp: PolarisTimestamp?
        public var startedTimestamp: PolarisTimestamp?
        public var completedTimestamp: PolarisTimestamp?
        /// The submitted request, echoed; absent in list summaries.
        public var spec: JobSpec?
        /// `target` (`{"type":"table","tableName":...}`).
        public var target: JSONValue?
        /// `source` (`{"type":"connection","connectionName":...}` for streaming).
        public var source: JSONValue?
        /// Everything else (`mappings`, `readFromPoint`, ... at top level for streaming jobs).
        public var otherFields: [String: JSONValue]
    }

    @usableFromInline final class Box: @unchecked Sendable {
        // Mutated only through the subscript's setter, while uniquely referenced.
        @usableFromInline var members: Members
        @usableFromInline init(_ members: Members) { self.members = members }
    }

    @usableFromInline var box: Box

    /// Inlinable, so a member read in the warden's loops compiles to a field load rather than
    /// a key path applied at run time.
    @inlinable public subscript<Value>(dynamicMember member: WritableKeyPath<Members, Value>) -> Value {
        get { box.members[keyPath: member] }
        set {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.members) }
            box.members[keyPath: member] = newValue
        }
    }

    public static func == (lhs: Job, rhs: Job) -> Bool { lhs.box === rhs.box || lhs.box.members == rhs.box.members }

    public func hash(into hasher: inout Hasher) { hasher.combine(box.members) }

    public init(
        id: String, type: String, executionStatus: ExecutionStatus,
        desiredExecutionStatus: DesiredExecutionStatus? = .running, health: JobHealth = .ok,
        createdBy: PolarisUser? = nil, lastModifiedBy: PolarisUser? = nil,
        createdTimestamp: PolarisTimestamp? = nil, lastUpdatedTimestamp: PolarisTimestamp? = nil,
        startedTimestamp: PolarisTimestamp? = nil, completedTimestamp: PolarisTimestamp? = nil,
        spec: JobSpec? = nil, target: JSONValue? = nil, source: JSONValue? = nil,
        otherFields: [String: JSONValue] = [:]
    ) {
        box = Box(
            Members(
                id: id, type: type, executionStatus: executionStatus, desiredExecutionStatus: desiredExecutionStatus,
                health: health, createdBy: createdBy, lastModifiedBy: lastModifiedBy,
                createdTimestamp: createdTimestamp, lastUpdatedTimestamp: lastUpdatedTimestamp,
                startedTimestamp: startedTimestamp, completedTimestamp: completedTimestamp, spec: spec, target: target,
                source: source, otherFields: otherFields))
    }

    /// `target.tableName`.
    public var targetTable: String? { self.target?["tableName"]?.stringValue ?? self.spec?.targetTable }

    /// `source.connectionName`.
    public var connectionName: String? { self.source?["connectionName"]?.stringValue ?? self.spec?.connectionName }
}

extension Job: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static let modelled: Set<String> = [
        "id", "type", "executionStatus", "desiredExecutionStatus", "health", "createdBy", "lastModifiedBy",
        "createdTimestamp", "lastUpdatedTimestamp", "startedTimestamp", "completedTimestamp", "spec", "target",
        "source",
    ]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var others: [String: JSONValue] = [:]
        for key in container.allKeys where !Self.modelled.contains(key.stringValue) {
            others[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
        self.init(
            id: try container.decode(String.self, forKey: Key("id")),
            type: try container.decode(String.self, forKey: Key("type")),
            executionStatus: try container.decode(ExecutionStatus.self, forKey: Key("executionStatus")),
            desiredExecutionStatus: try container.decodeIfPresent(
                DesiredExecutionStatus.self, forKey: Key("desiredExecutionStatus")),
            health: try container.decodeIfPresent(JobHealth.self, forKey: Key("health")) ?? .ok,
            createdBy: try container.decodeIfPresent(PolarisUser.self, forKey: Key("createdBy")),
            lastModifiedBy: try container.decodeIfPresent(PolarisUser.self, forKey: Key("lastModifiedBy")),
            createdTimestamp: try container.decodeIfPresent(PolarisTimestamp.self, forKey: Key("createdTimestamp")),
            lastUpdatedTimestamp: try container.decodeIfPresent(
                PolarisTimestamp.self, forKey: Key("lastUpdatedTimestamp")),
            startedTimestamp: try container.decodeIfPresent(PolarisTimestamp.self, forKey: Key("startedTimestamp")),
            completedTimestamp: try container.decodeIfPresent(
                PolarisTimestamp.self, forKey: Key("completedTimestamp")),
            spec: try container.decodeIfPresent(JobSpec.self, forKey: Key("spec")),
            target: try container.decodeIfPresent(JSONValue.self, forKey: Key("target")),
            source: try container.decodeIfPresent(JSONValue.self, forKey: Key("source")),
            otherFields: others)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        let job = box.members
        for (key, value) in job.otherFields where !Self.modelled.contains(key) {
            try container.encode(value, forKey: Key(key))
        }
        try container.encode(job.id, forKey: Key("id"))
        try container.encode(job.type, forKey: Key("type"))
        try container.encode(job.executionStatus, forKey: Key("executionStatus"))
        try container.encodeIfPresent(job.desiredExecutionStatus, forKey: Key("desiredExecutionStatus"))
        try container.encode(job.health, forKey: Key("health"))
        try container.encodeIfPresent(job.createdBy, forKey: Key("createdBy"))
        try container.encodeIfPresent(job.lastModifiedBy, forKey: Key("lastModifiedBy"))
        try container.encodeIfPresent(job.createdTimestamp, forKey: Key("createdTimestamp"))
        try container.encodeIfPresent(job.lastUpdatedTimestamp, forKey: Key("lastUpdatedTimestamp"))
        try container.encodeIfPresent(job.startedTimestamp, forKey: Key("startedTimestamp"))
        try container.encodeIfPresent(job.completedTimestamp, forKey: Key("completedTimestamp"))
        try container.encodeIfPresent(job.spec, forKey: Key("spec"))
        try container.encodeIfPresent(job.target, forKey: Key("target"))
        try container.encodeIfPresent(job.source, forKey: Key("source"))
    }
}

/// `GET /jobs`: one page of job summaries.
public struct JobList: Hashable, Sendable, Codable {
    public var values: [Job]
    public var moreResultsAvailable: Bool

    public init(values: [Job], moreResultsAvailable: Bool) {
        self.values = values
        self.moreResultsAvailable = moreResultsAvailable
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // Summaries decode through a typed view: a 1,000-job page is read every cycle, and
        // building `JSONValue`s for every member would dominate the warden's CPU time.
        values = try container.decode([JobSummary].self, forKey: .values).map(\.job)
        moreResultsAvailable = try container.decodeIfPresent(Bool.self, forKey: .moreResultsAvailable) ?? false
    }
}

/// A `JobSummaryResponse` list item as the wire has it: the common job fields, the target
/// table and the source connection. Members the warden does not read are skipped.
struct JobSummary: Decodable {
    struct Target: Decodable {
        var type: String?
        var tableName: String?
    }

    struct Source: Decodable {
        var type: String?
        var connectionName: String?
    }

    var id: String
    var type: String
    var executionStatus: ExecutionStatus
    var desiredExecutionStatus: DesiredExecutionStatus?
    var health: JobHealth?
    var createdBy: PolarisUser?
    var lastModifiedBy: PolarisUser?
    var createdTimestamp: PolarisTimestamp?
    var lastUpdatedTimestamp: PolarisTimestamp?
    var startedTimestamp: PolarisTimestamp?
    var completedTimestamp: PolarisTimestamp?
    var target: Target?
    var source: Source?

    var job: Job {
        func object(_ members: [(String, String?)]) -> JSONValue {
            var fields: [String: JSONValue] = [:]
            for (key, value) in members { if let value { fields[key] = .string(value) } }
            return .object(fields)
        }
        return Job(
            id: id, type: type, executionStatus: executionStatus, desiredExecutionStatus: desiredExecutionStatus,
            health: health ?? .ok, createdBy: createdBy, lastModifiedBy: lastModifiedBy,
            createdTimestamp: createdTimestamp, lastUpdatedTimestamp: lastUpdatedTimestamp,
            startedTimestamp: startedTimestamp, completedTimestamp: completedTimestamp,
            target: target.map { object([("type", $0.type), ("tableName", $0.tableName)]) },
            source: source.map { object([("type", $0.type), ("connectionName", $0.connectionName)]) })
    }
}

/// `GET|POST /jobs/{id}/status`: `{"executionStatus": ...}`.
public struct JobStatusResponse: Hashable, Sendable, Codable {
    public var executionStatus: ExecutionStatus
    public init(executionStatus: ExecutionStatus) { self.executionStatus = executionStatus }
}

/// `POST /jobs/{id}/status` and the legacy `PUT /jobs/{id}` body.
public struct JobStatusRequest: Hashable, Sendable, Codable {
    public var desiredExecutionStatus: DesiredExecutionStatus
    public init(desiredExecutionStatus: DesiredExecutionStatus) {
        self.desiredExecutionStatus = desiredExecutionStatus
    }
}
