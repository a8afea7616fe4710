import Logging

/// Renders metadata values for log sinks that only store text (journal fields, console lines).
///
/// swift-log's own `description` prints dictionaries in hash order, which makes the same event
/// look different from run to run; this renders dictionaries with sorted keys.
enum MetadataRendering {
    /// A string as is; arrays as `[a, b]`; dictionaries as `{k: v, …}` with sorted keys.
    static func render(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text):
            return text
        case .stringConvertible(let convertible):
            return convertible.description
        case .array(let values):
            return "[" + values.map(render).joined(separator: ", ") + "]"
        case .dictionary(let dictionary):
            let entries = dictionary.keys.sorted().map { "\($0): \(render(dictionary[$0]!))" }
            return "{" + entries.joined(separator: ", ") + "}"
        }
    }

    /// Provider metadata, then handler metadata, then per-call metadata; later wins.
    static func merge(
        provider: Logger.MetadataProvider?,
        handler: Logger.Metadata,
        event: Logger.Metadata?
    ) -> Logger.Metadata {
        var merged = provider?.get() ?? [:]
        merged.merge(handler) { _, new in new }
        if let event {
            merged.merge(event) { _, new in new }
        }
        return merged
    }
}

/// A handler that keeps the metadata set on its logger in `metadata` and merges it, for each
/// event, with its provider's and the event's: what ``JournalLogHandler`` and
/// ``ConsoleLogHandler`` share.
public protocol MergingLogHandler: LogHandler {}

extension MergingLogHandler {
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The metadata of `event`: ``MetadataRendering/merge(provider:handler:event:)``.
    func mergedMetadata(for event: LogEvent) -> Logger.Metadata {
        MetadataRendering.merge(provider: metadataProvider, handler: metadata, event: event.metadata)
    }
}
