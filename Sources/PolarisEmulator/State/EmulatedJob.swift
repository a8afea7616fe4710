import PolarisAPI

/// A job as the emulator keeps it: the submitted spec plus lifecycle state.
///
/// Responses have the members and shapes of the live service's (the docs' sample response,
/// docs/polaris/api-reference.md §0.1): a streaming job's `spec` is the request plus what the service fills in
/// (`LiveEcho.streamingSpec`), its streaming members are repeated at the top level, `target`
/// carries `intervals: []`, and `startedTimestamp`/`completedTimestamp` are `null` until set.
/// The wire fields that never change (`target`, the echoed spec and streaming fields, the
/// summary `source`) are computed once at creation so a list page renders without re-deriving
/// them from the spec.
struct EmulatedJob: Sendable {
    let id: String
    let type: String
    /// `spec` as echoed, without `desiredExecutionStatus` (the job's current one is added when
    /// rendered). Streaming: `LiveEcho.streamingSpec(request)`; other types: the request.
    let echoedSpec: [String: JSONValue]
    /// Streaming fields repeated at the top level of a `JobResponse` (`LiveEcho.topLevel`).
    let echoedFields: [String: JSONValue]
    let target: JSONValue?
    /// `source` as in the full response (the echoed spec's source object).
    let source: JSONValue?
    /// `source` as in a list summary: `{"type":"connection","connectionName":...}`.
    let summarySource: JSONValue?
    let tableName: String?
    let connectionName: String?
    let createdBy: PolarisUser
    let created: PolarisTimestamp
    /// The summary fields that never change, serialized once (`"createdBy":…,"id":…,…,`), so a
    /// 1,000-job list page costs little more than copying bytes.
    let summaryStaticBytes: [UInt8]

    var executionStatus: ExecutionStatus = .pending
    var desired: DesiredExecutionStatus = .running
    var health: JobHealth = .ok
    var lastModifiedBy: PolarisUser
    var lastUpdated: PolarisTimestamp
    var started: PolarisTimestamp?
    var completed: PolarisTimestamp?
    /// Clock reading (ns) when the current timed phase began: `pending` waiting for the start
    /// delay, or a non-streaming job `running` towards `completed`.
    var phaseStartedAt: Int64
    /// Clock reading (ns) at which a job replaced under `LiveBehaviour.ReplacedJob
    /// .runningUntilStopped` becomes `canceled`; nil otherwise.
    var stopsAt: Int64?
    /// A fault holds the job in its current (`pending`/`unknown`) status until released.
    var held = false
    var resetCount = 0
    var logs: [JobLogEntry] = []
    /// The counters as of `totalsAt`; `totals(at:rowsPerSecond:)` adds the growth since.
    var totals = IngestionJobTotals()
    /// Clock reading (ns) up to which `totals` is brought up to date (`settle`). Only read while
    /// the job is ingesting: every change into or out of ingesting settles first.
    var totalsAt: Int64
    /// The fraction of a row (in billionths) grown but not yet counted, so growth split across
    /// settlements adds up to exactly what one long stretch would.
    var rowCarry: Int64 = 0
    /// Counters frozen by the admin API (a silent stall): the job stays `running` with its
    /// health untouched, and nothing is logged.
    var stalled = false

    var isStreaming: Bool { type == "streaming" }

    /// Whether the counters grow: a streaming job `running` and not stalled (never `idle`,
    /// `pending`, `suspended`, `unknown` or terminal).
    var isIngesting: Bool { isStreaming && executionStatus == .running && !stalled }

    /// Bytes counted per row of growth in `numBytesProcessed`.
    static let bytesPerRow: Int64 = 100
    static let nanosPerSecond: Int64 = 1_000_000_000

    /// Rows grown from `totalsAt` to `now` and the carry left over (exact integer arithmetic:
    /// at r rows/s, any two reads at least 1/r s apart differ). `rowsPerSecond` is at most
    /// `EmulatorConfiguration.maxRowsPerSecond`, so nothing here overflows before saturating.
    private func growth(until now: Int64, rowsPerSecond rate: Int64) -> (rows: Int64, carry: Int64) {
        guard isIngesting, rate > 0, now > totalsAt else { return (0, rowCarry) }
        let elapsed = now - totalsAt
        let whole = (elapsed / Self.nanosPerSecond).multipliedReportingOverflow(by: rate)
        let part = (elapsed % Self.nanosPerSecond) * rate + rowCarry
        let rows = whole.overflow ? Int64.max : Self.add(whole.partialValue, part / Self.nanosPerSecond)
        return (rows, part % Self.nanosPerSecond)
    }

