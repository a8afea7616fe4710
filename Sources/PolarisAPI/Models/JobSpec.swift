#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A Polaris job request body (`CreateJobRequest`), kept as JSON so unknown fields round-trip
/// unchanged. Typed accessors cover only what the warden reads.
public struct JobSpec: Hashable, Sendable, Codable {
    /// The JSON object members, exactly as configured or echoed by Polaris.
    public var fields: [String: JSONValue]

    public init(fields: [String: JSONValue]) {
        self.fields = fields
    }

    public init(from decoder: any Decoder) throws {
        fields = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(fields)
    }

    /// `type`: `streaming`, `batch`, ...
    public var type: String? { fields["type"]?.stringValue }

    /// `source.connectionName` of a streaming job.
    public var connectionName: String? { fields["source"]?["connectionName"]?.stringValue }

    /// `target.tableName`.
    public var targetTable: String? { fields["target"]?["tableName"]?.stringValue }

    /// `replaceRunning`: create even when another streaming job holds the table (it is canceled).
    public var replaceRunning: Bool {
        get { fields["replaceRunning"]?.boolValue ?? false }
        set { fields["replaceRunning"] = .bool(newValue) }
    }

    /// `createTableIfNotExists`.
    public var createTableIfNotExists: Bool { fields["createTableIfNotExists"]?.boolValue ?? false }

    /// The spec as one JSON value.
    public var json: JSONValue { .object(fields) }

    /// True when `echoed` (a job's spec as Polaris returns it) has no drift from this spec;
    /// `SpecDrift` holds the rules.
    public func isSatisfied(by echoed: JobSpec) -> Bool {
        SpecDrift.differences(desired: self, live: echoed).isEmpty
    }
}
