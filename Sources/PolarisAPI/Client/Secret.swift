/// A credential (API key, OAuth client secret, access token) that must never reach a log, the
/// journal, an error message or a debug dump: every textual rendering is redacted.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let value: String

    public init(_ value: String) {
        self.value = value
    }

    /// The secret itself, for the one place that needs it: building an `Authorization` header.
    public func reveal() -> String { value }

    public var isEmpty: Bool { value.isEmpty }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "Secret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
