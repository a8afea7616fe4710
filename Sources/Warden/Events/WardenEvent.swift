import Logging

/// The kinds of journal events the warden emits, one stable `MESSAGE_ID` each.
///
/// Operators alert on `journalctl MESSAGE_ID=…` and `PRIORITY<=3`, and `journalctl -x`
/// explains an event from `systemd/polaris-warden.catalog`, so ids never change once shipped
/// (made once with `journalctl --new-id128`) and every case has exactly one catalog entry
/// (checked by `WardenEventCatalogTests`). The raw value is the kebab-case name logged as `EVENT`.
public enum WardenEvent: String, CaseIterable, Sendable {
    // Lifecycle.
    case started
    case configLoaded = "config-loaded"
    case configRejected = "config-rejected"
    case reloaded
    case stopping
    // Connections.
    case connectionCreated = "connection-created"
    case connectionUpdated = "connection-updated"
    // Jobs: healing actions done.
    case jobCreated = "job-created"
    case jobAdopted = "job-adopted"
    case jobRecreated = "job-recreated"
    case jobResumed = "job-resumed"
    case jobReplaced = "job-replaced"
    case jobReset = "job-reset"
    case jobRetryRequested = "job-retry-requested"
    // Jobs: problems observed.
    case jobFailed = "job-failed"
    case jobUnhealthy = "job-unhealthy"
    case jobDrifted = "job-drifted"
    case jobStalled = "job-stalled"
    case jobStallCleared = "job-stall-cleared"
    case jobParseErrors = "job-parse-errors"
    case jobActionFailed = "job-action-failed"
    case jobGaveUp = "job-gave-up"
    case sourceUnreachable = "source-unreachable"
    // Incidents above single jobs: their failures are not charged to the jobs.
    case projectNotRunning = "project-not-running"
    case projectRunning = "project-running"
    case connectionBroken = "connection-broken"
    case connectionRestored = "connection-restored"
    // The Polaris API.
    case apiUnreachable = "api-unreachable"
    case apiRecovered = "api-recovered"
    case authFailed = "auth-failed"
    // High availability (`highAvailability`): the leader lease.
    case leaderAcquired = "leader-acquired"
    case leaderLost = "leader-lost"
    case standby
    case coordinationUnreachable = "coordination-unreachable"

    /// The metadata key (and journal field) carrying ``messageID``.
    public static let messageIDKey = "MESSAGE_ID"
    /// The metadata key (and journal field) carrying the kebab-case name.
    public static let eventKey = "EVENT"

    /// The journal `MESSAGE_ID`: 32 lowercase hex digits, fixed forever for this kind.
    public var messageID: String {
        switch self {
        case .started: "14300424cf00454681f6d906439e3ab1"
        case .configLoaded: "b308e145ed444326af26d2ecc8746f92"
        case .configRejected: "dda229acf13a4ea1b88d88c8613ba844"
        case .connectionCreated: "10b3a630b1a44f2ba9800cca5a8e77d7"
        case .connectionUpdated: "5a10b1da0eda44a1967a8e4b60190241"
        case .jobCreated: "956786699bc14178ab46805b6a75d722"
        case .jobAdopted: "d12cba7548fc4411ade7a893d2e6e282"
        case .jobRecreated: "cef755890f0d4e72aa1e95a4e2ff45f6"
        case .jobResumed: "bbd16ff1a44742f79800db31d922f08d"
        case .jobReplaced: "25e5c690b3e54b5794db50f6ad15ad40"
        case .jobUnhealthy: "b4800da2d9134380b0db232e4476f0f6"
        case .jobGaveUp: "5841ee7f40ba4e5ba42c42ec2b45485c"
        case .sourceUnreachable: "ebff284925544f9b8572786c7284f5d2"
        case .apiUnreachable: "587b775539e049f9afbfe7034b3bdc0b"
        case .apiRecovered: "ba8d1d2017714bc29cc7c86782551f43"
        case .authFailed: "f5310025dc434677a912a388c2795bb8"
        case .stopping: "d72348f05def49a0be3d71a4c1fe6d58"
        case .jobFailed: "ed76758863414340b9eaaee9fd35ab25"
        case .jobReset: "78aa63434af94693839a1dac2f40ab2d"
        case .jobActionFailed: "cb08fb06b621438dbe1d4b94e6c8fcfa"
        case .jobDrifted: "01cae7c5eb424323b6133969f5be04f0"
        case .jobStalled: "5c14aa983a2344fda01fc694cdb49e45"
        case .jobRetryRequested: "5956de9ab9b248d8983642086a5a6756"
        case .reloaded: "a4d16751cfdd4a1e8305e926e827008b"
        case .jobStallCleared: "88b612f39db846b18ffd0dc3ff6c7bfb"
        case .jobParseErrors: "cf9b7105703c408aa2ddf15353bdd4ce"
        case .projectNotRunning: "6014f5d9200d4178bf76a01440c1cce7"
        case .projectRunning: "67200bfcff6a49d591bd60e146240799"
        case .connectionBroken: "e857bddfa2f14b3fb22cbd4d8d81fb8e"
        case .connectionRestored: "73054c42131744b697bf9fec0e8b8ecc"
        case .leaderAcquired: "c55fc5b7465d46f59117c7de482beecf"
        case .leaderLost: "cb1d608b388e47d48d9194cbaf12baa5"
        case .standby: "7806023746484ebeaaf6edd35637bd76"
        case .coordinationUnreachable: "8940a6f039ec4046b538d714996b7322"
        }
    }

    /// The level (journal `PRIORITY`) of the event, per the design's contract: critical when
    /// the warden stopped helping (gave up, cannot authenticate); error when ingestion is down
    /// and needs attention; warning for trouble the warden is handling or waiting out; notice
    /// for a change the warden made; info for lifecycle.
    public var priority: Logger.Level {
        switch self {
        case .jobGaveUp, .authFailed:
            .critical
        case .jobFailed, .jobActionFailed, .sourceUnreachable, .projectNotRunning, .connectionBroken:
            .error
        case .jobUnhealthy, .apiUnreachable, .jobDrifted, .jobStalled, .configRejected, .jobParseErrors,
            .leaderLost, .coordinationUnreachable:
            .warning
        case .connectionCreated, .connectionUpdated, .jobCreated, .jobAdopted, .jobRecreated,
            .jobResumed,
            .jobReplaced, .jobReset, .jobRetryRequested, .apiRecovered, .projectRunning, .connectionRestored,
            .jobStallCleared, .leaderAcquired:
            .notice
        case .started, .configLoaded, .reloaded, .stopping, .standby:
            .info
        }
    }

    /// `MESSAGE_ID` and `EVENT` for this event, to merge into a log call's metadata.
    public var metadata: Logger.Metadata {
        [Self.messageIDKey: .string(messageID), Self.eventKey: .string(rawValue)]
    }
}

extension Logger {
    /// Logs `event` at its level with its `MESSAGE_ID` and `EVENT` metadata added to `metadata`
    /// (the event's keys win), so every call site of a kind looks the same in the journal:
    ///
    ///     logger.log(event: .jobRecreated, "orders: recreated", metadata: ["POLARIS_JOB": "orders"])
    public func log(
        event: WardenEvent,
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata = [:],
        error: @autoclosure () -> (any Error)? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        self.log(
            level: event.priority,
            message(),
            error: error(),
            metadata: metadata().merging(event.metadata) { _, eventValue in eventValue },
            file: file,
            function: function,
            line: line
        )
    }
}
