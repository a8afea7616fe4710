import Hummingbird
import PolarisAPI

/// The Polaris API itself: Connections v1 and Jobs v1 under `/v1/projects/{projectId}`
/// (docs/polaris/api-reference.md §3, §4). Handlers only translate HTTP to `EmulatorStore` calls; the rules
/// live in the store.
struct PolarisRoutes {
    let store: EmulatorStore

    static let base = "/v1/projects/{projectId}"

    func register(on router: Router<EmulatorRequestContext>) {
        let store = store
        // The project itself (regional API, docs/polaris/api-reference.md §1.1): its state tells a client
        // whether jobs can run.
        router.get(RouterPath(Self.base)) { _, _ -> Response in JSONResponse.make(.ok, await store.projectJSON()) }
        registerConnections(on: router)
        registerJobs(on: router)
    }

    /// `Location` of a created resource: absolute when the request named its host.
    static func location(_ request: Request, _ path: String) -> String {
        guard let authority = request.head.authority, !authority.isEmpty else { return path }
        return "http://\(authority)\(path)"
    }

    private func registerConnections(on router: Router<EmulatorRequestContext>) {
        let store = store
        router.get("\(Self.base)/connections") { _, _ -> Response in
            let values = await store.connectionList().map { JSONValue.object($0.json) }
            return JSONResponse.make(.ok, .object(["values": .array(values)]))
        }
        router.post("\(Self.base)/connections") { request, context -> Response in
            let body = try await RequestBodyReader.json(request)
            let connection = try await store.createConnection(body, by: context.caller)
            let path = "/v1/projects/\(store.projectID)/connections/\(connection.name)"
            return JSONResponse.make(
                .created, .object(connection.json), headers: [.location: Self.location(request, path)])
        }
        router.get("\(Self.base)/connections/{name}") { _, context -> Response in
            let name = try context.parameters.require("name")
            return JSONResponse.make(.ok, .object(try await store.connection(named: name).json))
        }
        router.patch("\(Self.base)/connections/{name}") { request, context -> Response in
            let name = try context.parameters.require("name")
            _ = try await store.connection(named: name)
            let body = try await RequestBodyReader.json(request)
            return JSONResponse.make(
                .ok, .object(try await store.updateConnection(named: name, body, by: context.caller).json))
        }
        router.delete("\(Self.base)/connections/{name}") { _, context -> Response in
            try await store.deleteConnection(named: try context.parameters.require("name"))
            return JSONResponse.emptyOK()
        }
        router.post("\(Self.base)/connections/{name}/test") { _, context -> Response in
            try await store.testConnection(named: try context.parameters.require("name"))
            return JSONResponse.emptyOK()
        }
        router.get("\(Self.base)/connectionsMeta") { _, _ -> Response in
            JSONResponse.make(
                .ok,
                .object([
                    "externalId": .string(EmulatorStore.stableID(for: "external-\(store.projectID)")),
                    "implyArn": .string("arn:aws:iam::012345678901:role/imply-polaris-emulator"),
                ]))
        }
    }

    private func registerJobs(on router: Router<EmulatorRequestContext>) {
        let store = store
        router.get("\(Self.base)/jobs") { request, _ -> Response in
            let pairs = request.uri.queryParameters.map { (key: String($0.key), value: String($0.value)) }
            let query = try JobListQuery(pairs: pairs)
            if let hook = await store.listPageHook {
                await hook(query.offset, query.sortColumn == .lastUpdatedDateTime)
            }
            let page = await store.listJobsBody(query)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: page.body)))
        }
        router.post("\(Self.base)/jobs") { request, context -> Response in
            let body = try await RequestBodyReader.json(request)
            let id = try await store.createJob(body, by: context.caller)
            let path = "/v1/projects/\(store.projectID)/jobs/\(id)"
            return JSONResponse.make(
                .created, try await store.jobJSON(id), headers: [.location: Self.location(request, path)])
        }
        router.get("\(Self.base)/jobs/{jobId}") { _, context -> Response in
            JSONResponse.make(.ok, try await store.jobJSON(try context.parameters.require("jobId")))
        }
        // The legacy update: same body as POST /status, answers the whole job.
        router.put("\(Self.base)/jobs/{jobId}") { request, context -> Response in
            let id = try context.parameters.require("jobId")
            _ = try await store.jobJSON(id)
            let desired = try Self.desiredStatus(try await RequestBodyReader.json(request))
            try await store.setDesiredStatus(jobID: id, desired, by: context.caller)
            return JSONResponse.make(.ok, try await store.jobJSON(id))
        }
        router.get("\(Self.base)/jobs/{jobId}/status") { _, context -> Response in
            let job = try await store.jobJSON(try context.parameters.require("jobId"))
            return JSONResponse.make(.ok, .object(["executionStatus": job["executionStatus"] ?? .null]))
        }
        router.post("\(Self.base)/jobs/{jobId}/status") { request, context -> Response in
            let id = try context.parameters.require("jobId")
            _ = try await store.jobJSON(id)
            let desired = try Self.desiredStatus(try await RequestBodyReader.json(request))
            let status = try await store.setDesiredStatus(jobID: id, desired, by: context.caller)
            return JSONResponse.make(.ok, .object(["executionStatus": .string(status.rawValue)]))
        }
        router.post("\(Self.base)/jobs/{jobId}/reset") { _, context -> Response in
            try await store.resetJob(id: try context.parameters.require("jobId"), by: context.caller)
            return JSONResponse.emptyOK()
        }
        router.get("\(Self.base)/jobs/{jobId}/progress") { _, context -> Response in
            let progress = try await store.progress(id: try context.parameters.require("jobId"))
            return JSONResponse.make(.ok, .object(["overallProgress": .double(progress)]))
        }
        router.get("\(Self.base)/jobs/{jobId}/logs") { _, context -> Response in
            let logs = try await store.logs(jobID: try context.parameters.require("jobId"))
            return JSONResponse.make(.ok, .object(["logs": .array(logs.map(EmulatedJob.json))]))
        }
        router.get("\(Self.base)/jobs/{jobId}/metrics") { _, context -> Response in
            let totals = try await store.metrics(jobID: try context.parameters.require("jobId"))
            return JSONResponse.make(.ok, .object(["totals": EmulatedJob.json(totals)]))
        }
    }

    /// `{"desiredExecutionStatus": "running"|"suspended"|"canceled"}`; anything else is a 400.
    static func desiredStatus(_ body: JSONValue) throws(EmulatorError) -> DesiredExecutionStatus {
        guard let raw = body["desiredExecutionStatus"]?.stringValue else {
            throw .invalid("desiredExecutionStatus is required.", target: "desiredExecutionStatus")
        }
        guard let desired = DesiredExecutionStatus(rawValue: raw) else {
            throw .invalid(
                "Unsupported desiredExecutionStatus [\(raw)]: use running, suspended or canceled.",
                target: "desiredExecutionStatus")
        }
        return desired
    }
}
