import PolarisAPI

/// The live-service behaviours the API reference can only guess at: every one it marks
/// **[INFERRED]** that the warden depends on is a switch here, so tests can run the same
/// scenario under each plausible reading (`alternatives`).
///
/// Settable at start (`EmulatorConfiguration.behaviour`, the `polaris-emulator` flags), in
/// process (`PolarisEmulator.setBehaviour(_:)`) and over HTTP (`PUT /_emulator/settings` with
/// the JSON keys below); `GET /_emulator/state` shows the current values under `behaviour`.
///
/// JSON form (every key optional when applied; `json` always has all of them):
/// `{"tableHeldStatus":400|409, "tableHeldMessage":"…"|null,
///   "replacedJob":"canceled"|"failed"|"running-until-stopped", "healthSpelling":"warn"|"warning",
///   "resumeAnswer":"pending"|"running", "retryAfter":"sent"|"omitted",
///   "healthUpdates":"touch-last-updated"|"leave-last-updated"}`
public struct LiveBehaviour: Sendable, Hashable, Codable {
    /// What the streaming job that `replaceRunning` replaces becomes.
    /// [INFERRED] docs/polaris/api-reference.md §4.7: "The old job presumably ends up `canceled` or superseded".
    public enum ReplacedJob: String, Sendable, Hashable, Codable, CaseIterable {
        /// `canceled` at once, health `error`/`canceled`.
        case canceled
        /// `failed` at once, health `error`/`internal_error`.
        case failed
        /// Keeps its execution status (`running`) with `desiredExecutionStatus: canceled` for
        /// the start delay while it stops, then `canceled`. The table goes to the new job at once.
        case runningUntilStopped = "running-until-stopped"
    }

    /// What a resume (`desiredExecutionStatus: running` on a suspended job) answers.
    /// [INFERRED] docs/polaris/api-reference.md §4.9: "suspended --desired=running--> pending/running".
    public enum ResumeAnswer: String, Sendable, Hashable, Codable, CaseIterable {
        /// Through `pending`, then `running` after the start delay.
        case pending
        /// Straight to `running`.
        case running
    }

    /// Whether faults armed with a `Retry-After` send the header.
    /// [INFERRED] docs/polaris/api-reference.md §2.4 and §9: no `Retry-After` is documented for Polaris.
    public enum RetryAfterHeader: String, Sendable, Hashable, Codable, CaseIterable {
        /// Sent as the fault says.
        case sent
        /// Never sent, whatever the fault says.
        case omitted
    }

    /// Whether a change of health alone (the execution status unchanged) moves the job's
    /// `lastUpdatedTimestamp`, and so its place in the list sorted by last update.
    /// [INFERRED] docs/polaris/api-reference.md §4.4 says only "ISO-8601 date-time, RO": which
    /// changes count as updates is undocumented. The warden's delta read must not depend on it.
    public enum HealthUpdates: String, Sendable, Hashable, Codable, CaseIterable {
        /// A health change is an update.
        case touchLastUpdated = "touch-last-updated"
        /// Only status and spec changes are; health moves silently.
        case leaveLastUpdated = "leave-last-updated"
    }

    /// The HTTP status of the refusal when a create names a table another streaming job holds:
    /// `400` (`code: "InvalidArgument"`) or `409` (`code: "AlreadyExists"`, the one observed v1
    /// code, docs/polaris/api-reference.md §2.1). [INFERRED] docs/polaris/api-reference.md §4.7 and §9: `create_job` lists only
    /// 201/400/415, so 400 is likely; 409 is possible. Default 400.
    public var tableHeldStatus: Int
    /// The refusal's `message` when a table is held; nil keeps the emulator's own wording
    /// ("Table [t] already has a streaming ingestion job [id]. …"). The wording is
    /// undocumented (docs/polaris/api-reference.md §4.7), so tests set messages no client has seen before.
    public var tableHeldMessage: String?
    /// [INFERRED] §4.7. Default `.canceled`.
    public var replacedJob: ReplacedJob
    /// [INFERRED] §4.6, §4.10: the status enum says `warn`, the SDK's discriminator `warning`.
    /// Default `.warn`.
    public var healthSpelling: HealthSpelling
    /// [INFERRED] §4.9. Default `.pending`.
    public var resumeAnswer: ResumeAnswer
    /// [INFERRED] §2.4. Default `.sent`.
    public var retryAfter: RetryAfterHeader
    /// [INFERRED] §4.4. Default `.touchLastUpdated`.
    public var healthUpdates: HealthUpdates

    public init(
        tableHeldStatus: Int = 400, tableHeldMessage: String? = nil,
        replacedJob: ReplacedJob = .canceled, healthSpelling: HealthSpelling = .warn,
        resumeAnswer: ResumeAnswer = .pending, retryAfter: RetryAfterHeader = .sent,
        healthUpdates: HealthUpdates = .touchLastUpdated
    ) {
        self.tableHeldStatus = tableHeldStatus
        self.tableHeldMessage = tableHeldMessage
        self.replacedJob = replacedJob
        self.healthSpelling = healthSpelling
        self.resumeAnswer = resumeAnswer
        self.retryAfter = retryAfter
        self.healthUpdates = healthUpdates
    }

