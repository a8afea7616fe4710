import PolarisAPI

extension ConfigValidator {
    static let supervisorKeys = [
        "pollIntervalSeconds", "unhealthyThreshold", "healthyThreshold", "recreate", "onCanceled", "onSuspended",
        "onSpecDrift", "autoResetOffsets", "pendingTimeoutSeconds", "unknownTimeoutSeconds",
        "lostConnectionThreshold", "maxConcurrentActions", "prune", "stall",
    ]
    static let stallKeys = ["afterSeconds", "action", "metricsShare"]
    static let jobStallKeys = ["afterSeconds", "action"]
    static let recreateKeys = ["maxAttempts", "windowSeconds", "backoffInitialSeconds", "backoffMaxSeconds"]

    /// `supervisor`: every key optional, absent keys keep the `SupervisorSettings` defaults.
    /// Nil when the section is not an object.
    mutating func supervisorSettings(_ value: JSONValue, at path: String) -> SupervisorSettings? {
        guard let members = object(value, at: path) else { return nil }
        rejectUnknownKeys(members, at: path, allowed: Self.supervisorKeys)
        var settings = SupervisorSettings()
        optional("pollIntervalSeconds", of: members, at: path, into: &settings.pollIntervalSeconds) {
            $0.number($1, at: $2, range: 1...86400)
        }
        optional("unhealthyThreshold", of: members, at: path, into: &settings.unhealthyThreshold) {
            $0.integer($1, at: $2, range: 1...1000)
        }
        optional("healthyThreshold", of: members, at: path, into: &settings.healthyThreshold) {
            $0.integer($1, at: $2, range: 1...1000)
        }
        optional("lostConnectionThreshold", of: members, at: path, into: &settings.lostConnectionThreshold) {
            $0.integer($1, at: $2, range: 1...1000)
        }
        optional("recreate", of: members, at: path, into: &settings.recreate) { $0.recreateSettings($1, at: $2) }
        optional("onCanceled", of: members, at: path, into: &settings.onCanceled) {
            $0.choice($1, at: $2, as: SupervisorSettings.OnCanceled.self)
        }
        optional("onSuspended", of: members, at: path, into: &settings.onSuspended) {
            $0.choice($1, at: $2, as: SupervisorSettings.OnSuspended.self)
        }
        optional("onSpecDrift", of: members, at: path, into: &settings.onSpecDrift) {
            $0.choice($1, at: $2, as: SupervisorSettings.OnSpecDrift.self)
        }
        optional("autoResetOffsets", of: members, at: path, into: &settings.autoResetOffsets) { $0.bool($1, at: $2) }
        optional("prune", of: members, at: path, into: &settings.prune) { $0.bool($1, at: $2) }
        optional("pendingTimeoutSeconds", of: members, at: path, into: &settings.pendingTimeoutSeconds) {
            $0.number($1, at: $2, range: 1...Double.infinity)
        }
        optional("unknownTimeoutSeconds", of: members, at: path, into: &settings.unknownTimeoutSeconds) {
            $0.number($1, at: $2, range: 1...Double.infinity)
        }
        optional("maxConcurrentActions", of: members, at: path, into: &settings.maxConcurrentActions) {
            $0.integer($1, at: $2, range: 1...64)
        }
        if let value = members["stall"], let stall = stallSettings(value, at: ConfigPath.member(path, "stall")) {
            settings.stall = stall
        }
        if let stall = settings.stall, stall.afterSeconds < 3 * settings.pollIntervalSeconds {
            report(
                ConfigPath.member(ConfigPath.member(path, "stall"), "afterSeconds"),
                "must be at least 3 poll intervals (\(Self.format(3 * settings.pollIntervalSeconds)) s): a stall "
                    + "is judged from several samples")
        }
        return settings
    }

    /// `supervisor.stall`; every member optional.
    private mutating func stallSettings(_ value: JSONValue, at path: String) -> SupervisorSettings.Stall? {
        guard let members = object(value, at: path) else { return nil }
        rejectUnknownKeys(members, at: path, allowed: Self.stallKeys)
        var stall = SupervisorSettings.Stall()
        let (afterSeconds, action) = stallMembers(members, at: path)
        if let afterSeconds { stall.afterSeconds = afterSeconds }
        if let action { stall.action = action }
        optional("metricsShare", of: members, at: path, into: &stall.metricsShare) {
            $0.number($1, at: $2, range: 0...1, exclusiveMinimum: true)
        }
        return stall
    }

    /// `afterSeconds` and `action` of a `stall` object (the supervisor's or a job's).
    mutating func stallMembers(_ members: [String: JSONValue], at path: String) -> (
        Double?, SupervisorSettings.Stall.Action?
    ) {
        var afterSeconds: Double?
        var action: SupervisorSettings.Stall.Action?
        if let value = members["afterSeconds"] {
            afterSeconds = number(value, at: ConfigPath.member(path, "afterSeconds"), range: 1...Double.infinity)
        }
        if let value = members["action"] {
            action = choice(value, at: ConfigPath.member(path, "action"), as: SupervisorSettings.Stall.Action.self)
        }
        return (afterSeconds, action)
    }

    private mutating func recreateSettings(_ value: JSONValue, at path: String) -> SupervisorSettings.Recreate? {
        guard let members = object(value, at: path) else { return nil }
        rejectUnknownKeys(members, at: path, allowed: Self.recreateKeys)
        var recreate = SupervisorSettings.Recreate()
        optional("maxAttempts", of: members, at: path, into: &recreate.maxAttempts) {
            $0.integer($1, at: $2, range: 1...1000)
        }
        optional("windowSeconds", of: members, at: path, into: &recreate.windowSeconds) {
            $0.number($1, at: $2, range: 1...Double.infinity)
        }
        func backoff(_ key: String, into field: inout Double) -> Bool {
            optional(key, of: members, at: path, into: &field) {
                $0.number($1, at: $2, range: 0...Double.infinity, exclusiveMinimum: true)
            }
        }
        let initialValid = backoff("backoffInitialSeconds", into: &recreate.backoffInitialSeconds)
        let maximumValid = backoff("backoffMaxSeconds", into: &recreate.backoffMaxSeconds)
        // Compared with the defaults filled in, so `backoffInitialSeconds: 600` alone is caught.
        if initialValid, maximumValid, recreate.backoffInitialSeconds > recreate.backoffMaxSeconds {
            let culprit = members["backoffInitialSeconds"] != nil ? "backoffInitialSeconds" : "backoffMaxSeconds"
            report(
                ConfigPath.member(path, culprit),
                "backoffInitialSeconds (\(Self.format(recreate.backoffInitialSeconds))) must not exceed "
                    + "backoffMaxSeconds (\(Self.format(recreate.backoffMaxSeconds)))")
        }
        return recreate
    }
}
