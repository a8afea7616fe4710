import PolarisAPI

/// Faults and shortcuts that no Polaris client can trigger: the admin API and the in-process
/// test API both call these.
extension EmulatorStore {
    /// Fails a job: `failed` is terminal, health `error` with the given code.
    public func failJob(id: String, code: String = "internal_error", message: String? = nil) throws(EmulatorError) {
        var job = try existingJob(id)
        guard !job.executionStatus.isTerminal else {
            throw .invalid("Job [\(id)] is already \(job.executionStatus.rawValue).")
        }
        fail(&job, code: code, message: message ?? "The job failed (\(code)).")
        jobs[id] = job
        release(tableOf: job)
    }

    /// Fails in place (the caller releases the table).
    func fail(_ job: inout EmulatedJob, code: String, message: String) {
        job.settle(at: nowNanos(), rowsPerSecond: rowsPerSecond)
        let stamp = nextTimestamp()
        let entry = JobLogEntry(timestamp: stamp, healthStatus: "error", code: code, message: message)
        job.executionStatus = .failed
        job.held = false
        job.stopsAt = nil
        job.health = JobHealth(status: .error, code: code, message: message, log: entry)
        job.lastUpdated = stamp
        job.logs.append(entry)
    }

    /// Puts a running streaming job in `idle` (a quiet stream: "a streaming ingestion job has
    /// no data to ingest", docs/polaris/api-reference.md §4.5), or an idle one back to `running`. Asking for
    /// the state a job is already in changes nothing; any other status is a 400.
    public func setIdle(jobID id: String, _ idle: Bool) throws(EmulatorError) {
        var job = try existingJob(id)
        guard job.isStreaming else { throw .invalid("Only streaming jobs go idle.") }
        let (from, to): (ExecutionStatus, ExecutionStatus) = idle ? (.running, .idle) : (.idle, .running)
        if job.executionStatus == to { return }
        guard job.executionStatus == from else {
            throw .invalid(
                "Job [\(id)] is \(job.executionStatus.rawValue); only a \(from.rawValue) job can become "
                    + "\(to.rawValue).")
        }
        let stamp = nextTimestamp()
        job.executionStatus = to
        job.lastUpdated = stamp
        job.logs.append(
            JobLogEntry(
                timestamp: stamp, healthStatus: "ok", code: to.rawValue,
                message: idle ? "No new data in the stream; the job is idle." : "New data; the job is running."))
        jobs[id] = job
    }

    /// Sets a job's health without touching its execution status. Warn and error health get a
    /// `log` entry, as Polaris attaches one.
    public func setHealth(jobID id: String, _ health: JobHealth) throws(EmulatorError) {
        var job = try existingJob(id)
        var health = health
        let stamp = nextTimestamp()
        if health.status != .ok, health.log == nil {
            health.log = JobLogEntry(
                timestamp: stamp, healthStatus: health.status.rawValue, code: health.code, message: health.message)
        }
        job.health = health
        if behaviour.healthUpdates == .touchLastUpdated { job.lastUpdated = stamp }
        job.logs.append(
            JobLogEntry(
                timestamp: stamp, healthStatus: health.status.rawValue, code: health.code ?? health.status.rawValue,
                message: health.message ?? "Health is \(health.status.rawValue)."))
        jobs[id] = job
    }

    /// Holds a job in `pending` or `unknown` until `releaseJob`; the start delay does not move it.
    public func holdJob(id: String, in status: ExecutionStatus) throws(EmulatorError) {
        guard status == .pending || status == .unknown else {
            throw .invalid("A job can be held in pending or unknown.")
        }
        var job = try existingJob(id)
        guard !job.executionStatus.isTerminal else { throw .invalid("Job [\(id)] is \(job.executionStatus.rawValue).") }
        job.executionStatus = status
        job.held = true
        job.lastUpdated = nextTimestamp()
        if job.stopsAt == nil { timedJobIDs.remove(id) }
        jobs[id] = job
    }

