import PolarisAPI
import Testing

/// Equal JSON values share one copy after interning, and nothing about a value changes.
@Suite struct JSONInternerTests {
    /// Where a string's bytes are stored (equal addresses: one shared copy).
    static func storage(_ text: String?) -> UInt? {
        text?.utf8.withContiguousStorageIfAvailable { UInt(bitPattern: $0.baseAddress) } ?? nil
    }

    /// A spec as a parser builds it: every string a fresh copy.
    static func spec(table: String) -> JSONValue {
        let long = { (text: String) in JSONValue.string(String(decoding: Array(text.utf8), as: UTF8.self)) }
        return .object([
            "type": "streaming",
            "target": .object(["type": "table", "tableName": .string(table)]),
            "source": .object(["type": "connection", "connectionName": long("kinesis-clickstream-production")]),
            "inputSchema": .array([.object(["name": long("a_rather_long_column_name"), "dataType": "string"])]),
            "maxParseExceptions": .int(2_147_483_647),
            "ratio": .double(1),
            "count": .int(1),
            "flag": .bool(true),
            "nothing": .null,
        ])
    }

    @Test func internedValuesAreEqualToTheOriginals() {
        var interner = JSONInterner()
        for table in ["orders", "clicks", "orders"] {
            let original = Self.spec(table: table)
            #expect(interner.intern(original) == original)
        }
        // 1 and 1.0 stay different values.
        let numbers: JSONValue = .array([.int(1), .double(1)])
        #expect(interner.intern(numbers) == numbers)
    }

    @Test func equalPartsAreKeptOnce() throws {
        var interner = JSONInterner()
        let orders = interner.intern(Self.spec(table: "orders"))
        let afterOne = interner.distinctCount
        let clicks = interner.intern(Self.spec(table: "clicks"))
        // Only what differs is new: the top-level object and its target.
        #expect(interner.distinctCount == afterOne + 2)
        let a = try #require(orders["source"]?["connectionName"]?.stringValue)
        let b = try #require(clicks["source"]?["connectionName"]?.stringValue)
        #expect(Self.storage(a) != nil && Self.storage(a) == Self.storage(b), "one copy of the long string")
        let columnA = orders["inputSchema"]?.arrayValue?.first?["name"]?.stringValue
        let columnB = clicks["inputSchema"]?.arrayValue?.first?["name"]?.stringValue
        #expect(Self.storage(columnA) == Self.storage(columnB))
        // Without interning the two specs' strings are separate copies (the test can fail).
        let plainA = Self.spec(table: "x")["source"]?["connectionName"]?.stringValue
        let plainB = Self.spec(table: "y")["source"]?["connectionName"]?.stringValue
        #expect(Self.storage(plainA) != Self.storage(plainB))
    }

    @Test func memberNamesAreShared() {
        var interner = JSONInterner()
        let name = { String(decoding: Array("maxParseExceptionsAllowed".utf8), as: UTF8.self) }
        let first = interner.intern([name(): .int(1)])
        let second = interner.intern([name(): .int(2)])
        #expect(Self.storage(first.keys.first) == Self.storage(second.keys.first))
        #expect(second == ["maxParseExceptionsAllowed": .int(2)])
    }
}
