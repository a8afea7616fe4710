import Hummingbird
import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The emulator's own admin API, off the Polaris paths. No authentication; JSON in and out
/// (any Content-Type is accepted and an empty body means `{}`); errors use the `ErrorResponse`
/// shape. Admin calls are not faulted, logged or counted.
///
/// Jobs (the change is made as `someone-else@example.com` where a user is recorded):
/// - `POST /_emulator/jobs/{jobId}/fail` `{"code"?: "internal_error", "message"?}` → `failed`, health error.
/// - `POST /_emulator/jobs/{jobId}/health` `{"status": "ok"|"warn"|"warning"|"error", "code"?, "message"?}`.
/// - `POST /_emulator/jobs/{jobId}/hold` `{"status": "pending"|"unknown"}`; `POST …/release` ends it.
/// - `POST /_emulator/jobs/{jobId}/cancel`, `…/suspend`, `…/resume`: as another user would.
/// - `POST /_emulator/jobs/{jobId}/idle` → a running streaming job shows `idle` (a quiet stream);
///   `POST …/active` → back to `running`. Both answer `{"executionStatus": …}`.
/// - `PUT /_emulator/jobs/{jobId}/metrics` `IngestionJobTotals` JSON → what `/metrics` reports
///   now; a running job's `numRowsProcessed` keeps growing from there (see `rowsPerSecond`).
/// - `POST /_emulator/jobs/{jobId}/stall` → a streaming job's counters freeze while it stays
///   `running` with its health (a silent stall; nothing logged); `POST …/unstall` → they grow
///   again. Both answer `{"stalled": bool}`; a terminal or batch job cannot stall (400).
/// - `POST /_emulator/jobs/{jobId}/parse-errors` `{"count": n}` (n ≥ 1) → adds n to
///   `numRowsSkippedByError` and logs `invalid_rows_found`; the job keeps running until the total
///   passes its `maxParseExceptions`, then it fails with `cannot_parse_source` ([INFERRED]: no
///   documented code says "too many parse errors"). Answers `{"numRowsSkippedByError",
///   "executionStatus"}`.
///
/// Counters: a streaming job that is `running` and not stalled grows `numRowsProcessed` by
/// `rowsPerSecond` (and `numBytesProcessed` by 100 bytes a row) of emulator-clock time, computed
/// when read, so `POST /_emulator/clock/advance` moves them; never while `idle`, `pending`,
/// `suspended`, `unknown` or terminal. Batch jobs do not grow.
/// - `POST /_emulator/jobs/{jobId}/logs` `JobLogEntry` JSON → appended to `/logs`.
///
/// Connections:
/// - `PUT /_emulator/connections/{name}/test-failure` `{"code"?, "message"?}` → `/test` answers 400.
/// - `DELETE /_emulator/connections/{name}/test-failure` → `/test` succeeds again.
///
/// Faults on Polaris requests (see `InjectedFault` for matching and `InjectedFault+JSON` for the body):
/// - `POST /_emulator/faults` `{"count":2,"method":"POST","pathPrefix":"/jobs","status":503,"retryAfterSeconds":5}`
///   (or `"retryAfterDate"`, `"delayMilliseconds"`, `"drop":true`) → `{"id": n}`.
/// - `GET /_emulator/faults` → `{"values": [...]}` with remaining counts; `DELETE /_emulator/faults` disarms all.
///
/// Observation:
/// - `GET /_emulator/requests` → `{"values": [{method, path, query, status, route, timestamp}]}` (no headers).
/// - `DELETE /_emulator/requests` → clears the log and the counters.
/// - `GET /_emulator/counters` → `{"total", "byRoute": {"GET /jobs": n}, "byStatus": {"200": n}}`.
/// - `GET /_emulator/state` → settings (`startDelayMilliseconds`, `healthSpelling`, `behaviour`),
///   `rowsPerSecond`, connections, tables, jobs (full, plus `_emulator.held`/`resetCount`/
///   `stopsAt`/`stalled`/`totals`).
///
/// Incidents (docs/polaris/api-reference.md §4 project pause; what a stopped job shows is [INFERRED]):
/// - `POST /_emulator/project/pause` → project `paused`: every job that has not ended fails
///   (`internal_error`), and every new job fails until `POST /_emulator/project/resume`.
/// - `POST /_emulator/connections/{name}/break` `{"message"?}` → its test answers 400 with the
///   message, its jobs fail with `could_not_connect_to_source`, so does every new job on it;
///   `POST /_emulator/connections/{name}/restore` ends it.
///
/// Set-up and time:
/// - `POST /_emulator/seed` `{"connection": "seed", "jobs": 10000, "tablePrefix"?}` → `{"created": n}`.
/// - `POST /_emulator/clock/advance` `{"milliseconds": n}` → moves the emulator clock forward.
/// - `PUT /_emulator/settings` `{"startDelayMilliseconds"?: n, "rowsPerSecond"?: n}` (0 to
///   1,000,000,000; 0 stops growth) plus any `LiveBehaviour` key, each optional, the rest kept: `"tableHeldStatus"?: 400|409`, `"tableHeldMessage"?: "…"|null`,
///   `"replacedJob"?: "canceled"|"failed"|"running-until-stopped"`, `"healthSpelling"?:
///   "warn"|"warning"`, `"resumeAnswer"?: "pending"|"running"`, `"retryAfter"?: "sent"|"omitted"`,
///   `"healthUpdates"?: "touch-last-updated"|"leave-last-updated"`
///   (each an [INFERRED] live behaviour; see `LiveBehaviour`). Nothing changes unless all are valid.
///
/// OAuth (a stand-in for Imply's Keycloak token endpoint; faulted, logged and counted):
/// - `POST /_emulator/oauth/token`, form `grant_type=client_credentials&client_id=…&client_secret=…`
///   → `{"access_token", "expires_in", "token_type": "Bearer"}`; 401 `{"error":"invalid_client"}`.
struct AdminRoutes {
    let store: EmulatorStore

