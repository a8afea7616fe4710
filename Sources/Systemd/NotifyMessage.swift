/// One assignment of the `sd_notify(3)` protocol.
///
/// Modelled as cases rather than free text so a call site cannot misspell a variable name that
/// systemd would then silently ignore.
public enum NotifyMessage: Sendable, Hashable {
    /// `READY=1`: start-up (or a reload) is complete.
    case ready
    /// `RELOADING=1`: a reload started; pair it with ``monotonicMicroseconds(_:)``.
    case reloading
    /// `MONOTONIC_USEC=`: `CLOCK_MONOTONIC` in µs when the reload started.
    case monotonicMicroseconds(UInt64)
    /// `STOPPING=1`: shutdown started.
    case stopping
    /// `STATUS=`: one line for `systemctl status`; sanitised by ``SystemdNotifier/sanitizeStatus(_:)``.
    case status(String)
    /// `WATCHDOG=1`: the keep-alive ping.
    case watchdog
    /// `WATCHDOG=trigger`: ask systemd to act on the watchdog right away.
    case watchdogTrigger
    /// `EXTEND_TIMEOUT_USEC=`: ask for more start/stop/reload time.
    case extendTimeout(microseconds: UInt64)
    /// `ERRNO=`: the failure code of the service.
    case errno(Int32)

    /// The `VARIABLE=value` line of this message, as it goes into the datagram.
    public var line: String {
        switch self {
        case .ready: "READY=1"
        case .reloading: "RELOADING=1"
        case .monotonicMicroseconds(let usec): "MONOTONIC_USEC=\(usec)"
        case .stopping: "STOPPING=1"
        case .status(let text): "STATUS=\(SystemdNotifier.sanitizeStatus(text))"
        case .watchdog: "WATCHDOG=1"
        case .watchdogTrigger: "WATCHDOG=trigger"
        case .extendTimeout(let usec): "EXTEND_TIMEOUT_USEC=\(usec)"
        case .errno(let code): "ERRNO=\(code)"
        }
    }
}
