import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Jobs v1 (docs/polaris/api-reference.md §4): creation rules, the lifecycle and the client-facing operations.
extension EmulatorStore {
    // MARK: Lifecycle clock

    /// Applies due timed transitions to one job.
    func advance(_ id: String) {
        guard timedJobIDs.contains(id), var job = jobs[id] else { return }
        let before = job.executionStatus
        if !step(&job, now: nowNanos()) { timedJobIDs.remove(id) }
        // Write back only on a change: every write invalidates the list's sort cache.
        if job.executionStatus != before { jobs[id] = job }
    }

    func advanceAll() {
        guard !timedJobIDs.isEmpty else { return }
        for id in timedJobIDs { advance(id) }
    }

    /// A replaced job still stopping (`stopsAt`) becomes `canceled` when it is due;
    /// `pending` → `running` once the start delay has passed; a non-streaming job then goes
    /// `running` → `completed` after the same delay. Returns whether a timed transition is
    /// still ahead. Transition timestamps are when it became due, not when it was noticed.
    private func step(_ job: inout EmulatedJob, now: Int64) -> Bool {
        if let stopsAt = job.stopsAt {
            guard now >= stopsAt else { return true }
            job.settle(at: stopsAt, rowsPerSecond: rowsPerSecond)  // it ingested until it stopped
            let stamp = Self.timestamp(nanos: stopsAt)
            let reason = "Stopped after being replaced (replaceRunning)."
            job.stopsAt = nil
            job.executionStatus = .canceled
            job.health = JobHealth(
                status: .error, code: "canceled", message: reason,
                log: JobLogEntry(timestamp: stamp, healthStatus: "error", code: "canceled", message: reason))
            job.lastUpdated = max(job.lastUpdated, stamp)
            job.logs.append(JobLogEntry(timestamp: stamp, healthStatus: "error", code: "canceled", message: reason))
            return false
        }
        if job.held { return false }
        let delay = Self.nanos(startDelay)
        if job.executionStatus == .pending, job.desired == .running {
            guard now - job.phaseStartedAt >= delay else { return true }
            let due = job.phaseStartedAt + delay
            let stamp = Self.timestamp(nanos: due)
            job.executionStatus = .running
            job.totalsAt = due  // pending grew nothing; growth starts when it began running
            if job.started == nil { job.started = stamp }
            job.lastUpdated = max(job.lastUpdated, stamp)
            job.phaseStartedAt = due
            job.logs.append(
                JobLogEntry(timestamp: stamp, healthStatus: "ok", code: "running", message: "Job is running."))
            if job.isStreaming { return false }
        }
        if !job.isStreaming, job.executionStatus == .running {
            guard now - job.phaseStartedAt >= delay else { return true }
            let stamp = Self.timestamp(nanos: job.phaseStartedAt + delay)
            job.executionStatus = .completed
            job.completed = stamp
            job.lastUpdated = max(job.lastUpdated, stamp)
            job.logs.append(
                JobLogEntry(timestamp: stamp, healthStatus: "ok", code: "completed", message: "Job completed."))
        }
        return false
    }

    // MARK: Create

