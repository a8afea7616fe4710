import PolarisAPI

/// A fault the emulator applies to the next `count` requests that match it.
///
/// Matching: `method` (case-insensitive, nil = any), `pathPrefix` and `pathPattern` (a regex
/// searched anywhere in the path); all given conditions must hold. A prefix that starts with
/// `/v1/` or `/_emulator/` is compared with the full path; any other prefix (`/jobs`) is
/// compared with the path after `/v1/projects/{projectId}`, so tests need not spell the project.
/// Admin requests (`/_emulator/…` other than the OAuth token endpoint) are never faulted.
public struct InjectedFault: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// Answer with this status instead of serving the request. `body` nil means an
        /// `ErrorResponse` naming the fault.
        case respond(status: Int, retryAfter: RetryAfter?, body: JSONValue?)
        /// Serve the request after waiting this long (to exercise client timeouts).
        case delay(Duration)
        /// Close the TCP connection without writing a response.
        case drop
    }

    public var action: Action
    public var count: Int
    public var method: String?
    public var pathPrefix: String?
    public var pathPattern: String?

    public init(
        _ action: Action, count: Int = 1, method: String? = nil, pathPrefix: String? = nil,
        pathPattern: String? = nil
    ) {
        self.action = action
        self.count = count
        self.method = method
        self.pathPrefix = pathPrefix
        self.pathPattern = pathPattern
    }

    public static func status(
        _ status: Int, retryAfter: RetryAfter? = nil, body: JSONValue? = nil, count: Int = 1,
        method: String? = nil, pathPrefix: String? = nil, pathPattern: String? = nil
    ) -> InjectedFault {
        InjectedFault(
            .respond(status: status, retryAfter: retryAfter, body: body), count: count, method: method,
            pathPrefix: pathPrefix, pathPattern: pathPattern)
    }

    public static func delay(
        _ duration: Duration, count: Int = 1, method: String? = nil, pathPrefix: String? = nil,
        pathPattern: String? = nil
    ) -> InjectedFault {
        InjectedFault(.delay(duration), count: count, method: method, pathPrefix: pathPrefix, pathPattern: pathPattern)
    }

    public static func drop(
        count: Int = 1, method: String? = nil, pathPrefix: String? = nil, pathPattern: String? = nil
    ) -> InjectedFault {
        InjectedFault(.drop, count: count, method: method, pathPrefix: pathPrefix, pathPattern: pathPattern)
    }

    /// Throws when `pathPattern` is not a valid regular expression.
    func validate() throws(EmulatorError) {
        guard count > 0 else { throw .invalid("count must be at least 1") }
        if let pathPattern {
            do { _ = try Regex(pathPattern) } catch {
                throw .invalid("pathPattern is not a valid regex: \(pathPattern)")
            }
        }
        if case .respond(let status, _, _) = action, !(100...599).contains(status) {
            throw .invalid("status must be 100...599")
        }
    }

    /// True when this fault applies to a request. `projectPath` is the path after
    /// `/v1/projects/{projectId}` (nil outside that prefix).
    func matches(method: String, path: String, projectPath: String?) -> Bool {
        if let wanted = self.method, wanted.uppercased() != method.uppercased() { return false }
        if let prefix = pathPrefix {
            if prefix.hasPrefix("/v1/") || prefix.hasPrefix("/_emulator/") {
                guard path.hasPrefix(prefix) else { return false }
            } else {
                guard let projectPath, projectPath.hasPrefix(prefix) else { return false }
            }
        }
        if let pathPattern {
            guard let regex = try? Regex(pathPattern), path.contains(regex) else { return false }
        }
        return true
    }
}
