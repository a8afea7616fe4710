/// How to reach one Polaris project.
public struct PolarisClientConfiguration: Sendable {
    /// How requests authenticate.
    public enum Authentication: Sendable {
        /// `Authorization: Basic base64("KEY:")`: the key is the user name, the password empty.
        case apiKey(Secret)
        /// OAuth 2.0 client credentials; the token is cached and refreshed before it expires.
        case oauth(clientID: String, clientSecret: Secret, tokenURL: String)
    }

    /// Project-scoped base: `https://ORG.REGION.CLOUD.api.imply.io/v1/projects/PROJECT_ID`.
    public let projectURL: String
    public var authentication: Authentication
    public var requestTimeout: Duration
    public var maxRequestsPerSecond: Double
    public var retry: RetryPolicy
    /// `User-Agent` sent with every request.
    public var userAgent: String

    /// - Parameters:
    ///   - url: `https://ORG.REGION.CLOUD.api.imply.io` (the project path is added) or a URL
    ///     that already ends in `/v1/projects/PROJECT_ID`. `http` only for loopback hosts.
    public init(
        url: String, projectID: String, authentication: Authentication,
        requestTimeout: Duration = .seconds(10), maxRequestsPerSecond: Double = 10,
        retry: RetryPolicy = RetryPolicy(), userAgent: String = "polaris-warden"
    ) throws(PolarisError) {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        guard let endpoint = Endpoint(base) else {
            throw .invalidRequest("the Polaris URL must be http(s)://host[:port][/path], got \(url)")
        }
        if endpoint.scheme == "http", !endpoint.isLoopback {
            throw .invalidRequest("plain http is only allowed for loopback hosts, got \(endpoint.host)")
        }
        guard !projectID.isEmpty, projectID.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw .invalidRequest("the project id must be a UUID, got \(projectID)")
        }
        if base.contains("/v1/projects/") {
            projectURL = base
        } else {
            projectURL = base + "/v1/projects/" + projectID
        }
        guard maxRequestsPerSecond > 0 else { throw .invalidRequest("maxRequestsPerSecond must be positive") }
        self.authentication = authentication
        self.requestTimeout = requestTimeout
        self.maxRequestsPerSecond = maxRequestsPerSecond
        self.retry = retry
        self.userAgent = userAgent
    }
}

/// The parts of a base URL the client checks.
struct Endpoint {
    let scheme: String
    let host: String

    init?(_ url: String) {
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        scheme = parts[0].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = parts[1]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
        } else {
            host = String(authority.prefix { $0 != ":" })
        }
        guard !host.isEmpty else { return nil }
    }

    /// 127.0.0.0/8, ::1 and localhost: the only hosts where plain http is acceptable.
    var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
