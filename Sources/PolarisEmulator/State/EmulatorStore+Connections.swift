import PolarisAPI

/// Connections v1 (docs/polaris/api-reference.md §3): addressed by name, unique, immutable name and type.
extension EmulatorStore {
    static let connectionTypes: Set<String> = [
        "azure", "confluent", "confluent_schema_registry", "kafka", "kinesis", "push_streaming", "s3",
    ]

    /// Fields a client may not set; Polaris fills them in.
    static let serverOwnedConnectionFields: Set<String> = Connection.readOnlyFields.union(["name", "type", "secrets"])

    /// 1–64 ASCII letters, digits, `.`, `_`, `-`.
    static func isValidConnectionName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }

    /// All connections, in creation order.
    public func connectionList() -> [Connection] { connectionOrder.compactMap { connections[$0] } }

    public func connection(named name: String) throws(EmulatorError) -> Connection {
        guard let connection = connections[name] else { throw .notFound("Connection [\(name)] not found.") }
        return connection
    }

    /// `POST /connections`. Secrets are accepted and never shown back, as in Polaris.
    @discardableResult
    public func createConnection(_ body: JSONValue, by user: PolarisUser = apiKeyUser) throws(EmulatorError)
        -> Connection
    {
        guard let fields = body.objectValue else { throw .invalid("The request body must be a JSON object.") }
        guard let type = fields["type"]?.stringValue else { throw .invalid("type is required.", target: "type") }
        guard Self.connectionTypes.contains(type) else {
            throw .invalid("Unsupported connection type [\(type)].", target: "type")
        }
        guard let name = fields["name"]?.stringValue else { throw .invalid("name is required.", target: "name") }
        guard Self.isValidConnectionName(name) else {
            throw .invalid(
                "Invalid connection name [\(name)]: use 1 to 64 ASCII letters, digits, '.', '_' or '-'.",
                target: "name")
        }
        guard connections[name] == nil else {
            throw EmulatorError(
                status: .conflict, code: "AlreadyExists", message: "A connection with name [\(name)] already exists.",
                target: "name")
        }
        var connection = Connection(type: type, name: name)
        connection.apply(fields.filter { !Self.serverOwnedConnectionFields.contains($0.key) })
        let now = nextTimestamp().text
        connection.submittedByUser = user
        connection.modifiedByUser = user
        connection.submittedOnTimestamp = now
        connection.modifiedOnTimestamp = now
        if type == "push_streaming" {
            connection.otherFields["endpointUrl"] = .string("/v1/projects/\(projectID)/events/\(name)")
        }
        connections[name] = connection
        connectionOrder.append(name)
        return connection
    }

    /// `PATCH /connections/{name}`: `type` is required and must match.
    public func updateConnection(named name: String, _ body: JSONValue, by user: PolarisUser = apiKeyUser)
        throws(EmulatorError) -> Connection
    {
        guard var connection = connections[name] else { throw .notFound("Connection [\(name)] not found.") }
        guard let fields = body.objectValue else { throw .invalid("The request body must be a JSON object.") }
        guard let type = fields["type"]?.stringValue else { throw .invalid("type is required.", target: "type") }
        guard type == connection.type else {
            throw .invalid(
                "The connection type cannot be changed: [\(name)] is [\(connection.type)], not [\(type)].",
                target: "type")
        }
        if let newName = fields["name"], newName.stringValue != name {
            throw .invalid("The connection name cannot be changed.", target: "name")
        }
        connection.apply(fields.filter { !Self.serverOwnedConnectionFields.contains($0.key) })
        connection.modifiedByUser = user
        connection.modifiedOnTimestamp = nextTimestamp().text
        connections[name] = connection
        return connection
    }

    /// `DELETE /connections/{name}`. Jobs reading from it are left alone (the reference
    /// documents no rule against deleting a connection in use).
    public func deleteConnection(named name: String) throws(EmulatorError) {
        guard connections.removeValue(forKey: name) != nil else { throw .notFound("Connection [\(name)] not found.") }
        connectionOrder.removeAll { $0 == name }
        connectionTestFailures[name] = nil
    }

    /// `POST /connections/{name}/test`: succeeds unless a fault says otherwise.
    public func testConnection(named name: String) throws(EmulatorError) {
        guard connections[name] != nil else { throw .notFound("Connection [\(name)] not found.") }
        if let failure = connectionTestFailures[name] { throw failure }
    }

    /// Makes `POST /connections/{name}/test` answer 400 with this code and message (nil heals).
    /// Allowed before the connection exists, so a test can arm it up front.
    public func setConnectionTestFailure(name: String, code: String?, message: String?) {
        guard code != nil || message != nil else {
            connectionTestFailures[name] = nil
            return
        }
        connectionTestFailures[name] = EmulatorError(
            status: .badRequest, code: code ?? "ConnectionTestFailed",
            message: message ?? "Unable to connect to the source: access denied when assuming the role.")
    }
}
