import PolarisAPI

extension ConfigValidator {
    static let kinesisKeys = ["type", "name", "managed", "stream", "awsEndpoint", "awsAssumedRoleArn", "description"]
    static let unmanagedConnectionKeys = ["name", "managed", "type"]
    static let jobKeys = ["name", "priority", "stall", "spec"]

    // MARK: connections

    /// `connections`; nil when the section itself is unusable, which also turns off the
    /// "connection not declared" check of jobs (it would only repeat the same problem).
    mutating func connectionList(_ value: JSONValue, at path: String) -> [DesiredConnection]? {
        guard let elements = value.arrayValue else {
            report(path, "expected an array of connections, found \(value.typeName)")
            return nil
        }
        var connections: [DesiredConnection] = []
        var firstIndex: [String: Int] = [:]
        for (index, element) in elements.enumerated() {
            let elementPath = ConfigPath.element(path, index)
            guard let connection = connection(element, at: elementPath) else { continue }
            if let first = firstIndex[connection.name] {
                report(
                    ConfigPath.member(elementPath, "name"),
                    "duplicate connection name \"\(connection.name)\" "
                        + "(first declared at \(ConfigPath.element(path, first)))"
                )
                continue
            }
            firstIndex[connection.name] = index
            connections.append(connection)
        }
        return connections
    }