    /// Ends a hold: a job that should run starts again through `pending` and the start delay; a
    /// suspended one goes back to `suspended`.
    public func releaseJob(id: String) throws(EmulatorError) {
        var job = try existingJob(id)
        guard job.held else { return }
        job.held = false
        job.lastUpdated = nextTimestamp()
        if job.desired == .suspended {
            job.executionStatus = .suspended
        } else {
            job.executionStatus = .pending
            job.phaseStartedAt = nowNanos()
            timedJobIDs.insert(id)
        }
        jobs[id] = job
        advance(id)
    }

    /// Sets the totals `GET /jobs/{id}/metrics` reports.
    public func setMetrics(jobID id: String, _ totals: IngestionJobTotals) throws(EmulatorError) {
        var job = try existingJob(id)
        job.totals = totals
        jobs[id] = job
    }

    /// Freezes a streaming job's counters: it stays `running` with its health, logs and
    /// `lastUpdatedTimestamp` untouched (the silent stall a supervisor must catch from the
    /// metrics alone) until `unstallJob`. The stall outlasts idle, suspend and resume; a job
    /// that replaces it starts unstalled. Stalling a stalled job changes nothing; a terminal or
    /// non-streaming job is a 400.
    public func stallJob(id: String) throws(EmulatorError) {
        var job = try existingJob(id)
        guard job.isStreaming else { throw .invalid("Only streaming jobs ingest rows; a batch job cannot stall.") }
        guard !job.executionStatus.isTerminal else {
            throw .invalid("Job [\(id)] is \(job.executionStatus.rawValue); a job in a terminal state cannot stall.")
        }
        guard !job.stalled else { return }
        job.stalled = true
        jobs[id] = job
    }

    /// Ends a stall: the counters grow again from where they froze. Unstalling a job that is
    /// not stalled changes nothing.
    public func unstallJob(id: String) throws(EmulatorError) {
        var job = try existingJob(id)
        guard job.stalled else { return }
        job.stalled = false
        jobs[id] = job
    }

    /// Adds `count` rows that could not be parsed to `numRowsSkippedByError` of a streaming job
    /// that has not ended, and logs them (`invalid_rows_found`); the job keeps its status and
    /// health. Once the total passes the job's `maxParseExceptions` (the echoed value; Polaris
    /// fails a job "past this many", docs/polaris/api-reference.md §4.3, §4.9) the job fails. `count` must be
    /// positive.
    public func addParseErrors(jobID id: String, count: Int64) throws(EmulatorError) {
        guard count > 0 else { throw .invalid("count must be a positive integer.", target: "count") }
        var job = try existingJob(id)
        guard job.isStreaming else { throw .invalid("Only streaming jobs report parse errors here.") }
        guard !job.executionStatus.isTerminal else {
            throw .invalid("Job [\(id)] is \(job.executionStatus.rawValue); a job in a terminal state reads no rows.")
        }
        let skipped = EmulatedJob.add(job.totals.numRowsSkippedByError ?? 0, count)
        job.totals.numRowsSkippedByError = skipped
        job.logs.append(
            JobLogEntry(
                timestamp: nextTimestamp(), healthStatus: "warn", code: "invalid_rows_found",
                message: "\(count) rows could not be parsed and were skipped (\(skipped) in all)."))
        let limit = job.echoedFields["maxParseExceptions"]?.intValue ?? Int64(Int32.max)
        if skipped > limit {
            // [INFERRED] The health error code enum has no "too many parse exceptions" code;
            // `cannot_parse_source` ("The input source could not be parsed with the given
            // format/configuration") is the closest documented one (docs/polaris/api-reference.md §4.6).
            fail(
                &job, code: "cannot_parse_source",
                message: "Too many parse exceptions: \(skipped) rows could not be parsed, more than "
                    + "maxParseExceptions (\(limit)).")
            jobs[id] = job
            release(tableOf: job)
        } else {
            jobs[id] = job
        }
    }

