import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Where log events go: structured entries to journald under systemd, readable lines on a terminal.
///
/// `.automatic` follows systemd's own rule: stderr is connected to the journal exactly when
/// `JOURNAL_STREAM=<dev>:<inode>` names the file stderr is (`fstat(2)`). A child process or a
/// redirected stderr inherits the variable but not the stream, which the comparison catches.
public enum LogDestination: String, Sendable, CaseIterable {
    /// Decide from `JOURNAL_STREAM` and stderr.
    case automatic = "auto"
    /// Always the journal (``JournalLogHandler``).
    case journal
    /// Always readable lines on stderr (``ConsoleLogHandler``).
    case console

    /// `.journal` or `.console`: what `.automatic` means in this process right now.
    public func resolved() -> LogDestination {
        switch self {
        case .journal, .console: self
        case .automatic: Self.standardErrorIsJournal() ? .journal : .console
        }
    }

    /// A handler for `label` at the resolved destination. `metadata` goes into the handler's
    /// own metadata, so every entry of every logger carries it (such as `WARDEN_INSTANCE`).
    public func makeHandler(
        label: String,
        logLevel: Logger.Level = .info,
        syslogIdentifier: String = JournalLogHandler.defaultSyslogIdentifier,
        metadata: Logger.Metadata = [:],
        metadataProvider: Logger.MetadataProvider? = nil
    ) -> any LogHandler {
        switch resolved() {
        case .journal:
            var handler = JournalLogHandler(
                label: label,
                syslogIdentifier: syslogIdentifier,
                metadataProvider: metadataProvider
            )
            handler.logLevel = logLevel
            handler.metadata = metadata
            return handler
        case .console, .automatic:
            var handler = ConsoleLogHandler(label: label, metadataProvider: metadataProvider)
            handler.logLevel = logLevel
            handler.metadata = metadata
            return handler
        }
    }

    /// Bootstraps swift-log with this destination; call once, early in `main`. `metadata` is
    /// on every handler (``makeHandler(label:logLevel:syslogIdentifier:metadata:metadataProvider:)``).
    public func bootstrap(
        logLevel: Logger.Level = .info,
        syslogIdentifier: String = JournalLogHandler.defaultSyslogIdentifier,
        metadata: Logger.Metadata = [:]
    ) {
        let destination = resolved()
        LoggingSystem.bootstrap { label in
            destination.makeHandler(
                label: label, logLevel: logLevel, syslogIdentifier: syslogIdentifier, metadata: metadata)
        }
    }

    /// True when `JOURNAL_STREAM` is set and matches stderr's device and inode.
    public static func standardErrorIsJournal() -> Bool {
        guard let raw = getenv("JOURNAL_STREAM") else { return false }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return false }
        return journalStream(
            String(cString: raw), matchesDevice: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// Pure part of ``standardErrorIsJournal()``: `value` is `<dev>:<inode>` in decimal.
    public static func journalStream(_ value: String, matchesDevice device: UInt64, inode: UInt64)
        -> Bool
    {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let streamDevice = UInt64(parts[0]), let streamInode = UInt64(parts[1])
        else {
            return false
        }
        return streamDevice == device && streamInode == inode
    }
}
