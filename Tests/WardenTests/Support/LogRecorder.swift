import InMemoryLogging
import Logging

/// Captures log events so tests can assert which journal events the warden emitted.
final class LogRecorder: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
        var event: String? { metadata["EVENT"] }
    }

    /// Every logger from ``logger`` holds a copy of this handler; the copies share one store.
    private let handler: InMemoryLogHandler = {
        var handler = InMemoryLogHandler()
        handler.logLevel = .trace
        return handler
    }()

    /// What was logged, in order: the logger's metadata merged with the event's, as text.
    var all: [Entry] {
        handler.entries.map { entry in
            Entry(level: entry.level, message: "\(entry.message)", metadata: entry.metadata.mapValues { "\($0)" })
        }
    }

    func events(_ name: String) -> [Entry] { all.filter { $0.event == name } }

    func clear() { handler.clear() }

    var logger: Logger {
        Logger(label: "test") { [handler] _ in handler }
    }
}