    /// Appends an entry to `GET /jobs/{id}/logs` (timestamped now when it has none).
    public func appendLog(jobID id: String, _ entry: JobLogEntry) throws(EmulatorError) {
        var job = try existingJob(id)
        var entry = entry
        if entry.timestamp == nil { entry.timestamp = nextTimestamp() }
        job.logs.append(entry)
        jobs[id] = job
    }

    /// Bulk-creates `count` running streaming jobs reading `connection` (created as a Kinesis
    /// connection when missing), each on its own table `"\(tablePrefix)\(index)"`, skipping the
    /// per-request validation so 10,000 jobs take well under a second. Returns the new ids.
    @discardableResult
    public func seed(connection: String, jobs count: Int, tablePrefix: String = "seed-table-")
        throws(EmulatorError) -> [String]
    {
        guard count >= 0 else { throw .invalid("jobs must be >= 0") }
        if connections[connection] == nil {
            try createConnection(
                .object([
                    "type": .string("kinesis"), "name": .string(connection), "stream": .string(connection),
                    "awsEndpoint": .string("kinesis.us-east-1.amazonaws.com"),
                    "awsAssumedRoleArn": .string("arn:aws:iam::123456789012:role/polaris-emulator"),
                ]))
        }
        var ids: [String] = []
        ids.reserveCapacity(count)
        let first = tables.count
        for index in 0..<count {
            var table = "\(tablePrefix)\(first + index)"
            while tables[table] != nil || streamingHolders[table] != nil { table += "x" }
            tables[table] = Table(id: Self.newID(), name: table, created: nextTimestamp())
            let spec = JobSpec(fields: [
                "type": .string("streaming"),
                "source": .object([
                    "type": .string("connection"), "connectionName": .string(connection),
                    "formatSettings": .object(["format": .string("nd-json")]),
                ]),
                "target": .object(["type": .string("table"), "tableName": .string(table)]),
                "createTableIfNotExists": .bool(true),
                "mappings": .array([
                    .object(["columnName": .string("__time"), "expression": .string("TIME_PARSE(\"ts\")")])
                ]),
            ])
            let id = Self.newID()
            var job = makeJob(id: id, spec: spec, user: Self.apiKeyUser)
            job.executionStatus = .running
            job.started = job.created
            insert(job)
            ids.append(id)
        }
        return ids
    }

    /// Everything, for `GET /_emulator/state` (debugging a failing test).
    func stateJSON() -> JSONValue {
        advanceAll()
        let now = nowNanos()
        let jobValues = jobs.values.sorted { $0.created < $1.created }.map { job -> JSONValue in
            guard case .object(var fields) = job.json(full: true, healthSpelling: healthSpelling) else { return .null }
            var extra: [String: JSONValue] = [
                "held": .bool(job.held), "resetCount": .int(Int64(job.resetCount)), "stalled": .bool(job.stalled),
                "totals": EmulatedJob.json(job.totals(at: now, rowsPerSecond: rowsPerSecond)),
            ]
            if let stopsAt = job.stopsAt { extra["stopsAt"] = .string(Self.timestamp(nanos: stopsAt).text) }
            fields["_emulator"] = .object(extra)
            return .object(fields)
        }
        return .object([
            "projectId": .string(projectID),
            "startDelayMilliseconds": .int(Self.nanos(startDelay) / 1_000_000),
            "rowsPerSecond": .int(rowsPerSecond),
            "healthSpelling": .string(healthSpelling.rawValue),
            "behaviour": behaviour.json,
            "connections": .array(connectionList().map { .object($0.json) }),
            "connectionTestFailures": .object(connectionTestFailures.mapValues(\.body)),
            "tables": .array(
                tables.values.sorted { $0.name < $1.name }.map {
                    .object([
                        "id": .string($0.id), "name": .string($0.name), "createdTimestamp": .string($0.created.text),
                    ])
                }),
            "jobs": .array(jobValues),
            "faults": .int(Int64(faults.armed.count)),
        ])
    }
}