    /// `POST /jobs`. Returns the new job's id.
    ///
    /// Rules: a known `type`; `target` `{"type":"table","tableName":...}`; the table must exist
    /// unless `createTableIfNotExists`; streaming jobs need `source.type == "connection"` naming an
    /// existing connection and no non-empty `target.intervals`; `readFromPoint`,
    /// `source.formatSettings.format` and `source.inputSchema[].dataType` must be values of the
    /// OpenAPI enums (`LiveEcho.validate`); one non-terminal streaming job per table, unless
    /// `replaceRunning`, which replaces the holder (`LiveBehaviour.replacedJob`).
    /// `desiredExecutionStatus` is ignored (docs/polaris/api-reference.md §4.5), so a spec copied back from a
    /// live response (`intervals: []`, `flattenSpec: {}`, `isAggregation: null`,
    /// `desiredExecutionStatus`, `replaceRunning: false`, `dimensionExclusions: []`,
    /// `filterExpression: null`) is accepted as it is.
    public func createJob(_ body: JSONValue, by user: PolarisUser = apiKeyUser) throws(EmulatorError) -> String {
        guard let fields = body.objectValue else { throw .invalid("The request body must be a JSON object.") }
        guard let type = fields["type"]?.stringValue else { throw .invalid("type is required.", target: "type") }
        guard JobListQuery.jobTypes.contains(type) else {
            throw .invalid("Unsupported job type [\(type)].", target: "type")
        }
        let spec = JobSpec(fields: fields)
        guard let target = fields["target"]?.objectValue, target["type"]?.stringValue == "table",
            let table = target["tableName"]?.stringValue, (1...255).contains(table.count)
        else {
            throw .invalid("target must be {\"type\":\"table\",\"tableName\":<1 to 255 characters>}.", target: "target")
        }
        if let intervals = LiveEcho.present(target["intervals"]), intervals.arrayValue == nil {
            throw .invalid("target.intervals must be an array.", target: "target.intervals")
        }
        if type == "streaming" {
            guard let source = fields["source"]?.objectValue, source["type"]?.stringValue == "connection" else {
                throw .invalid("A streaming job needs a source of type [connection].", target: "source")
            }
            guard let connectionName = source["connectionName"]?.stringValue else {
                throw .invalid("source.connectionName is required.", target: "source.connectionName")
            }
            guard connections[connectionName] != nil else {
                throw .invalid("Connection [\(connectionName)] does not exist.", target: "source.connectionName")
            }
            // The live echo carries `intervals: []`, so a spec pasted back from a GET has it.
            guard target["intervals"]?.arrayValue?.isEmpty ?? true else {
                throw .invalid("target.intervals must not be set for a streaming job.", target: "target.intervals")
            }
        }
        try LiveEcho.validate(fields)
        for flag in ["createTableIfNotExists", "replaceRunning"] {
            if let value = LiveEcho.present(fields[flag]), value.boolValue == nil {
                throw .invalid("\(flag) must be a boolean.", target: flag)
            }
        }
        guard tables[table] != nil || spec.createTableIfNotExists else {
            throw .invalid(
                "Table [\(table)] does not exist. Create it first or set createTableIfNotExists to true.",
                target: "target.tableName")
        }
        if type == "streaming", let holder = streamingHolders[table], !spec.replaceRunning {
            throw tableHeldError(table: table, holder: holder)
        }
        if tables[table] == nil { tables[table] = Table(id: Self.newID(), name: table, created: nextTimestamp()) }
        let id = Self.newID()
        if type == "streaming", let holder = streamingHolders[table], var old = jobs[holder] {
            replace(&old, by: user, newJobID: id)
            jobs[holder] = old
        }
        insert(makeJob(id: id, spec: spec, user: user))
        advance(id)
        failIfIncident(id)
        return id
    }

    /// The refusal of a second streaming job on a table: status and wording per
    /// `LiveBehaviour.tableHeldStatus`/`tableHeldMessage` ([INFERRED] docs/polaris/api-reference.md §4.7).
    func tableHeldError(table: String, holder: String) -> EmulatorError {
        let status = behaviour.tableHeldStatus
        return EmulatorError(
            status: EmulatorGateMiddleware.status(code: status),
            code: status == 409 ? "AlreadyExists" : "InvalidArgument",
            message: behaviour.tableHeldMessage
                ?? "Table [\(table)] already has a streaming ingestion job [\(holder)]. "
                + "A table can only be targeted by one streaming job at a time; "
                + "set replaceRunning to true to replace it.",
            target: "target.tableName",
            innererror: [
                "code": .string("StreamingJobExists"),
                "message": .string("streaming job \(holder) holds table \(table)"),
                "jobId": .string(holder),
            ])
    }

    /// Ends the job a `replaceRunning` create replaces, per `LiveBehaviour.replacedJob`
    /// ([INFERRED] docs/polaris/api-reference.md §4.7). The table goes to the new job at once in every reading.
    func replace(_ old: inout EmulatedJob, by user: PolarisUser, newJobID: String) {
        old.settle(at: nowNanos(), rowsPerSecond: rowsPerSecond)
        let reason = "Replaced by streaming job [\(newJobID)] (replaceRunning)."
        switch behaviour.replacedJob {
        case .canceled:
            cancel(&old, by: user, reason: reason)
        case .failed:
            fail(&old, code: "internal_error", message: reason)
            old.lastModifiedBy = user
            release(tableOf: old)
        case .runningUntilStopped:
            old.desired = .canceled
            old.held = false
            old.stopsAt = nowNanos() + Self.nanos(startDelay)
            old.lastModifiedBy = user
            old.lastUpdated = nextTimestamp()
            old.logs.append(
                JobLogEntry(timestamp: old.lastUpdated, healthStatus: "ok", code: "stopping", message: reason))
            release(tableOf: old)
            timedJobIDs.insert(old.id)
        }
    }

    func makeJob(id: String, spec: JobSpec, user: PolarisUser) -> EmulatedJob {
        let created = nextTimestamp()
        var job = EmulatedJob(id: id, spec: spec, createdBy: user, created: created, clock: nowNanos())
        job.logs.append(JobLogEntry(timestamp: created, healthStatus: "ok", code: "created", message: "Job created."))
        job.totals = IngestionJobTotals(
            numRowsProcessed: 0, numRowsProcessedWithWarning: 0, numRowsSkippedByError: 0, numRowsSkippedByFilter: 0,
            numBytesProcessed: 0, numRowsPersisted: job.isStreaming ? nil : 0)
        return job
    }