    /// One connection. Nil when it has no usable name; problems with its other fields are
    /// reported but the name is still returned so jobs that use it are not blamed too.
    private mutating func connection(_ value: JSONValue, at path: String) -> DesiredConnection? {
        guard let members = object(value, at: path) else { return nil }
        let namePath = ConfigPath.member(path, "name")
        let name = required("name", in: members, at: path).flatMap { string($0, at: namePath) }
        if let name, !Self.isValidName(name, maximumLength: 64) {
            report(namePath, "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
        }
        var managed = true
        if let value = members["managed"] {
            // Without a valid flag the other rules cannot be chosen; the name still counts as declared.
            guard let flag = bool(value, at: ConfigPath.member(path, "managed")) else {
                return name.map { DesiredConnection(name: $0, managed: false, type: nil, fields: [:]) }
            }
            managed = flag
        }
        let typePath = ConfigPath.member(path, "type")

        guard managed else {
            rejectUnknownKeys(
                members, at: path, allowed: Self.unmanagedConnectionKeys,
                secretAdvice: "an unmanaged connection is declared by name only; its secrets stay in Polaris",
                otherwise: "not allowed on a \"managed\": false connection, which the warden never writes to; "
                    + "declare only its name (and type)")
            let type = members["type"].flatMap { nonEmptyString($0, at: typePath) }
            guard let name else { return nil }
            var fields: [String: JSONValue] = ["name": .string(name)]
            if let type { fields["type"] = .string(type) }
            return DesiredConnection(name: name, managed: false, type: type, fields: fields)
        }

        let type = required("type", in: members, at: path).flatMap { nonEmptyString($0, at: typePath) }
        let connectionSecretAdvice =
            "connection secrets cannot be written in the config file; create this connection in Polaris "
            + "yourself and declare it here as {\"name\": …, \"managed\": false}"
        if type == "kinesis" {
            rejectUnknownKeys(members, at: path, allowed: Self.kinesisKeys, secretAdvice: connectionSecretAdvice)
            let streamPath = ConfigPath.member(path, "stream")
            _ = required("stream", in: members, at: path).flatMap { nonEmptyString($0, at: streamPath) }
            let rolePath = ConfigPath.member(path, "awsAssumedRoleArn")
            if let role = required("awsAssumedRoleArn", in: members, at: path).flatMap({ string($0, at: rolePath) }),
                !role.hasPrefix("arn:")
            {
                report(
                    rolePath,
                    "must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME); Polaris reads Kinesis by "
                        + "assuming this role, not with access keys")
            }
            if let endpoint = members["awsEndpoint"] {
                _ = nonEmptyString(endpoint, at: ConfigPath.member(path, "awsEndpoint"))
            }
            if let description = members["description"] {
                _ = string(description, at: ConfigPath.member(path, "description"))
            }
        } else {
            // Other types pass through to Polaris unchecked, except that their secrets may
            // not be written here.
            for (key, value) in members where Self.secretKeyNames.contains(key.lowercased()) {
                rejectInlineSecret(value, at: ConfigPath.member(path, key), advice: connectionSecretAdvice)
            }
        }
        guard let name else { return nil }
        var fields = members
        fields["managed"] = nil
        return DesiredConnection(name: name, managed: true, type: type, fields: fields)
    }

    static func isValidName(_ name: String, maximumLength: Int) -> Bool {
        (1...maximumLength).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }

    // MARK: jobs

    /// `jobs`. `connections` nil means the connections section was unusable.
    mutating func jobList(_ value: JSONValue, at path: String, connections: [DesiredConnection]?) -> [DesiredJob]? {
        guard let elements = value.arrayValue else {
            report(path, "expected an array of jobs, found \(value.typeName)")
            return nil
        }
        var jobs: [DesiredJob] = []
        var nameIndex: [String: Int] = [:]
        var tableOwner: [String: (name: String, index: Int)] = [:]
        let connectionNames = connections.map { $0.map(\.name) }
        let declared = connectionNames.map(Set.init)
        for (index, element) in elements.enumerated() {
            let elementPath = ConfigPath.element(path, index)
            guard let job = job(element, at: elementPath, connectionNames: connectionNames, declared: declared)
            else { continue }
            if let name = job.name {
                if let first = nameIndex[name] {
                    report(
                        ConfigPath.member(elementPath, "name"),
                        "duplicate job name \"\(name)\" (first used at \(ConfigPath.element(path, first)))")
                } else {
                    nameIndex[name] = index
                }
            }
            if let table = job.table {
                let tablePath = ConfigPath.member(
                    ConfigPath.member(ConfigPath.member(elementPath, "spec"), "target"), "tableName")
                if let owner = tableOwner[table] {
                    report(
                        tablePath,
                        "jobs \"\(owner.name)\" (\(ConfigPath.element(path, owner.index))) and \"\(job.name ?? "?")\" "
                            + "both target table \"\(table)\"; Polaris runs one streaming job per table, so they "
                            + "would keep replacing each other")
                } else {
                    tableOwner[table] = (job.name ?? "?", index)
                }
            }
            if let name = job.name, let spec = job.spec, job.table != nil {
                jobs.append(
                    DesiredJob(name: name, spec: JobSpec(fields: spec), priority: job.priority, stall: job.stall))
            }
        }
        return jobs
    }

    /// The parts of one job that are usable, for the cross-job checks.
    private struct JobParts {
        var name: String?
        var priority = 0
        var stall: DesiredJob.StallChoice?
        var spec: [String: JSONValue]?
        var table: String?
    }

    /// `declared`: `connectionNames` as a set, so checking every job's connection stays linear.
    private mutating func job(
        _ value: JSONValue, at path: String, connectionNames: [String]?, declared: Set<String>?
    ) -> JobParts? {
        guard let members = object(value, at: path) else { return nil }
        rejectUnknownKeys(members, at: path, allowed: Self.jobKeys)
        var parts = JobParts()
        let namePath = ConfigPath.member(path, "name")
        if let name = required("name", in: members, at: path).flatMap({ string($0, at: namePath) }) {
            if Self.isValidName(name, maximumLength: 128) {
                parts.name = name
            } else {
                report(namePath, "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
            }
        }
        optional("priority", of: members, at: path, into: &parts.priority) {
            $0.integer($1, at: $2, range: -1000...1000)
        }
        if let value = members["stall"] {
            let stallPath = ConfigPath.member(path, "stall")
            if value == .bool(false) {
                parts.stall = .off
            } else if let stall = object(value, at: stallPath) {
                rejectUnknownKeys(stall, at: stallPath, allowed: Self.jobStallKeys)
                let (afterSeconds, action) = stallMembers(stall, at: stallPath)
                parts.stall = .custom(afterSeconds: afterSeconds, action: action)
            }
        }
        let specPath = ConfigPath.member(path, "spec")
        guard let specValue = required("spec", in: members, at: path), let spec = object(specValue, at: specPath)
        else { return parts }
        parts.spec = spec
        func at(_ key: String) -> String { ConfigPath.member(specPath, key) }

        requireType(
            "streaming", in: spec, at: specPath, "must be \"streaming\": the warden supervises streaming jobs only")
        if spec["replaceRunning"] != nil {
            report(
                at("replaceRunning"),
                "must not be set: the warden decides when to replace a running job (it sets replaceRunning itself)")
        }
        if let target = required("target", in: spec, at: specPath).flatMap({ object($0, at: at("target")) }) {
            let targetPath = at("target")
            requireType("table", in: target, at: targetPath, "must be \"table\" (a streaming job ingests into a table)")
            let tablePath = ConfigPath.member(targetPath, "tableName")
            parts.table = required("tableName", in: target, at: targetPath).flatMap {
                nonEmptyString($0, at: tablePath)
            }
        }
        if let source = required("source", in: spec, at: specPath).flatMap({ object($0, at: at("source")) }) {
            let sourcePath = at("source")
            requireType(
                "connection", in: source, at: sourcePath, "must be \"connection\" (a streaming job reads a connection)")
            let connectionPath = ConfigPath.member(sourcePath, "connectionName")
            if let connection = required("connectionName", in: source, at: sourcePath).flatMap({
                nonEmptyString($0, at: connectionPath)
            }), let connectionNames, let declared, !declared.contains(connection) {
                var message =
                    "connection \"\(connection)\" is not declared in connections; declare it, or add "
                    + "{\"name\": \"\(connection)\", \"managed\": false} for a connection managed outside the warden"
                if let suggestion = Self.closest(to: connection, among: connectionNames) {
                    message += " (did you mean \(suggestion)?)"
                }
                report(connectionPath, message)
            }
        }
        return parts
    }

    /// Reports the `type` member of `members` (the object at `path`) when it is missing or not
    /// a string, and with `message` when it is not `expected`.
    private mutating func requireType(
        _ expected: String, in members: [String: JSONValue], at path: String, _ message: String
    ) {
        let typePath = ConfigPath.member(path, "type")
        if let type = required("type", in: members, at: path).flatMap({ string($0, at: typePath) }), type != expected {
            report(typePath, message)
        }
    }
}
