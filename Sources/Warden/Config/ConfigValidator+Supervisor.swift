import PolarisAPI

extension ConfigValidator {
    static let supervisorKeys = [
        "pollIntervalSeconds", "unhealthyThreshold", "healthyThreshold", "recreate", "onCanceled", "onSuspended",
        "onSpecDrift", "autoResetOffsets", "pendingTimeoutSeconds", "unknownTimeoutSeconds",
        "lostConnectionThreshold", "maxConcurrentActions", "prune",
    ]
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
        return settings
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
