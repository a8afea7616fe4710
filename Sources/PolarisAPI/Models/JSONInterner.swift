/// Makes equal JSON values share one copy.
///
/// A config of thousands of jobs made from one template repeats the same `source`,
/// `inputSchema`, `mappings` and member names in every spec, and parsed, each spec held its own
/// tree of them (15 MB of a 10,000-job warden's heap). Interned, every distinct value is kept
/// once and the specs share it; `JSONValue` has value semantics, so the sharing is invisible
/// (a change to one spec copies what it changes).
public struct JSONInterner {
    private var values: Set<JSONValue> = []
    private var strings: Set<String> = []

    public init() {}

    /// How many distinct arrays, objects and long strings were kept.
    public var distinctCount: Int { values.count + strings.count }

    public mutating func intern(_ value: JSONValue) -> JSONValue {
        switch value {
        case .null, .bool, .int, .double:
            return value
        case .string(let text):
            return .string(intern(text))
        case .array(let elements):
            var shared: [JSONValue] = []
            shared.reserveCapacity(elements.count)
            for element in elements { shared.append(intern(element)) }
            return values.insert(.array(shared)).memberAfterInsert
        case .object(let members):
            return values.insert(.object(intern(members))).memberAfterInsert
        }
    }

    /// An object's members, names included, interned.
    public mutating func intern(_ members: [String: JSONValue]) -> [String: JSONValue] {
        var shared: [String: JSONValue] = [:]
        shared.reserveCapacity(members.count)
        for (name, member) in members { shared[intern(name)] = intern(member) }
        return shared
    }

    /// Strings of up to 15 UTF-8 bytes are stored inline in a `String`: nothing to share.
    private mutating func intern(_ text: String) -> String {
        text.utf8.count <= 15 ? text : strings.insert(text).memberAfterInsert
    }
}