    func register(on router: Router<EmulatorRequestContext>) {
        registerJobs(on: router)
        registerObservation(on: router)
        registerOAuth(on: router)
    }

    private static func ok(_ body: JSONValue = .object([:])) -> Response { JSONResponse.make(.ok, body) }

    private func registerJobs(on router: Router<EmulatorRequestContext>) {
        let store = store
        let job = "/_emulator/jobs/{jobId}"
        router.post("\(job)/fail") { request, context -> Response in
            let body = try await RequestBodyReader.adminJSON(request)
            try await store.failJob(
                id: try context.parameters.require("jobId"), code: body["code"]?.stringValue ?? "internal_error",
                message: body["message"]?.stringValue)
            return Self.ok()
        }
        router.post("\(job)/health") { request, context -> Response in
            let body = try await RequestBodyReader.adminJSON(request)
            guard let status = body["status"]?.stringValue, ["ok", "warn", "warning", "error"].contains(status) else {
                throw EmulatorError.invalid("status must be ok, warn, warning or error.")
            }
            let health = JobHealth(
                status: .init(rawValue: status), code: body["code"]?.stringValue, message: body["message"]?.stringValue)
            try await store.setHealth(jobID: try context.parameters.require("jobId"), health)
            return Self.ok()
        }
        router.post("\(job)/hold") { request, context -> Response in
            let body = try await RequestBodyReader.adminJSON(request)
            let status = ExecutionStatus(rawValue: body["status"]?.stringValue ?? "pending")
            try await store.holdJob(id: try context.parameters.require("jobId"), in: status)
            return Self.ok()
        }
        router.post("\(job)/release") { _, context -> Response in
            try await store.releaseJob(id: try context.parameters.require("jobId"))
            return Self.ok()
        }
        for (verb, idle) in [("idle", true), ("active", false)] {
            router.post("\(job)/\(verb)") { _, context -> Response in
                let id = try context.parameters.require("jobId")
                try await store.setIdle(jobID: id, idle)
                let status = try await store.jobJSON(id)["executionStatus"] ?? .null
                return Self.ok(.object(["executionStatus": status]))
            }
        }
        let changes: [(String, DesiredExecutionStatus)] = [
            ("cancel", .canceled), ("suspend", .suspended), ("resume", .running),
        ]
        for (verb, desired) in changes {
            router.post("\(job)/\(verb)") { _, context -> Response in
                let status = try await store.setDesiredStatus(
                    jobID: try context.parameters.require("jobId"), desired, by: EmulatorStore.otherUser)
                return Self.ok(.object(["executionStatus": .string(status.rawValue)]))
            }
        }
        for (verb, stall) in [("stall", true), ("unstall", false)] {
            router.post("\(job)/\(verb)") { _, context -> Response in
                let id = try context.parameters.require("jobId")
                if stall { try await store.stallJob(id: id) } else { try await store.unstallJob(id: id) }
                return Self.ok(.object(["stalled": .bool(stall)]))
            }
        }
        router.post("\(job)/parse-errors") { request, context -> Response in
            let body = try await RequestBodyReader.adminJSON(request)
            guard let count = body["count"]?.intValue, count > 0 else {
                throw EmulatorError.invalid("count must be a positive integer.", target: "count")
            }
            let id = try context.parameters.require("jobId")
            try await store.addParseErrors(jobID: id, count: count)
            let skipped = try await store.metrics(jobID: id).numRowsSkippedByError ?? 0
            let status = try await store.jobJSON(id)["executionStatus"] ?? .null
            return Self.ok(.object(["numRowsSkippedByError": .int(skipped), "executionStatus": status]))
        }
        router.put("\(job)/metrics") { request, context -> Response in
            let bytes = try await RequestBodyReader.bytes(request)
            let totals = try Self.decode(IngestionJobTotals.self, bytes)
            try await store.setMetrics(jobID: try context.parameters.require("jobId"), totals)
            return Self.ok()
        }
        router.post("\(job)/logs") { request, context -> Response in
            let entry = try Self.decode(JobLogEntry.self, try await RequestBodyReader.bytes(request))
            try await store.appendLog(jobID: try context.parameters.require("jobId"), entry)
            return Self.ok()
        }
        router.put("/_emulator/connections/{name}/test-failure") { request, context -> Response in
            let body = try await RequestBodyReader.adminJSON(request)
            await store.setConnectionTestFailure(
                name: try context.parameters.require("name"), code: body["code"]?.stringValue ?? "ConnectionTestFailed",
                message: body["message"]?.stringValue)
            return Self.ok()
        }
        router.delete("/_emulator/connections/{name}/test-failure") { _, context -> Response in
            await store.setConnectionTestFailure(name: try context.parameters.require("name"), code: nil, message: nil)
            return Self.ok()
        }
        router.post("/_emulator/project/pause") { _, _ -> Response in
            await store.setProjectState(.paused)
            return Self.ok()
        }
        router.post("/_emulator/project/resume") { _, _ -> Response in
            await store.setProjectState(.running)
            return Self.ok()
        }
        router.post("/_emulator/connections/{name}/break") { request, context -> Response in
            let body = try await RequestBodyReader.adminJSON(request)
            await store.breakConnection(
                name: try context.parameters.require("name"),
                message: body["message"]?.stringValue ?? "Unable to connect to the source: access denied.")
            return Self.ok()
        }
        router.post("/_emulator/connections/{name}/restore") { _, context -> Response in
            await store.restoreConnection(name: try context.parameters.require("name"))
            return Self.ok()
        }
        router.post("/_emulator/seed") { request, _ -> Response in
            let body = try await RequestBodyReader.adminJSON(request)
            guard let count = body["jobs"]?.intValue else { throw EmulatorError.invalid("jobs (a count) is required.") }
            let ids = try await store.seed(
                connection: body["connection"]?.stringValue ?? "seed-connection", jobs: Int(count),
                tablePrefix: body["tablePrefix"]?.stringValue ?? "seed-table-")
            return Self.ok(.object(["created": .int(Int64(ids.count))]))
        }
    }

