import PolarisAPI

extension ConfigValidator {
    static let topLevelKeys = [
        "$schema", "polaris", "supervisor", "connections", "jobs", "metrics", "highAvailability",
    ]

    /// The whole document; nil when anything is wrong (the problems say what).
    mutating func validate(_ document: JSONValue) -> WardenConfig? {
        // Last, after the key-based checks, so a secret under "apiKey" is reported once.
        defer { rejectAPIKeysAnywhere(in: document, at: "") }
        for duplicate in map.duplicateKeys {
            report(
                duplicate.path,
                "duplicate key (first at line \(duplicate.first.line), column \(duplicate.first.column)); "
                    + "a repeated key would silently override the first",
                location: duplicate.repeated)
        }
        guard let root = document.objectValue else {
            report(
                "(top level)", "expected a JSON object with polaris and jobs, found \(document.typeName)", anchor: "")
            return nil
        }
        rejectUnknownKeys(root, at: "", allowed: Self.topLevelKeys)
        if let schema = root["$schema"] { _ = string(schema, at: "$schema") }

        let polaris = required("polaris", in: root, at: "").flatMap { polarisSettings($0, at: "polaris") }
        // A section that is present but unusable is nil; an absent one takes the defaults.
        var supervisor: SupervisorSettings? = SupervisorSettings()
        if let value = root["supervisor"] { supervisor = supervisorSettings(value, at: "supervisor") }
        var connections: [DesiredConnection]? = []
        if let value = root["connections"] { connections = connectionList(value, at: "connections") }
        let jobs = required("jobs", in: root, at: "").flatMap { jobList($0, at: "jobs", connections: connections) }
        // Absent: no endpoint. Every nil from a present section comes with a reported problem.
        let metrics = root["metrics"].flatMap { metricsSettings($0, at: "metrics") }
        let highAvailability = root["highAvailability"].flatMap {
            highAvailabilitySettings($0, at: "highAvailability", hostName: hostName)
        }

        guard !hasProblems, let polaris, let supervisor, let connections, let jobs else { return nil }
        return WardenConfig(
            polaris: polaris, supervisor: supervisor, connections: connections, jobs: jobs, metrics: metrics,
            highAvailability: highAvailability)
    }

    // MARK: polaris

    private mutating func polarisSettings(_ value: JSONValue, at path: String) -> PolarisSettings? {
        guard let members = object(value, at: path) else { return nil }
        rejectUnknownKeys(
            members, at: path,
            allowed: ["url", "projectId", "auth", "requestTimeoutSeconds", "maxRequestsPerSecond"])

        let urlPath = ConfigPath.member(path, "url")
        let url = required("url", in: members, at: path).flatMap { nonEmptyString($0, at: urlPath) }
            .flatMap { baseURL($0, at: urlPath) }
        let projectPath = ConfigPath.member(path, "projectId")
        let projectId = required("projectId", in: members, at: path).flatMap { nonEmptyString($0, at: projectPath) }
        if let projectId, !Self.isUUID(projectId) {
            report(
                projectPath,
                "must be the project's UUID (such as 3f1f0a0e-8c5c-4b9e-9d6b-2b7c1a6e4d10), as listed by "
                    + "GET /v1/projects or in the Polaris console URL")
        }
        let auth = required("auth", in: members, at: path).flatMap {
            authSettings($0, at: ConfigPath.member(path, "auth"))
        }

        var settings = PolarisSettings(url: url ?? "", projectId: projectId ?? "", auth: .apiKey(.credential("")))
        optional("requestTimeoutSeconds", of: members, at: path, into: &settings.requestTimeoutSeconds) {
            $0.number($1, at: $2, range: 0.1...300)
        }
        optional("maxRequestsPerSecond", of: members, at: path, into: &settings.maxRequestsPerSecond) {
            $0.number($1, at: $2, range: 0...1000, exclusiveMinimum: true)
        }
        guard let url, let projectId, let auth else { return nil }
        settings.url = url
        settings.projectId = projectId
        settings.auth = auth
        return settings
    }