    func insert(_ job: EmulatedJob) {
        jobs[job.id] = job
        if job.executionStatus == .pending || (!job.isStreaming && job.executionStatus == .running) {
            timedJobIDs.insert(job.id)
        }
        if job.isStreaming, !job.executionStatus.isTerminal, let table = job.tableName {
            streamingHolders[table] = job.id
        }
    }

    static func newID() -> String { UUID().uuidString.lowercased() }

    // MARK: Read

    /// The job with its timed transitions applied and its counters settled to now, so a caller
    /// that changes it and writes it back starts or stops growth at the right moment (a caller
    /// that only reads discards the settled copy, and the list's sort cache stays valid).
    func existingJob(_ id: String) throws(EmulatorError) -> EmulatedJob {
        advance(id)
        guard var job = jobs[id] else { throw .notFound("Job [\(id)] not found.") }
        job.settle(at: nowNanos(), rowsPerSecond: rowsPerSecond)
        return job
    }

    /// A `JobResponse` body.
    func jobJSON(_ id: String) throws(EmulatorError) -> JSONValue {
        try existingJob(id).json(full: true, healthSpelling: healthSpelling)
    }

    /// One job as the client library models it; nil when unknown.
    public func job(id: String) -> Job? {
        advance(id)
        return jobs[id]?.model(healthSpelling: healthSpelling)
    }

    /// Every job, oldest first.
    public func allJobs() -> [Job] {
        advanceAll()
        return jobs.values.sorted { $0.created < $1.created }.map { $0.model(healthSpelling: healthSpelling) }
    }

    /// Jobs whose target is `table`, oldest first.
    public func jobs(onTable table: String) -> [Job] {
        advanceAll()
        return jobs.values.filter { $0.tableName == table }.sorted { $0.created < $1.created }
            .map { $0.model(healthSpelling: healthSpelling) }
    }

    /// How many times `POST /jobs/{id}/reset` succeeded for a job.
    public func resetCount(jobID: String) -> Int? { jobs[jobID]?.resetCount }

    /// Table names, sorted.
    public func tableNames() -> [String] { tables.keys.sorted() }

