import Logging
import Synchronization

/// What the demo shows: a live table (redrawn in place on a terminal, printed every few
/// seconds otherwise) and the warden's events as they happen.
public final class DemoDisplay: Sendable {
    /// True on a terminal: the table is redrawn in place and events are listed under it.
    public let isTerminal: Bool
    private let write: @Sendable (String) -> Void
    private let recentEvents = Mutex<[String]>([])
    /// Every warden event seen about a job (the script and the tests look for them).
    private let seenEvents = Mutex<Set<SeenEvent>>([])
    private let started: ContinuousClock.Instant

    public init(isTerminal: Bool, write: @escaping @Sendable (String) -> Void) {
        self.isTerminal = isTerminal
        self.write = write
        started = .now
    }

    /// Seconds since the demo started, formatted `+12.3s`.
    public var elapsedLabel: String { Self.label(ContinuousClock.now - started) }

    public var elapsedSeconds: Double {
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    static func label(_ duration: Duration) -> String {
        let tenths = duration.components.seconds * 10 + duration.components.attoseconds / 100_000_000_000_000_000
        return "+\(tenths / 10).\(tenths % 10)s"
    }

    public func event(_ line: String) {
        let stamped = "\(elapsedLabel)  \(line)"
        if isTerminal {
            recentEvents.withLock { events in
                events.append(stamped)
                if events.count > 12 { events.removeFirst(events.count - 12) }
            }
        } else {
            write(stamped + "\n")
        }
    }

    /// A warden event about a job: `job-stalled`, the job's name, its Polaris job id.
    public struct SeenEvent: Hashable, Sendable {
        public var event: String
        public var job: String
        public var jobID: String?
    }

    /// The warden events seen so far about jobs.
    public var seen: Set<SeenEvent> { seenEvents.withLock { $0 } }

    /// The warden logged `event` (`job-stalled`) about the Polaris job `jobID`.
    public func sawEvent(_ event: String, jobID: String) -> Bool {
        seenEvents.withLock { $0.contains { $0.event == event && $0.jobID == jobID } }
    }

    func noteEvent(_ event: String, metadata: Logger.Metadata?) {
        guard let job = metadata?["POLARIS_JOB"].map({ "\($0)" }) else { return }
        let seen = SeenEvent(event: event, job: job, jobID: metadata?["POLARIS_JOB_ID"].map { "\($0)" })
        _ = seenEvents.withLock { $0.insert(seen) }
    }

    public func show(table: String) {
        if isTerminal {
            let events = recentEvents.withLock { $0 }
            // Home the cursor and clear the screen, then draw: flicker-free enough at 1 Hz.
            write(
                "\u{1B}[H\u{1B}[2J" + table + "\n\nevents:\n" + events.map { "  " + $0 }.joined(separator: "\n") + "\n")
        } else {
            write(table + "\n")
        }
    }

    public func print(_ text: String) {
        write(text + "\n")
    }

    /// A logger whose events land in this display.
    public func logger(level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "polaris-warden") { _ in DemoLogHandler(display: self) }
        logger.logLevel = level
        return logger
    }
}

/// Formats a warden event for the demo: `notice   job-recreated   recreated orders as 1f2e… (canceled)`.
struct DemoLogHandler: LogHandler {
    let display: DemoDisplay
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let name = event.metadata?["EVENT"].map { "\($0)" } ?? ""
        display.noteEvent(name, metadata: event.metadata)
        let level = "\(event.level)".padding(to: 8)
        display.event("\(level) \(name.padding(to: 20)) \(event.message)")
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
