import PolarisAPI

/// The filters, sort and page of `GET /jobs` (docs/polaris/api-reference.md §4.2), parsed and validated.
///
/// Repeating a parameter ORs its values; different parameters AND together. Invalid values are
/// a 400, as the spec's enums and bounds imply.
struct JobListQuery: Sendable, Equatable {
    enum SortColumn: String, Sendable, CaseIterable {
        case createdByUserName = "created_by_user_name"
        case createdDateTime = "created_date_time"
        case executionStatus = "execution_status"
        case lastUpdatedDateTime = "last_updated_date_time"
        case sourceName = "source_name"
        case sourceType = "source_type"
        case sourceConnectionName = "source_connection_name"
        case sourceTableName = "source_table_name"
        case targetTableName = "target_table_name"
        case type
    }

    static let jobTypes: Set<String> = ["batch", "delete_data", "drop_table", "restore_data", "streaming", "sql"]
    static let healthStatuses: Set<String> = ["ok", "warn", "error"]

    var types: Set<String> = []
    var executionStatuses: Set<String> = []
    var healthStatuses: Set<String> = []
    var connectionNames: Set<String> = []
    var targetTableName: String?
    var targetTableID: String?
    /// Lower-cased; matched case-insensitively against id, type, table and connection names.
    var searchString: String?
    var sortColumn: SortColumn = .lastUpdatedDateTime
    var ascending = false
    var limit = 100
    var offset = 0

    init() {}

    init(pairs: [(key: String, value: String)]) throws(EmulatorError) {
        func ints(_ key: String, _ text: String) throws(EmulatorError) -> Int {
            guard let value = Int(text) else { throw .invalid("\(key) must be an integer, got [\(text)]", target: key) }
            return value
        }
        for (key, value) in pairs {
            switch key {
            case "type":
                guard Self.jobTypes.contains(value) else { throw .invalid("unknown job type [\(value)]", target: key) }
                types.insert(value)
            case "executionStatus":
                if case .unrecognized = ExecutionStatus(rawValue: value) {
                    throw .invalid("unknown executionStatus [\(value)]", target: key)
                }
                executionStatuses.insert(value)
            case "healthStatus":
                // `warning` is the SDK's spelling of the same status.
                let normalized = value == "warning" ? "warn" : value
                guard Self.healthStatuses.contains(normalized) else {
                    throw .invalid("unknown healthStatus [\(value)]", target: key)
                }
                healthStatuses.insert(normalized)
            case "connectionName": connectionNames.insert(value)
            case "targetTableName":
                guard (1...255).contains(value.count) else {
                    throw .invalid("targetTableName must have 1 to 255 characters", target: key)
                }
                targetTableName = value
            case "targetTableId": targetTableID = value
            case "searchString": searchString = value.isEmpty ? nil : value.lowercased()
            case "sortColumn":
                guard let column = SortColumn(rawValue: value) else {
                    throw .invalid("unknown sortColumn [\(value)]", target: key)
                }
                sortColumn = column
            case "sortOrder":
                switch value.uppercased() {
                case "ASC": ascending = true
                case "DESC": ascending = false
                default: throw .invalid("sortOrder must be ASC or DESC, got [\(value)]", target: key)
                }
            case "paginationLimit":
                limit = try ints(key, value)
                guard (1...1000).contains(limit) else {
                    throw .invalid("paginationLimit must be between 1 and 1000, got \(limit)", target: key)
                }
            case "paginationOffset":
                offset = try ints(key, value)
                guard offset >= 0 else { throw .invalid("paginationOffset must be >= 0, got \(offset)", target: key) }
            default:
                continue  // Polaris ignores parameters it does not know.
            }
        }
    }

    /// True when any filter is set (otherwise every job matches).
    var hasFilters: Bool {
        !types.isEmpty || !executionStatuses.isEmpty || !healthStatuses.isEmpty || !connectionNames.isEmpty
            || targetTableName != nil || targetTableID != nil || searchString != nil
    }

    func matches(_ job: EmulatedJob, tableID: String?) -> Bool {
        if !types.isEmpty, !types.contains(job.type) { return false }
        if !executionStatuses.isEmpty, !executionStatuses.contains(job.executionStatus.rawValue) { return false }
        if !healthStatuses.isEmpty, !healthStatuses.contains(job.health.status.rawValue) { return false }
        if !connectionNames.isEmpty {
            guard let name = job.connectionName, connectionNames.contains(name) else { return false }
        }
        if let targetTableName, job.tableName != targetTableName { return false }
        if let targetTableID, tableID != targetTableID, job.tableName != targetTableID { return false }
        if let searchString {
            let haystacks = [job.id, job.type, job.tableName ?? "", job.connectionName ?? ""]
            guard haystacks.contains(where: { $0.lowercased().contains(searchString) }) else { return false }
        }
        return true
    }

    /// What the sort looks at for one job, small enough that sorting 10,000 of them does not
    /// copy whole jobs: `text` for string columns (empty for time columns), `time` for time
    /// columns (the creation time otherwise), then creation time and id as tie-breakers so
    /// pages never overlap or skip a job.
    struct SortEntry: Sendable {
        let text: String
        let time: (Int64, Int32)
        let created: (Int64, Int32)
        let id: String
    }

    func sortEntry(_ job: EmulatedJob) -> SortEntry {
        let created = (job.created.seconds, job.created.nanoseconds)
        let text: String
        var time = created
        switch sortColumn {
        case .createdByUserName: text = job.createdBy.username ?? ""
        case .createdDateTime: text = ""
        case .executionStatus: text = job.executionStatus.rawValue
        case .lastUpdatedDateTime:
            text = ""
            time = (job.lastUpdated.seconds, job.lastUpdated.nanoseconds)
        case .sourceName, .sourceConnectionName: text = job.connectionName ?? ""
        case .sourceType: text = job.source?["type"]?.stringValue ?? ""
        case .sourceTableName: text = job.source?["tableName"]?.stringValue ?? ""
        case .targetTableName: text = job.tableName ?? ""
        case .type: text = job.type
        }
        return SortEntry(text: text, time: time, created: created, id: job.id)
    }

    /// Strict "comes before" in the requested order.
    func precedes(_ lhs: SortEntry, _ rhs: SortEntry) -> Bool {
        if lhs.text != rhs.text { return ascending == (lhs.text < rhs.text) }
        if lhs.time != rhs.time { return ascending == (lhs.time < rhs.time) }
        if lhs.created != rhs.created { return ascending == (lhs.created < rhs.created) }
        return ascending == (lhs.id < rhs.id)
    }
}
