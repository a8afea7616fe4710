/// The query of `GET /jobs` (docs/polaris/api-reference.md §4.2). Repeated values of one parameter OR
/// together; different parameters AND.
public struct JobListFilter: Sendable, Hashable {
    public var types: [String] = []
    public var executionStatuses: [ExecutionStatus] = []
    public var healthStatuses: [String] = []
    public var connectionNames: [String] = []
    public var targetTableName: String?
    public var targetTableId: String?
    public var searchString: String?
    /// `created_date_time`, `last_updated_date_time` (Polaris's default), ...
    public var sortColumn: String?
    /// `ASC` or `DESC`.
    public var sortOrder: String?

    public init(
        types: [String] = [], executionStatuses: [ExecutionStatus] = [], healthStatuses: [String] = [],
        connectionNames: [String] = [], targetTableName: String? = nil, targetTableId: String? = nil,
        searchString: String? = nil, sortColumn: String? = nil, sortOrder: String? = nil
    ) {
        self.types = types
        self.executionStatuses = executionStatuses
        self.healthStatuses = healthStatuses
        self.connectionNames = connectionNames
        self.targetTableName = targetTableName
        self.targetTableId = targetTableId
        self.searchString = searchString
        self.sortColumn = sortColumn
        self.sortOrder = sortOrder
    }

    /// Every streaming job, oldest first. Sorting on creation time keeps pages stable while
    /// the walk runs: a job updated mid-walk does not move between pages.
    public static let allStreaming = JobListFilter(
        types: ["streaming"], sortColumn: "created_date_time", sortOrder: "ASC")

    /// Streaming jobs, most recently updated first: the delta read walks this only until it
    /// reaches jobs it read before (`JobIndex`).
    public static let recentlyUpdatedStreaming = JobListFilter(
        types: ["streaming"], sortColumn: "last_updated_date_time", sortOrder: "DESC")

    /// Streaming jobs whose health is `warn` or `error`, oldest first.
    public static let unhealthyStreaming = JobListFilter(
        types: ["streaming"], healthStatuses: ["warn", "error"], sortColumn: "created_date_time", sortOrder: "ASC")

    var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        items += types.map { ("type", $0) }
        items += executionStatuses.map { ("executionStatus", $0.rawValue) }
        items += healthStatuses.map { ("healthStatus", $0) }
        items += connectionNames.map { ("connectionName", $0) }
        if let targetTableName { items.append(("targetTableName", targetTableName)) }
        if let targetTableId { items.append(("targetTableId", targetTableId)) }
        if let searchString { items.append(("searchString", searchString)) }
        if let sortColumn { items.append(("sortColumn", sortColumn)) }
        if let sortOrder { items.append(("sortOrder", sortOrder)) }
        return items
    }
}