    /// `https://HOST[:PORT]` with an optional trailing slash (removed); `http` only for a
    /// loopback host. With `allowPath` (a token endpoint) a path and query may follow.
    mutating func baseURL(_ text: String, at path: String, allowPath: Bool = false) -> String? {
        let lowered = text.lowercased()
        let rest: Substring
        let secure: Bool
        if lowered.hasPrefix("https://") {
            rest = text.dropFirst("https://".count)
            secure = true
        } else if lowered.hasPrefix("http://") {
            rest = text.dropFirst("http://".count)
            secure = false
        } else {
            report(path, "must be an https:// URL (http:// only for a loopback host such as 127.0.0.1)")
            return nil
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let tail = rest.dropFirst(authority.count)
        if authority.contains("@") {
            report(path, "must not contain a user name or password; configure credentials in polaris.auth")
            return nil
        }
        guard let host = Self.host(of: authority) else {
            report(path, "has no valid host name (and optional :port)")
            return nil
        }
        if !secure, !Self.isLoopback(host) {
            report(
                path,
                "must use https://; plain http:// would send the credentials in clear text and is "
                    + "allowed only for a loopback host (127.0.0.0/8, ::1, localhost)")
            return nil
        }
        if tail.contains("#") || (!allowPath && !(tail.isEmpty || tail == "/")) {
            report(
                path,
                allowPath
                    ? "must not contain a fragment (#…)"
                    : "must be the base URL only, without a path or query (such as "
                        + "https://ORG.REGION.CLOUD.api.imply.io); the warden adds /v1/projects/PROJECT_ID itself")
            return nil
        }
        return allowPath || tail.isEmpty ? text : String(text.dropLast())
    }

    /// The host of `HOST[:PORT]`, nil when either part is malformed.
    private static func host(of authority: Substring) -> Substring? {
        var host = authority
        var port: Substring = ""
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                port = after.dropFirst()
            }
            let inside = host.dropFirst().dropLast()
            guard !inside.isEmpty, inside.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                port = authority[authority.index(after: colon)...]
                guard !port.isEmpty else { return nil }
            }
            guard HostName.isValid(host) else { return nil }
        }
        if !port.isEmpty {
            guard port.count <= 5, port.allSatisfy(\.isASCII), let number = Int(port), (1...65535).contains(number)
            else { return nil }
        }
        return host
    }

    /// ``HostName/isLoopback(_:)`` for a URL's host, where IPv6 is in brackets: `[::1]`.
    private static func isLoopback(_ host: Substring) -> Bool {
        host == "[::1]" || HostName.isLoopback(host)
    }

    static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                if byte != UInt8(ascii: "-") { return false }
            } else if !Character(Unicode.Scalar(byte)).isHexDigit {
                return false
            }
        }
        return true
    }

    // MARK: polaris.auth

    private static let apiKeySources = ["credential", "file", "env"]
    private static let oauthSecretSources = ["clientSecretCredential", "clientSecretFile", "clientSecretEnv"]

    private mutating func authSettings(_ value: JSONValue, at path: String) -> AuthSettings? {
        guard let members = object(value, at: path) else { return nil }
        let typePath = ConfigPath.member(path, "type")
        let type = required("type", in: members, at: path).flatMap { string($0, at: typePath) }
        switch type {
        case "apiKey":
            rejectUnknownKeys(
                members, at: path, allowed: ["type"] + Self.apiKeySources,
                secretAdvice: Self.defaultSecretAdvice,
                advice: Dictionary(
                    uniqueKeysWithValues: (["clientId", "tokenUrl"] + Self.oauthSecretSources).map {
                        ($0, "belongs to \"type\": \"oauth\", not \"apiKey\"")
                    }))
            return secretSource(members, at: path, keys: Self.apiKeySources).map { .apiKey($0) }
        case "oauth":
            rejectUnknownKeys(
                members, at: path, allowed: ["type", "clientId", "tokenUrl"] + Self.oauthSecretSources,
                secretAdvice:
                    "secrets must not be written in the config file; store the client secret in a systemd "
                    + "credential and name it with \"clientSecretCredential\"",
                advice: [
                    "credential": "the oauth client secret is given as \"clientSecretCredential\"",
                    "file": "the oauth client secret is given as \"clientSecretFile\"",
                    "env": "the oauth client secret is given as \"clientSecretEnv\"",
                ])
            let clientId = required("clientId", in: members, at: path).flatMap {
                nonEmptyString($0, at: ConfigPath.member(path, "clientId"))
            }
            let tokenPath = ConfigPath.member(path, "tokenUrl")
            let tokenURL = required("tokenUrl", in: members, at: path).flatMap { nonEmptyString($0, at: tokenPath) }
                .flatMap { baseURL($0, at: tokenPath, allowPath: true) }
            let secret = secretSource(members, at: path, keys: Self.oauthSecretSources)
            guard let clientId, let tokenURL, let secret else { return nil }
            return .oauth(clientId: clientId, secret: secret, tokenURL: tokenURL)
        default:
            if let type {
                var message = "must be apiKey or oauth"
                if let suggestion = Self.closest(to: type, among: ["apiKey", "oauth"]) {
                    message += "; did you mean \(suggestion)?"
                }
                report(typePath, message)
            }
            // Without a type, still catch inline secrets and typos.
            rejectUnknownKeys(
                members, at: path,
                allowed: ["type", "clientId", "tokenUrl"] + Self.apiKeySources + Self.oauthSecretSources)
            return nil
        }
    }

    /// Exactly one of `keys` (credential, file, env in that order) with a valid value.
    mutating func secretSource(
        _ members: [String: JSONValue], at path: String, keys: [String]
    ) -> SecretSource? {
        let present = keys.filter { members[$0] != nil }
        guard let key = present.first else {
            report(path, "needs exactly one secret source: \(keys.joined(separator: ", ")) (none is given)")
            return nil
        }
        if present.count > 1 {
            for extra in present.dropFirst() {
                report(
                    ConfigPath.member(path, extra),
                    "only one secret source may be given, and \(key) is already set")
            }
            return nil
        }
        let keyPath = ConfigPath.member(path, key)
        guard let name = members[key].flatMap({ nonEmptyString($0, at: keyPath) }) else { return nil }
        switch keys.firstIndex(of: key) {
        case 0:
            guard !name.contains("/"), name != ".", name != ".." else {
                report(
                    keyPath,
                    "must be a credential name (a file name in $CREDENTIALS_DIRECTORY, as in LoadCredential=NAME:…), "
                        + "not a path; use \(keys[1]) for a path")
                return nil
            }
            return .credential(name)
        case 1:
            guard name.hasPrefix("/") else {
                report(keyPath, "must be an absolute path (the service's working directory is not the config's)")
                return nil
            }
            return .file(name)
        default:
            let valid =
                name.utf8.first.map { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } == true
                && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            guard valid else {
                report(
                    keyPath, "must be an environment variable name (letters, digits and _, not starting with a digit)")
                return nil
            }
            return .env(name)
        }
    }
}
