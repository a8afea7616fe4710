import Hummingbird
import NIOCore
import PolarisAPI

/// Runs in front of every route: applies injected faults, authenticates Polaris API calls,
/// checks the project id, turns errors into Polaris error bodies, and records the request in
/// the log and counters.
///
/// It sits inside the router (not around it) so Hummingbird has already resolved the route
/// template, which names the counters (`GET /jobs/{jobId}`). Admin requests (`/_emulator/…`)
/// skip faults, auth and the log, so tests count only what their client did; the OAuth token
/// endpoint is the exception, since a client calls it.
struct EmulatorGateMiddleware: RouterMiddleware {
    typealias Context = EmulatorRequestContext

    let store: EmulatorStore
    let apiKey: String
    let projectID: String

    static let projectRoutePrefix = "/v1/projects/{projectId}"
    static let tokenPath = "/_emulator/oauth/token"

    /// Thrown after a fault closed the connection; no response goes out.
    struct ConnectionDropped: Error {}

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/_emulator/"), path != Self.tokenPath {
            return try await Self.serve(request, context: context, next: next)
        }
        let method = request.method.rawValue
        let route = Self.routeKey(method: method, endpoint: context.endpointPath)
        let query = request.uri.query.flatMap { $0.isEmpty ? nil : $0 }
        let agent = request.headers[.userAgent]
        let decision = await store.takeFaults(method: method, path: path, projectPath: Self.projectPath(of: path))
        if decision.delay > .zero { try await Task.sleep(for: decision.delay) }
        let response: Response
        switch decision.terminal {
        case .drop:
            await store.record(method: method, path: path, query: query, status: nil, route: route, userAgent: agent)
            // Closing the channel here means the response Hummingbird tries to write for the
            // error below fails, so the client sees the connection close with no response.
            try? await context.channel.close()
            throw ConnectionDropped()
        case .respond(let status, let retryAfter, let body):
            var headers: HTTPFields = [:]
            if let retryAfter { headers[.retryAfter] = retryAfter.headerValue }
            response = JSONResponse.make(
                Self.status(code: status), body ?? Self.defaultFaultBody(status: status), headers: headers)
        case .delay, nil:
            response = try await authenticated(request, context: context, next: next)
        }
        await store.record(
            method: method, path: path, query: query, status: Int(response.status.code), route: route, userAgent: agent)
        return response
    }

    private func authenticated(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let path = request.uri.path
        if path.hasPrefix("/v1/") {
            switch Credentials(authorization: request.headers[.authorization], apiKey: apiKey) {
            case .apiKey:
                context.caller = EmulatorStore.apiKeyUser
            case .bearer(let token):
                switch await store.checkBearer(token) {
                case .valid(let user): context.caller = user
                case .expired:
                    return JSONResponse.make(
                        .unauthorized, .object(["message": .string(#"Token claims invalid: ["exp"]="token expired""#)]))
                case .unknown:
                    return JSONResponse.make(.unauthorized, .object(["message": .string("Invalid access token.")]))
                }
            case .rejected(let reason):
                return JSONResponse.make(.unauthorized, .object(["message": .string(reason)]))
            }
            let segments = path.split(separator: "/", omittingEmptySubsequences: true)
            if segments.count >= 3, segments[1] == "projects", segments[2] != projectID {
                return EmulatorError.notFound("Project [\(segments[2])] not found.").response(
                    from: request, context: context)
            }
        }
        return try await Self.serve(request, context: context, next: next)
    }

    /// Calls the route and maps every error to a JSON error body.
    static func serve(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as EmulatorError {
            return error.response(from: request, context: context)
        } catch let error as HTTPError {
            let message = error.status == .notFound ? "No route for \(request.method) \(request.uri.path)." : error.body
            return EmulatorError(
                status: error.status, code: error.status == .notFound ? "NotFound" : "InvalidArgument",
                message: message ?? error.status.reasonPhrase
            ).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return EmulatorError(status: .internalServerError, code: "InternalError", message: "\(type(of: error))")
                .response(from: request, context: context)
        }
    }

    static let reasonPhrases: [Int: String] = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
        409: "Conflict", 413: "Content Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
        502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
    ]

    static func status(code: Int) -> HTTPResponse.Status {
        HTTPResponse.Status(code: code, reasonPhrase: reasonPhrases[code] ?? "Injected")
    }

    /// 429 gets the body Polaris documents for rate limiting; anything else an `ErrorResponse`.
    static func defaultFaultBody(status: Int) -> JSONValue {
        if status == 429 { return .object(["message": .string("API rate limit exceeded")]) }
        let phrase = reasonPhrases[status] ?? "Injected"
        return .object([
            "code": .string(phrase.replacing(" ", with: "")),
            "message": .string("Injected fault: \(status) \(phrase)."),
        ])
    }

    /// `GET /jobs/{jobId}` from Hummingbird's endpoint path `/v1/projects/{projectId}/jobs/{jobId}`.
    static func routeKey(method: String, endpoint: String?) -> String {
        guard let endpoint, endpoint != "NotFound" else { return "\(method) (unmatched)" }
        if endpoint.hasPrefix(projectRoutePrefix) { return "\(method) \(endpoint.dropFirst(projectRoutePrefix.count))" }
        return "\(method) \(endpoint)"
    }

    /// The part of `/v1/projects/{any}/rest` after the project id; nil outside project paths.
    static func projectPath(of path: String) -> String? {
        guard path.hasPrefix("/v1/projects/") else { return nil }
        let rest = path.dropFirst("/v1/projects/".count)
        guard let slash = rest.firstIndex(of: "/") else { return "" }
        return String(rest[slash...])
    }
}