    /// `GET /jobs`: filter, sort and page, answered as the finished response body.
    ///
    /// The sorted order is cached per sort column and reused until a job changes, so walking
    /// the pages of 10,000 jobs sorts once; summaries are written straight to bytes.
    func listJobsBody(_ query: JobListQuery) -> (body: [UInt8], count: Int, moreResultsAvailable: Bool) {
        advanceAll()
        let sorted = sortedEntries(query)
        var page: [String] = []
        page.reserveCapacity(min(query.limit, sorted.count))
        var skipped = 0
        var more = false
        let filtering = query.hasFilters
        for index in sorted.indices {
            let entry = query.ascending ? sorted[index] : sorted[sorted.count - 1 - index]
            if filtering {
                guard let job = jobs[entry.id],
                    query.matches(job, tableID: query.targetTableID == nil ? nil : tableID(of: job))
                else { continue }
            }
            if skipped < query.offset {
                skipped += 1
            } else if page.count < query.limit {
                page.append(entry.id)
            } else {
                more = true  // one match past the page is enough to know
                break
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(page.count * 700 + 64)
        bytes.append(contentsOf: #"{"values":["#.utf8)
        for (index, id) in page.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            jobs[id]?.writeSummary(into: &bytes, healthSpelling: healthSpelling)
        }
        bytes.append(contentsOf: "],\"moreResultsAvailable\":\(more)}".utf8)
        return (bytes, page.count, more)
    }

    /// All jobs in ascending order of `query.sortColumn` (ties: creation time, then id).
    private func sortedEntries(_ query: JobListQuery) -> [JobListQuery.SortEntry] {
        if let cached = sortCache, cached.column == query.sortColumn, cached.version == jobsVersion {
            return cached.entries
        }
        var ascending = query
        ascending.ascending = true
        var entries: [JobListQuery.SortEntry] = []
        entries.reserveCapacity(jobs.count)
        for job in jobs.values { entries.append(ascending.sortEntry(job)) }
        entries.sort(by: ascending.precedes)
        sortCache = (query.sortColumn, jobsVersion, entries)
        return entries
    }

    private func tableID(of job: EmulatedJob) -> String? { job.tableName.flatMap { tables[$0]?.id } }

    // MARK: Status changes

    /// `POST /jobs/{id}/status` and `PUT /jobs/{id}`. Terminal jobs (`canceled`, `failed`,
    /// `completed`) refuse every change with a 400.
    @discardableResult
    public func setDesiredStatus(jobID id: String, _ desired: DesiredExecutionStatus, by user: PolarisUser = apiKeyUser)
        throws(EmulatorError) -> ExecutionStatus
    {
        var job = try existingJob(id)
        guard !job.executionStatus.isTerminal else {
            throw .invalid(
                "Job [\(id)] is \(job.executionStatus.rawValue); a job in a terminal state cannot be changed.")
        }
        let stamp = nextTimestamp()
        switch desired {
        case .canceled:
            cancel(&job, by: user, reason: "Canceled by \(user.username ?? "a user").")
        case .suspended:
            guard job.isStreaming else { throw .invalid("Only streaming jobs can be suspended.") }
            job.desired = .suspended
            if job.executionStatus != .suspended {
                job.executionStatus = .suspended
                job.held = false
                if job.stopsAt == nil { timedJobIDs.remove(id) }
                job.logs.append(
                    JobLogEntry(timestamp: stamp, healthStatus: "ok", code: "suspended", message: "Job suspended."))
            }
        case .running:
            job.desired = .running
            if job.executionStatus == .suspended {
                job.logs.append(
                    JobLogEntry(timestamp: stamp, healthStatus: "ok", code: "resumed", message: "Job resumed."))
                switch behaviour.resumeAnswer {
                case .pending:
                    job.executionStatus = .pending
                    job.phaseStartedAt = nowNanos()
                    timedJobIDs.insert(id)
                case .running:
                    // [INFERRED] docs/polaris/api-reference.md §4.9: a resume may answer `running` at once.
                    job.executionStatus = .running
                    if job.started == nil { job.started = stamp }
                    job.logs.append(
                        JobLogEntry(timestamp: stamp, healthStatus: "ok", code: "running", message: "Job is running."))
                }
            }
        }
        job.lastModifiedBy = user
        job.lastUpdated = stamp
        jobs[id] = job
        advance(id)
        return jobs[id]!.executionStatus
    }

    /// Cancels in place: `canceled` is terminal and carries health `error`/`canceled` (the
    /// health code enum lists `canceled`, which only fits a canceled job).
    func cancel(_ job: inout EmulatedJob, by user: PolarisUser, reason: String) {
        job.settle(at: nowNanos(), rowsPerSecond: rowsPerSecond)
        let stamp = nextTimestamp()
        job.executionStatus = .canceled
        job.desired = .canceled
        job.held = false
        job.stopsAt = nil
        job.health = JobHealth(
            status: .error, code: "canceled", message: reason,
            log: JobLogEntry(timestamp: stamp, healthStatus: "error", code: "canceled", message: reason))
        job.lastModifiedBy = user
        job.lastUpdated = stamp
        job.logs.append(JobLogEntry(timestamp: stamp, healthStatus: "error", code: "canceled", message: reason))
        release(tableOf: job)
    }

    func release(tableOf job: EmulatedJob) {
        timedJobIDs.remove(job.id)
        if let table = job.tableName, streamingHolders[table] == job.id { streamingHolders[table] = nil }
    }

    /// `POST /jobs/{id}/reset`: only non-terminal streaming jobs; counted, and logged.
    public func resetJob(id: String, by user: PolarisUser = apiKeyUser) throws(EmulatorError) {
        var job = try existingJob(id)
        guard job.isStreaming else { throw .invalid("Only streaming jobs can be reset.") }
        guard !job.executionStatus.isTerminal else {
            throw .invalid("Job [\(id)] is \(job.executionStatus.rawValue); a job in a terminal state cannot be reset.")
        }
        let point = job.echoedFields["readFromPoint"]?.stringValue ?? "latest"
        let stamp = nextTimestamp()
        job.resetCount += 1
        job.lastModifiedBy = user
        job.lastUpdated = stamp
        job.logs.append(
            JobLogEntry(
                timestamp: stamp, healthStatus: "ok", code: "reset",
                message: "Reading checkpoint reset; ingestion continues from readFromPoint [\(point)]."))
        jobs[id] = job
    }

    /// `GET /jobs/{id}/progress`: 0 before running, 1 when completed; a streaming job that is
    /// ingesting (or suspended, or idle) reports 1 (caught up), a running batch job 0.5.
    func progress(id: String) throws(EmulatorError) -> Double {
        let job = try existingJob(id)
        switch job.executionStatus {
        case .pending, .unknown, .unrecognized: return 0
        case .completed: return 1
        case .running, .idle, .suspended, .canceled, .failed: return job.isStreaming ? 1 : 0.5
        }
    }

    public func logs(jobID id: String) throws(EmulatorError) -> [JobLogEntry] { try existingJob(id).logs }

    /// `GET /jobs/{id}/metrics`: the totals as of now. A running streaming job that is not
    /// stalled grows `numRowsProcessed` by `rowsPerSecond` (and `numBytesProcessed` by
    /// `EmulatedJob.bytesPerRow` a row) of emulator-clock time.
    public func metrics(jobID id: String) throws(EmulatorError) -> IngestionJobTotals { try existingJob(id).totals }
}
