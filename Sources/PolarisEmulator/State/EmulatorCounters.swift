import PolarisAPI

/// Request counts, so tests can assert how many calls a client made.
///
/// Route keys are the method and the route template after `/v1/projects/{projectId}`
/// (`GET /jobs`, `POST /jobs/{jobId}/status`, `PATCH /connections/{name}`); the OAuth endpoint is
/// `POST /_emulator/oauth/token`; a path no route matches is `GET (unmatched)`. Status keys are
/// the code as text (`"503"`), or `"dropped"`.
public struct EmulatorCounters: Sendable, Hashable, Codable {
    public var total: Int
    public var byRoute: [String: Int]
    public var byStatus: [String: Int]

    public init(total: Int = 0, byRoute: [String: Int] = [:], byStatus: [String: Int] = [:]) {
        self.total = total
        self.byRoute = byRoute
        self.byStatus = byStatus
    }

    /// Requests of one route key, e.g. `counters["POST /jobs"]`.
    public subscript(route: String) -> Int { byRoute[route] ?? 0 }

    /// Requests answered with one status.
    public func count(status: Int) -> Int { byStatus[String(status)] ?? 0 }

    mutating func add(_ record: RequestRecord) {
        total += 1
        byRoute[record.route, default: 0] += 1
        byStatus[record.status.map(String.init) ?? "dropped", default: 0] += 1
    }

    var json: JSONValue {
        .object([
            "total": .int(Int64(total)),
            "byRoute": .object(byRoute.mapValues { .int(Int64($0)) }),
            "byStatus": .object(byStatus.mapValues { .int(Int64($0)) }),
        ])
    }
}