    /// The counters as `GET /jobs/{id}/metrics` reports them at `now`: `numRowsProcessed` and
    /// `numBytesProcessed` grown while ingesting (a counter set to absent stays absent).
    func totals(at now: Int64, rowsPerSecond: Int64) -> IngestionJobTotals {
        Self.grown(totals, by: growth(until: now, rowsPerSecond: rowsPerSecond).rows)
    }

    /// Brings `totals` up to `now`; called before any change that starts or stops growth.
    mutating func settle(at now: Int64, rowsPerSecond: Int64) {
        let (rows, carry) = growth(until: now, rowsPerSecond: rowsPerSecond)
        totals = Self.grown(totals, by: rows)
        rowCarry = carry
        totalsAt = now
    }

    private static func grown(_ totals: IngestionJobTotals, by rows: Int64) -> IngestionJobTotals {
        guard rows > 0 else { return totals }
        var result = totals
        result.numRowsProcessed = totals.numRowsProcessed.map { add($0, rows) }
        let bytes = rows.multipliedReportingOverflow(by: bytesPerRow)
        result.numBytesProcessed = totals.numBytesProcessed.map { add($0, bytes.overflow ? .max : bytes.partialValue) }
        return result
    }

    /// Saturating addition of non-negative counters.
    static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    init(id: String, spec: JobSpec, createdBy: PolarisUser, created: PolarisTimestamp, clock: Int64) {
        self.id = id
        self.type = spec.type ?? "streaming"
        self.tableName = spec.targetTable
        self.connectionName = spec.connectionName
        self.createdBy = createdBy
        self.lastModifiedBy = createdBy
        self.created = created
        self.lastUpdated = created
        self.phaseStartedAt = clock
        self.totalsAt = clock
        let summarySource: JSONValue?
        if type == "streaming" {
            echoedSpec = LiveEcho.streamingSpec(spec.fields)
            echoedFields = LiveEcho.topLevel(echoedSpec)
            summarySource = .object([
                "type": .string("connection"), "connectionName": connectionName.map(JSONValue.string) ?? .null,
            ])
        } else {
            echoedSpec = spec.fields
            echoedFields = [:]
            summarySource = spec.fields["source"].map { source in
                var summary: [String: JSONValue] = [:]
                for key in ["type", "connectionName", "tableName"] { summary[key] = source[key] }
                return .object(summary)
            }
        }
        self.target = echoedSpec["target"]
        self.source = echoedSpec["source"]
        self.summarySource = summarySource
        var fixed: [String: JSONValue] = [
            "createdBy": Self.json(createdBy), "createdTimestamp": .string(created.text), "id": .string(id),
            "type": .string(type),
        ]
        if let target { fixed["target"] = target }
        if let summarySource { fixed["source"] = summarySource }
        var bytes: [UInt8] = []
        JSONWriter.write(.object(fixed), into: &bytes)
        bytes.removeFirst()  // "{"
        bytes[bytes.count - 1] = UInt8(ascii: ",")  // "}" → ","
        summaryStaticBytes = bytes
    }

    /// The `spec` member as the live service sends it.
    var specJSON: [String: JSONValue] {
        guard isStreaming else { return echoedSpec }
        var spec = echoedSpec
        spec["desiredExecutionStatus"] = .string(desired.rawValue)
        return spec
    }

