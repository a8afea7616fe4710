import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// Tells the service manager the truth about the daemon through `sd_notify(3)`: readiness,
/// reloads, shutdown, one-line status and watchdog pings.
///
/// Whether `NOTIFY_SOCKET` is set is decided once at init, so outside systemd (a terminal,
/// tests, `demo`) every call is a cheap no-op without any syscall. Several assignments that
/// belong together (`READY=1` + `STATUS=`) travel in one datagram so systemd never sees a
/// half-applied state.
public struct SystemdNotifier: Sendable {
    /// Longest `STATUS=` text in UTF-8 bytes; `systemctl status` shows one line, longer text only wraps.
    public static let maximumStatusBytes = 200

    /// True when `NOTIFY_SOCKET` was set at init (or a sink was given); otherwise every send is a no-op.
    public let isEnabled: Bool
    /// Where datagrams go instead of `sd_notify` (``init(sink:)``).
    private let sink: (@Sendable (String) -> Void)?

    /// Reads `NOTIFY_SOCKET` once.
    public init() {
        self.isEnabled = getenv("NOTIFY_SOCKET") != nil
        self.sink = nil
    }

    /// For tests and callers that already know; `enabled: false` makes every call a no-op.
    public init(enabled: Bool) {
        self.isEnabled = enabled
        self.sink = nil
    }

    /// A notifier that hands each datagram (exactly the text `sd_notify` would send) to `sink`
    /// instead of the socket: in-process tests of the daemon read what systemd would have seen.
    public init(sink: @escaping @Sendable (_ datagram: String) -> Void) {
        self.isEnabled = true
        self.sink = sink
    }

    // MARK: - Protocol messages

    /// `READY=1`, with an optional `STATUS=` in the same datagram.
    @discardableResult
    public func ready(status: String? = nil) -> Bool {
        send([.ready] + (status.map { [.status($0)] } ?? []))
    }

    /// `STATUS=<one line>`.
    @discardableResult
    public func status(_ text: String) -> Bool {
        send([.status(text)])
    }

    /// `RELOADING=1` + `MONOTONIC_USEC=`; follow with ``ready(status:)`` when the reload is done
    /// (also when the new configuration was rejected).
    @discardableResult
    public func reloading(
        monotonicMicroseconds: UInt64 = SystemdNotifier.monotonicMicroseconds(),
        status: String? = nil
    ) -> Bool {
        send(
            [.reloading, .monotonicMicroseconds(monotonicMicroseconds)]
                + (status.map { [.status($0)] } ?? []))
    }

    /// `STOPPING=1`, with an optional `STATUS=`; send it on every exit path.
    @discardableResult
    public func stopping(status: String? = nil) -> Bool {
        send([.stopping] + (status.map { [.status($0)] } ?? []))
    }

    /// `WATCHDOG=1`: only while the main loop is really making progress (see ``WatchdogService``).
    @discardableResult
    public func watchdogPing() -> Bool {
        send([.watchdog])
    }

    /// `WATCHDOG=trigger`: the loop is wedged; let systemd restart the daemon now.
    @discardableResult
    public func watchdogTrigger() -> Bool {
        send([.watchdogTrigger])
    }

    /// `EXTEND_TIMEOUT_USEC=`: start-up or shutdown needs this much more time from now.
    @discardableResult
    public func extendTimeout(microseconds: UInt64) -> Bool {
        send([.extendTimeout(microseconds: microseconds)])
    }

    /// `ERRNO=`: the errno-style code the service is failing with.
    @discardableResult
    public func errno(_ code: Int32) -> Bool {
        send([.errno(code)])
    }

    /// Sends the messages as one datagram. Returns true when systemd (or the sink) accepted it;
    /// false when disabled, on an empty list, or when `sd_notify` failed (never fatal for the daemon).
    @discardableResult
    public func send(_ messages: [NotifyMessage]) -> Bool {
        guard isEnabled, !messages.isEmpty else { return false }
        let text = Self.datagram(messages)
        if let sink {
            sink(text)
            return true
        }
        return text.withCString { sd_notify(0, $0) } > 0
    }

    // MARK: - Pure helpers

    /// The datagram text for `messages`: one `VARIABLE=value` per line, no trailing newline.
    public static func datagram(_ messages: [NotifyMessage]) -> String {
        messages.map(\.line).joined(separator: "\n")
    }

    /// `CLOCK_MONOTONIC` in microseconds, the clock `MONOTONIC_USEC=` must use.
    public static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }

    /// Makes `text` one bounded line: control characters and line breaks become spaces, runs of
    /// whitespace collapse into one space, ends are trimmed, and text longer than
    /// ``maximumStatusBytes`` UTF-8 bytes is cut on a character boundary and ends in "…".
    public static func sanitizeStatus(_ text: String, maximumBytes: Int = maximumStatusBytes)
        -> String
    {
        var scalars = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            let isBlank =
                scalar.properties.generalCategory == .control
                || scalar.properties.generalCategory == .lineSeparator
                || scalar.properties.generalCategory == .paragraphSeparator
                || scalar.properties.isWhitespace
            if isBlank {
                pendingSpace = !scalars.isEmpty
                continue
            }
            if pendingSpace {
                scalars.append(" ")
                pendingSpace = false
            }
            scalars.append(scalar)
        }
        let line = String(scalars)
        guard line.utf8.count > maximumBytes else { return line }
        let ellipsis = "…"
        let budget = max(0, maximumBytes - ellipsis.utf8.count)
        var cut = ""
        var used = 0
        for character in line {
            let size = character.utf8.count
            if used + size > budget { break }
            cut.append(character)
            used += size
        }
        while cut.last == " " { cut.removeLast() }
        return cut + ellipsis
    }
}