    private func registerObservation(on router: Router<EmulatorRequestContext>) {
        let store = store
        router.post("/_emulator/faults") { request, _ -> Response in
            let fault = try InjectedFault(json: try await RequestBodyReader.adminJSON(request))
            let id = try await store.inject(fault)
            return Self.ok(.object(["id": .int(Int64(id))]))
        }
        router.get("/_emulator/faults") { _, _ -> Response in
            Self.ok(.object(["values": .array(await store.armedFaults().map(\.json))]))
        }
        router.delete("/_emulator/faults") { _, _ -> Response in
            await store.clearFaults()
            return Self.ok()
        }
        router.get("/_emulator/requests") { _, _ -> Response in
            Self.ok(.object(["values": .array(await store.requestLog().map(\.json))]))
        }
        router.delete("/_emulator/requests") { _, _ -> Response in
            await store.resetRequestLog()
            return Self.ok()
        }
        router.get("/_emulator/counters") { _, _ -> Response in
            Self.ok(await store.counters().json)
        }
        router.get("/_emulator/state") { _, _ -> Response in
            Self.ok(await store.stateJSON())
        }
        router.post("/_emulator/clock/advance") { request, _ -> Response in
            let body = try await RequestBodyReader.adminJSON(request)
            guard let milliseconds = body["milliseconds"]?.intValue, milliseconds >= 0 else {
                throw EmulatorError.invalid("milliseconds must be a non-negative integer.")
            }
            await store.advanceClock(by: .milliseconds(milliseconds))
            return Self.ok()
        }
        router.put("/_emulator/settings") { request, _ -> Response in
            let body = try await RequestBodyReader.adminJSON(request)
            var delay: Duration?
            if let value = body["startDelayMilliseconds"] {
                guard let milliseconds = value.intValue, milliseconds >= 0 else {
                    throw EmulatorError.invalid(
                        "startDelayMilliseconds must be a non-negative integer.", target: "startDelayMilliseconds")
                }
                delay = .milliseconds(milliseconds)
            }
            let behaviour = try await store.applySettings(body, startDelay: delay)
            return Self.ok(.object(["behaviour": behaviour.json, "rowsPerSecond": .int(await store.rowsPerSecond)]))
        }
    }

    private func registerOAuth(on router: Router<EmulatorRequestContext>) {
        let store = store
        router.post(RouterPath(EmulatorGateMiddleware.tokenPath)) { request, _ -> Response in
            let form = RequestBodyReader.form(try await RequestBodyReader.bytes(request))
            guard form["grant_type"] == "client_credentials" else {
                return JSONResponse.make(
                    .badRequest,
                    .object([
                        "error": .string("unsupported_grant_type"),
                        "error_description": .string("Only grant_type=client_credentials is supported."),
                    ]))
            }
            guard let clientID = form["client_id"], let secret = form["client_secret"],
                let issued = await store.issueToken(clientID: clientID, clientSecret: secret)
            else {
                return JSONResponse.make(
                    .unauthorized,
                    .object([
                        "error": .string("invalid_client"),
                        "error_description": .string("Invalid client or Invalid client credentials"),
                    ]))
            }
            return JSONResponse.make(
                .ok,
                .object([
                    "access_token": .string(issued.token), "expires_in": .int(issued.lifetimeSeconds),
                    "token_type": .string("Bearer"), "scope": .string("profile email"),
                ]))
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw EmulatorError.invalid("The body is not a valid \(T.self).")
        }
    }
}
