/// The armed faults, in the order they were injected; a pure value type so its matching and
/// counting rules are testable without a server.
///
/// Per request: every matching delay fault applies (their durations add up) and uses one of
/// its count; then the first matching `respond` or `drop` fault, if any, decides the answer
/// and uses one of its count. A fault whose count reaches zero is removed.
struct FaultBook: Sendable {
    struct Decision: Sendable, Equatable {
        var delay: Duration = .zero
        var terminal: InjectedFault.Action?
    }

    private(set) var armed: [(id: Int, fault: InjectedFault)] = []
    private var nextID = 1

    @discardableResult
    mutating func add(_ fault: InjectedFault) -> Int {
        defer { nextID += 1 }
        armed.append((nextID, fault))
        return nextID
    }

    mutating func removeAll() { armed.removeAll() }

    mutating func take(method: String, path: String, projectPath: String?) -> Decision {
        var decision = Decision()
        var index = 0
        while index < armed.count {
            var entry = armed[index]
            let applies: Bool
            if !entry.fault.matches(method: method, path: path, projectPath: projectPath) {
                applies = false
            } else if case .delay(let duration) = entry.fault.action {
                decision.delay += duration
                applies = true
            } else if decision.terminal == nil {
                decision.terminal = entry.fault.action
                applies = true
            } else {
                applies = false
            }
            if applies {
                entry.fault.count -= 1
                if entry.fault.count <= 0 {
                    armed.remove(at: index)
                    continue
                }
                armed[index] = entry
            }
            index += 1
        }
        return decision
    }
}
