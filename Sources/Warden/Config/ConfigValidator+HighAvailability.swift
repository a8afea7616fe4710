import PolarisAPI

extension ConfigValidator {
    static let highAvailabilityKeys = ["postgres", "leaseSeconds", "instance"]
    static let postgresKeys = ["host", "port", "database", "user", "password", "tls"]
    static let passwordSources = ["credential", "file", "env"]
    static let passwordAdvice =
        "the database password must not be written in the config file; store it in a systemd credential "
        + "(LoadCredential=pg-password:/etc/polaris-warden/pg-password) and name it: "
        + "\"password\": {\"credential\": \"pg-password\"}"

    /// `highAvailability`: `{"postgres": {…}, "leaseSeconds": 10, "instance": "warden-a"}`.
    /// `instance` defaults to `hostName`. Nil only with a problem reported.
    mutating func highAvailabilitySettings(
        _ value: JSONValue, at path: String, hostName: String
    ) -> HighAvailabilitySettings? {
        guard let members = object(value, at: path) else { return nil }
        rejectUnknownKeys(members, at: path, allowed: Self.highAvailabilityKeys)
        func at(_ key: String) -> String { ConfigPath.member(path, key) }
        let postgres = required("postgres", in: members, at: path).flatMap { postgresSettings($0, at: at("postgres")) }
        var leaseSeconds: Double? = 10
        if let value = members["leaseSeconds"] {
            // Renewed every third of it: below 3 s a renewal every second leaves no room for one slow answer.
            leaseSeconds = number(value, at: at("leaseSeconds"), range: 3...600)
        }
        var instance: String? = hostName
        if let value = members["instance"] {
            instance = nonEmptyString(value, at: at("instance"))
            if let name = instance, name.count > 200 || name.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                report(at("instance"), "must be at most 200 characters, without control characters")
                instance = nil
            }
        }
        guard let postgres, let leaseSeconds, let instance else { return nil }
        return HighAvailabilitySettings(postgres: postgres, leaseSeconds: leaseSeconds, instance: instance)
    }

    private mutating func postgresSettings(_ value: JSONValue, at path: String) -> PostgresSettings? {
        guard let members = object(value, at: path) else { return nil }
        rejectUnknownKeys(members, at: path, allowed: Self.postgresKeys)
        func at(_ key: String) -> String { ConfigPath.member(path, key) }
        let host = required("host", in: members, at: path).flatMap { nonEmptyString($0, at: at("host")) }
        var port: Int? = 5432
        if let value = members["port"] { port = integer(value, at: at("port"), range: 1...65535) }
        let database = required("database", in: members, at: path).flatMap { nonEmptyString($0, at: at("database")) }
        let user = required("user", in: members, at: path).flatMap { nonEmptyString($0, at: at("user")) }
        var password: SecretSource?
        if let value = required("password", in: members, at: path) {
            if let source = value.objectValue {
                rejectUnknownKeys(
                    source, at: at("password"), allowed: Self.passwordSources, secretAdvice: Self.passwordAdvice)
                password = secretSource(source, at: at("password"), keys: Self.passwordSources)
            } else if case .string = value {
                rejectInlineSecret(value, at: at("password"), advice: Self.passwordAdvice)
            } else {
                report(
                    at("password"),
                    "expected an object naming the secret (credential, file or env), found \(value.typeName)")
            }
        }
        var tls: PostgresSettings.TLSMode? = .verifyFull
        if let value = members["tls"] { tls = choice(value, at: at("tls"), as: PostgresSettings.TLSMode.self) }
        guard let host, let port, let database, let user, let password, let tls else { return nil }
        return PostgresSettings(host: host, port: port, database: database, user: user, password: password, tls: tls)
    }
}