    /// The emulator's default reading of each switch.
    public static let standard = LiveBehaviour()

    /// A refusal wording no client has been written against.
    public static let unfamiliarTableHeldMessage =
        "Cannot submit ingestion: destination wikipedia-kinesis is busy with another stream reader (ref 7731)."

    /// Every non-default reading, one switch changed at a time, for parameterised tests.
    public static var alternatives: [(name: String, behaviour: LiveBehaviour)] {
        [
            ("tableHeldStatus=409", LiveBehaviour(tableHeldStatus: 409)),
            ("tableHeldMessage=unfamiliar", LiveBehaviour(tableHeldMessage: unfamiliarTableHeldMessage)),
            ("replacedJob=failed", LiveBehaviour(replacedJob: .failed)),
            ("replacedJob=running-until-stopped", LiveBehaviour(replacedJob: .runningUntilStopped)),
            ("healthSpelling=warning", LiveBehaviour(healthSpelling: .warning)),
            ("resumeAnswer=running", LiveBehaviour(resumeAnswer: .running)),
            ("retryAfter=omitted", LiveBehaviour(retryAfter: .omitted)),
            ("healthUpdates=leave-last-updated", LiveBehaviour(healthUpdates: .leaveLastUpdated)),
        ]
    }

    /// The readings of `tableHeldStatus` the admin API and the CLI accept.
    public static let tableHeldStatuses = [400, 409]

    /// The JSON keys, in the order `json` lists them.
    public static let keys = [
        "tableHeldStatus", "tableHeldMessage", "replacedJob", "healthSpelling", "resumeAnswer", "retryAfter",
        "healthUpdates",
    ]

    /// All switches as JSON (`tableHeldMessage` is `null` when unset).
    public var json: JSONValue {
        .object([
            "tableHeldStatus": .int(Int64(tableHeldStatus)),
            "tableHeldMessage": tableHeldMessage.map(JSONValue.string) ?? .null,
            "replacedJob": .string(replacedJob.rawValue),
            "healthSpelling": .string(healthSpelling.rawValue),
            "resumeAnswer": .string(resumeAnswer.rawValue),
            "retryAfter": .string(retryAfter.rawValue),
            "healthUpdates": .string(healthUpdates.rawValue),
        ])
    }

    /// This behaviour with the keys `settings` gives changed; other members of `settings` are
    /// ignored (the admin API's settings object carries more). Throws a 400 naming the key.
    public func applying(_ settings: JSONValue) throws(EmulatorError) -> LiveBehaviour {
        guard let fields = settings.objectValue else { throw .invalid("Settings must be a JSON object.") }
        var result = self
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws(EmulatorError) -> T?
        where T.RawValue == String {
            guard let value = fields[key] else { return nil }
            guard let text = value.stringValue, let parsed = T(rawValue: text) else {
                let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
                throw .invalid("\(key) must be one of \(allowed).", target: key)
            }
            return parsed
        }
        if let value = fields["tableHeldStatus"] {
            guard let code = value.intValue, Self.tableHeldStatuses.contains(Int(code)) else {
                throw .invalid("tableHeldStatus must be 400 or 409.", target: "tableHeldStatus")
            }
            result.tableHeldStatus = Int(code)
        }
        if let value = fields["tableHeldMessage"] {
            switch value {
            case .null: result.tableHeldMessage = nil
            case .string(let text) where !text.isEmpty: result.tableHeldMessage = text
            default:
                throw .invalid("tableHeldMessage must be a non-empty string or null.", target: "tableHeldMessage")
            }
        }
        if let value = try choice("replacedJob", ReplacedJob.self) { result.replacedJob = value }
        if let value = try choice("healthSpelling", HealthSpelling.self) { result.healthSpelling = value }
        if let value = try choice("resumeAnswer", ResumeAnswer.self) { result.resumeAnswer = value }
        if let value = try choice("retryAfter", RetryAfterHeader.self) { result.retryAfter = value }
        if let value = try choice("healthUpdates", HealthUpdates.self) { result.healthUpdates = value }
        return result
    }

    /// `applying(_:)` for text values keyed like the JSON (the CLI's flags):
    /// `tableHeldStatus` is read as an integer, the rest as strings.
    public func applying(text settings: [String: String]) throws(EmulatorError) -> LiveBehaviour {
        var fields: [String: JSONValue] = [:]
        for (key, text) in settings {
            fields[key] = key == "tableHeldStatus" ? Int64(text).map(JSONValue.int) ?? .string(text) : .string(text)
        }
        return try applying(.object(fields))
    }

    /// `key=value` for every switch that differs from `standard` (empty when none does).
    public var differencesFromStandard: String {
        let mine = json
        let standard = LiveBehaviour.standard.json
        return Self.keys.compactMap { key -> String? in
            guard let value = mine[key], value != standard[key] else { return nil }
            return "\(key)=\(value.stringValue ?? value.intValue.map(String.init) ?? "null")"
        }.joined(separator: " ")
    }

    /// Decodes the JSON form; missing keys take their `standard` value.
    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(JSONValue.self)
        do {
            self = try LiveBehaviour.standard.applying(value)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(json)
    }
}
