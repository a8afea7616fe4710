import PolarisAPI

/// What to do about connections this cycle: create the missing, PATCH the managed fields that
/// drifted, and delete undeclared ones only when `prune` is on. Pure.
public enum ConnectionAction: Hashable, Sendable {
    case create(name: String, fields: [String: JSONValue])
    case update(name: String, type: String, changes: [String: JSONValue])
    case delete(name: String)

    public var connectionName: String {
        switch self {
        case .create(let name, _), .update(let name, _, _), .delete(let name): name
        }
    }
}

public enum ConnectionPlanner {
    public static func plan(
        desired: [DesiredConnection], existing: [Connection], prune: Bool
    ) -> [ConnectionAction] {
        let existingByName = Dictionary(existing.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var actions: [ConnectionAction] = []
        for connection in desired where connection.managed {
            if let current = existingByName[connection.name] {
                let changes = current.differences(from: connection.fields)
                if !changes.isEmpty {
                    actions.append(.update(name: connection.name, type: current.type, changes: changes))
                }
            } else {
                actions.append(.create(name: connection.name, fields: connection.fields))
            }
        }
        if prune {
            let declared = Set(desired.map(\.name))
            for connection in existing where !declared.contains(connection.name) {
                actions.append(.delete(name: connection.name))
            }
        }
        return actions
    }
}
