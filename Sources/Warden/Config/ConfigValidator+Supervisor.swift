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
        func at(_ key: String) -> String { ConfigPath.member(path, key) }

        if let value = members["pollIntervalSeconds"],
            let seconds = number(value, at: at("pollIntervalSeconds"), range: 1...86400)
        {
            settings.pollIntervalSeconds = seconds
        }
        if let value = members["unhealthyThreshold"],
            let count = integer(value, at: at("unhealthyThreshold"), range: 1...1000)
        {
            settings.unhealthyThreshold = count
        }
        if let value = members["healthyThreshold"],
            let count = integer(value, at: at("healthyThreshold"), range: 1...1000)
        {
            settings.healthyThreshold = count
        }
        if let value = members["lostConnectionThreshold"],
            let count = integer(value, at: at("lostConnectionThreshold"), range: 1...1000)
        {
            settings.lostConnectionThreshold = count
        }
        if let value = members["recreate"], let recreate = recreateSettings(value, at: at("recreate")) {
            settings.recreate = recreate
        }
        if let value = members["onCanceled"],
            let choice = choice(value, at: at("onCanceled"), as: SupervisorSettings.OnCanceled.self)
        {
            settings.onCanceled = choice
        }
        if let value = members["onSuspended"],
            let choice = choice(value, at: at("onSuspended"), as: SupervisorSettings.OnSuspended.self)
        {
            settings.onSuspended = choice
        }
        if let value = members["onSpecDrift"],
            let choice = choice(value, at: at("onSpecDrift"), as: SupervisorSettings.OnSpecDrift.self)
        {
            settings.onSpecDrift = choice
        }
        if let value = members["autoResetOffsets"], let flag = bool(value, at: at("autoResetOffsets")) {
            settings.autoResetOffsets = flag
        }
        if let value = members["prune"], let flag = bool(value, at: at("prune")) {
            settings.prune = flag
        }
        if let value = members["pendingTimeoutSeconds"],
            let seconds = number(value, at: at("pendingTimeoutSeconds"), range: 1...Double.infinity)
        {
            settings.pendingTimeoutSeconds = seconds
        }
        if let value = members["unknownTimeoutSeconds"],
            let seconds = number(value, at: at("unknownTimeoutSeconds"), range: 1...Double.infinity)
        {
            settings.unknownTimeoutSeconds = seconds
        }
        if let value = members["maxConcurrentActions"],
            let count = integer(value, at: at("maxConcurrentActions"), range: 1...64)
        {
            settings.maxConcurrentActions = count
        }
        if let value = members["stall"], let stall = stallSettings(value, at: at("stall")) {
            settings.stall = stall
        }
        if let stall = settings.stall, stall.afterSeconds < 3 * settings.pollIntervalSeconds {
            report(
                ConfigPath.member(at("stall"), "afterSeconds"),
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
        if let value = members["metricsShare"],
            let share = number(
                value, at: ConfigPath.member(path, "metricsShare"), range: 0...1, exclusiveMinimum: true)
        {
            stall.metricsShare = share
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
        func at(_ key: String) -> String { ConfigPath.member(path, key) }

        if let value = members["maxAttempts"], let count = integer(value, at: at("maxAttempts"), range: 1...1000) {
            recreate.maxAttempts = count
        }
        if let value = members["windowSeconds"],
            let seconds = number(value, at: at("windowSeconds"), range: 1...Double.infinity)
        {
            recreate.windowSeconds = seconds
        }
        var initialValid = true
        if let value = members["backoffInitialSeconds"] {
            if let seconds = number(
                value, at: at("backoffInitialSeconds"), range: 0...Double.infinity, exclusiveMinimum: true)
            {
                recreate.backoffInitialSeconds = seconds
            } else {
                initialValid = false
            }
        }
        var maximumValid = true
        if let value = members["backoffMaxSeconds"] {
            if let seconds = number(
                value, at: at("backoffMaxSeconds"), range: 0...Double.infinity, exclusiveMinimum: true)
            {
                recreate.backoffMaxSeconds = seconds
            } else {
                maximumValid = false
            }
        }
        // Compared with the defaults filled in, so `backoffInitialSeconds: 600` alone is caught.
        if initialValid, maximumValid, recreate.backoffInitialSeconds > recreate.backoffMaxSeconds {
            let culprit = members["backoffInitialSeconds"] != nil ? "backoffInitialSeconds" : "backoffMaxSeconds"
            report(
                at(culprit),
                "backoffInitialSeconds (\(Self.format(recreate.backoffInitialSeconds))) must not exceed "
                    + "backoffMaxSeconds (\(Self.format(recreate.backoffMaxSeconds)))")
        }
        return recreate
    }
}