    /// Writes the `JobSummaryResponse` object; same content as `json(full: false, …)`.
    func writeSummary(into bytes: inout [UInt8], healthSpelling: HealthSpelling) {
        func key(_ name: String) {
            JSONWriter.writeString(name, into: &bytes)
            bytes.append(UInt8(ascii: ":"))
        }
        bytes.append(UInt8(ascii: "{"))
        bytes.append(contentsOf: summaryStaticBytes)
        key("executionStatus")
        JSONWriter.writeString(executionStatus.rawValue, into: &bytes)
        bytes.append(UInt8(ascii: ","))
        key("desiredExecutionStatus")
        JSONWriter.writeString(desired.rawValue, into: &bytes)
        bytes.append(UInt8(ascii: ","))
        key("health")
        if health == .ok {
            bytes.append(contentsOf: #"{"status":"ok"}"#.utf8)
        } else {
            JSONWriter.write(Self.json(health, spelling: healthSpelling), into: &bytes)
        }
        bytes.append(UInt8(ascii: ","))
        key("lastModifiedBy")
        JSONWriter.write(Self.json(lastModifiedBy), into: &bytes)
        bytes.append(UInt8(ascii: ","))
        key("lastUpdatedTimestamp")
        JSONWriter.writeString(lastUpdated.text, into: &bytes)
        // `null` until set, as in a full response (the sample response; `JobSummaryResponse`
        // has the same two members).
        func timestamp(_ name: String, _ value: PolarisTimestamp?) {
            bytes.append(UInt8(ascii: ","))
            key(name)
            if let value {
                JSONWriter.writeString(value.text, into: &bytes)
            } else {
                bytes.append(contentsOf: "null".utf8)
            }
        }
        timestamp("startedTimestamp", started)
        timestamp("completedTimestamp", completed)
        bytes.append(UInt8(ascii: "}"))
    }

    /// A `JobResponse` (`full`) or a `JobSummaryResponse` list item.
    func json(full: Bool, healthSpelling: HealthSpelling) -> JSONValue {
        var fields: [String: JSONValue] = full ? echoedFields : [:]
        fields["id"] = .string(id)
        fields["type"] = .string(type)
        fields["executionStatus"] = .string(executionStatus.rawValue)
        fields["desiredExecutionStatus"] = .string(desired.rawValue)
        fields["health"] = Self.json(health, spelling: healthSpelling)
        fields["createdBy"] = Self.json(createdBy)
        fields["lastModifiedBy"] = Self.json(lastModifiedBy)
        fields["createdTimestamp"] = .string(created.text)
        fields["lastUpdatedTimestamp"] = .string(lastUpdated.text)
        fields["startedTimestamp"] = started.map { .string($0.text) } ?? .null
        fields["completedTimestamp"] = completed.map { .string($0.text) } ?? .null
        if let target { fields["target"] = target }
        if full {
            fields["spec"] = .object(specJSON)
            if let source { fields["source"] = source }
        } else if let summarySource {
            fields["source"] = summarySource
        }
        return .object(fields)
    }

    /// The job as the client library models it (always the full response).
    func model(healthSpelling: HealthSpelling) -> Job {
        var others = echoedFields
        for key in ["source", "target"] { others[key] = nil }
        return Job(
            id: id, type: type, executionStatus: executionStatus, desiredExecutionStatus: desired, health: health,
            createdBy: createdBy, lastModifiedBy: lastModifiedBy, createdTimestamp: created,
            lastUpdatedTimestamp: lastUpdated, startedTimestamp: started, completedTimestamp: completed,
            spec: JobSpec(fields: specJSON),
            target: target, source: source, otherFields: others)
    }

    static func json(_ user: PolarisUser) -> JSONValue {
        .object([
            "username": user.username.map(JSONValue.string) ?? .null,
            "userId": user.userId.map(JSONValue.string) ?? .null,
        ])
    }

    static func json(_ health: JobHealth, spelling: HealthSpelling) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        fields["status"] = .string(health.status == .warn ? spelling.rawValue : health.status.rawValue)
        if let code = health.code { fields["code"] = .string(code) }
        if let message = health.message { fields["message"] = .string(message) }
        if let log = health.log { fields["log"] = json(log) }
        return .object(fields)
    }

    static func json(_ entry: JobLogEntry) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        if let timestamp = entry.timestamp { fields["timestamp"] = .string(timestamp.text) }
        if let status = entry.healthStatus { fields["healthStatus"] = .string(status) }
        if let code = entry.code { fields["code"] = .string(code) }
        if let message = entry.message { fields["message"] = .string(message) }
        return .object(fields)
    }

    static func json(_ totals: IngestionJobTotals) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        func put(_ key: String, _ value: Int64?) { if let value { fields[key] = .int(value) } }
        put("numRowsProcessed", totals.numRowsProcessed)
        put("numRowsProcessedWithWarning", totals.numRowsProcessedWithWarning)
        put("numRowsSkippedByError", totals.numRowsSkippedByError)
        put("numRowsSkippedByFilter", totals.numRowsSkippedByFilter)
        put("numBytesProcessed", totals.numBytesProcessed)
        put("numRowsPersisted", totals.numRowsPersisted)
        return .object(fields)
    }
}
