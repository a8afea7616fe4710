import PolarisAPI
import WardenPlatform

/// Walks a parsed config, collects every problem, and builds the `WardenConfig` when there are
/// none. The section rules live in the `ConfigValidator+…` extensions; this file holds the
/// typed accessors that report wrong types, missing keys and unknown keys uniformly.
struct ConfigValidator {
    /// Positions for problems (found on the first problem).
    var map: JSONSourceMap
    private var problems: [(order: Int, sequence: Int, problem: ConfigProblem)] = []
    /// String values that are, or look like, secrets: removed from every message and path.
    private var secrets: Set<String> = []
    /// Paths already reported as an inline secret, so the `pok_` sweep does not report twice.
    private var secretPaths: Set<String> = []

    /// `highAvailability.instance`'s default.
    let hostName: String

    init(map: JSONSourceMap, hostName: String = currentHostName()) {
        self.map = map
        self.hostName = hostName
    }

    // MARK: Problems

    /// Records a problem at `path`; `anchor` is the path whose position orders it (the parent
    /// object for a missing key, which has no position of its own).
    mutating func report(_ path: String, _ message: String, anchor: String? = nil) {
        report(path, message, location: map.location(of: anchor ?? path) ?? map.location(of: path))
    }

    /// Records a problem at an explicit position.
    mutating func report(_ path: String, _ message: String, location: SourceLocation?) {
        problems.append(
            (
                location?.offset ?? 0, problems.count,
                ConfigProblem(path: path, message: message, line: location?.line, column: location?.column)
            ))
    }

    /// The problems in order of appearance in the file, with every secret value blanked out.
    func sortedProblems() -> [ConfigProblem] {
        problems.sorted { ($0.order, $0.sequence) < ($1.order, $1.sequence) }.map { entry in
            var problem = entry.problem
            // Messages never quote a secret's own value; this catches the same text elsewhere
            // (a client id equal to the secret). Very short values would only mangle messages.
            for secret in secrets where secret.count >= 4 {
                problem.path = problem.path.replacing(secret, with: "<redacted>")
                problem.message = problem.message.replacing(secret, with: "<redacted>")
            }
            return problem
        }
    }

    var hasProblems: Bool { !problems.isEmpty }

    // MARK: Objects and keys

    /// `value` as an object, or a type problem.
    mutating func object(_ value: JSONValue, at path: String) -> [String: JSONValue]? {
        typed(value, at: path, expected: "an object", \.objectValue)
    }

    /// Reports every key of `members` that is not in `allowed`: inline secrets with
    /// `secretAdvice`, keys with an entry in `advice` with that text, the rest with the closest
    /// allowed key ("did you mean …?") or else `otherwise` (by default, the allowed keys).
    mutating func rejectUnknownKeys(
        _ members: [String: JSONValue], at path: String, allowed: [String],
        secretAdvice: String? = nil, advice: [String: String] = [:], otherwise: String? = nil
    ) {
        for (key, value) in members where !allowed.contains(key) {
            let memberPath = ConfigPath.member(path, key)
            if Self.secretKeyNames.contains(key.lowercased()) {
                rejectInlineSecret(value, at: memberPath, advice: secretAdvice ?? Self.defaultSecretAdvice)
            } else if let text = advice[key] {
                report(memberPath, text)
            } else if let suggestion = Self.closest(to: key, among: allowed) {
                report(memberPath, "unknown key; did you mean \(suggestion)?")
            } else {
                report(memberPath, otherwise ?? "unknown key (allowed here: \(allowed.joined(separator: ", ")))")
            }
        }
    }

    /// Reads the member `key` of `members` (the object at `path`), when there is one, with
    /// `read` (a typed accessor, given the value and its path) and stores it in `field` when
    /// valid. Returns false when the member is there but invalid (`read` reported why): `field`
    /// keeps its value then.
    @discardableResult
    mutating func optional<T>(
        _ key: String, of members: [String: JSONValue], at path: String, into field: inout T,
        _ read: (inout ConfigValidator, JSONValue, String) -> T?
    ) -> Bool {
        guard let value = members[key] else { return true }
        guard let valid = read(&self, value, ConfigPath.member(path, key)) else { return false }
        field = valid
        return true
    }

    /// Reports a required key that is absent; returns its value otherwise.
    mutating func required(_ key: String, in members: [String: JSONValue], at path: String) -> JSONValue? {
        guard let value = members[key] else {
            report(ConfigPath.member(path, key), "required key is missing", anchor: path)
            return nil
        }
        return value
    }

    // MARK: Typed values

    /// `read(value)`, or the problem "expected `expected`, found" the value's type.
    private mutating func typed<T>(
        _ value: JSONValue, at path: String, expected: String, _ read: (JSONValue) -> T?
    ) -> T? {
        if let typed = read(value) { return typed }
        report(path, "expected \(expected), found \(value.typeName)")
        return nil
    }

    mutating func string(_ value: JSONValue, at path: String) -> String? {
        typed(value, at: path, expected: "a string", \.stringValue)
    }

    mutating func nonEmptyString(_ value: JSONValue, at path: String) -> String? {
        guard let text = string(value, at: path) else { return nil }
        guard !text.isEmpty else {
            report(path, "must not be empty")
            return nil
        }
        return text
    }

    mutating func bool(_ value: JSONValue, at path: String) -> Bool? {
        typed(value, at: path, expected: "true or false", \.boolValue)
    }

    /// A number within `range`; `exclusiveMinimum` makes the lower bound itself invalid.
    mutating func number(
        _ value: JSONValue, at path: String, range: ClosedRange<Double>, exclusiveMinimum: Bool = false
    ) -> Double? {
        guard let number = typed(value, at: path, expected: "a number", \.doubleValue) else { return nil }
        return checked(number, at: path, range: range, exclusiveMinimum: exclusiveMinimum)
    }

    /// A whole number within `range` (`3.0` counts as whole, as in JSON Schema).
    mutating func integer(_ value: JSONValue, at path: String, range: ClosedRange<Int>) -> Int? {
        guard typed(value, at: path, expected: "a whole number", \.doubleValue) != nil else { return nil }
        guard let integer = value.intValue else {
            report(path, "must be a whole number")
            return nil
        }
        guard integer >= Int64(range.lowerBound), integer <= Int64(range.upperBound) else {
            report(path, "must be between \(range.lowerBound) and \(range.upperBound), found \(integer)")
            return nil
        }
        return Int(integer)
    }

    /// One of `E`'s raw values.
    mutating func choice<E: RawRepresentable & CaseIterable>(
        _ value: JSONValue, at path: String, as type: E.Type
    ) -> E? where E.RawValue == String {
        guard let text = string(value, at: path) else { return nil }
        if let choice = E(rawValue: text) { return choice }
        let allowed = E.allCases.map(\.rawValue)
        var message = "must be one of \(allowed.joined(separator: ", "))"
        if let suggestion = Self.closest(to: text, among: allowed) { message += "; did you mean \(suggestion)?" }
        report(path, message)
        return nil
    }

    private mutating func checked(
        _ number: Double, at path: String, range: ClosedRange<Double>, exclusiveMinimum: Bool
    ) -> Double? {
        let tooLow = exclusiveMinimum ? number <= range.lowerBound : number < range.lowerBound
        if tooLow || number > range.upperBound {
            let lower =
                exclusiveMinimum
                ? "greater than \(Self.format(range.lowerBound))" : "at least \(Self.format(range.lowerBound))"
            let upper = range.upperBound.isFinite ? " and at most \(Self.format(range.upperBound))" : ""
            report(path, "must be \(lower)\(upper), found \(Self.format(number))")
            return nil
        }
        return number
    }

    static func format(_ number: Double) -> String {
        if number.rounded() == number, abs(number) < 1e15 { return String(Int64(number)) }
        return String(number)
    }

    // MARK: Secrets

    /// Key names that hold a secret when written inline (compared in lower case).
    static let secretKeyNames: Set<String> = [
        "apikey", "key", "secret", "clientsecret", "password", "token", "accesstoken", "apitoken",
        "secrets", "secretaccesskey", "accesskeysecret", "bearer",
    ]

    static let defaultSecretAdvice =
        "secrets must not be written in the config file; store the secret in a systemd credential "
        + "(LoadCredential=NAME:/etc/polaris-warden/NAME) and name it, e.g. "
        + "\"auth\": {\"type\": \"apiKey\", \"credential\": \"polaris-api-key\"}"

    /// Reports an inline secret without its value, and remembers the value so that no other
    /// message can show it either.
    mutating func rejectInlineSecret(_ value: JSONValue, at path: String, advice: String) {
        collectSecrets(in: value)
        secretPaths.insert(path)
        report(path, "inline secret (value not shown): \(advice)")
    }

    private mutating func collectSecrets(in value: JSONValue) {
        switch value {
        case .string(let text): secrets.insert(text)
        case .array(let elements): for element in elements { collectSecrets(in: element) }
        case .object(let members): for member in members.values { collectSecrets(in: member) }
        default: break
        }
    }

    /// Polaris API keys start with `pok_`; one anywhere in the document (a job spec, a
    /// description, a credential name) is a leaked key, whatever key holds it.
    mutating func rejectAPIKeysAnywhere(in value: JSONValue, at path: String) {
        // Most documents hold none: then no path is built for any of their values.
        if path.isEmpty, !Self.containsAPIKey(value) { return }
        if secretPaths.contains(path) { return }
        switch value {
        case .string(let text) where text.hasPrefix("pok_"):
            secrets.insert(text)
            secretPaths.insert(path)
            report(
                path,
                "looks like a Polaris API key written inline (value not shown); keys must not be in the "
                    + "config file: store it in a systemd credential and reference it with "
                    + "polaris.auth \"credential\"")
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                rejectAPIKeysAnywhere(in: element, at: ConfigPath.element(path, index))
            }
        case .object(let members):
            for (key, member) in members {
                let memberPath = ConfigPath.member(path, key)
                if key.hasPrefix("pok_") {
                    secrets.insert(key)
                    report(memberPath, "looks like a Polaris API key written inline (value not shown)")
                }
                rejectAPIKeysAnywhere(in: member, at: memberPath)
            }
        default: break
        }
    }

    /// Whether a string or a key anywhere in `value` starts with `pok_`.
    private static func containsAPIKey(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): text.hasPrefix("pok_")
        case .array(let elements): elements.contains(where: containsAPIKey)
        case .object(let members): members.contains { $0.key.hasPrefix("pok_") || containsAPIKey($0.value) }
        default: false
        }
    }

    // MARK: Suggestions

    /// The candidate closest to `word` when it is close enough to be a typo (case-insensitive
    /// edit distance up to a third of the candidate's length, at least 1, at most 3, and less
    /// than either length: "b" is not a typo of "a").
    static func closest(to word: String, among candidates: [String]) -> String? {
        let lowered = Array(word.lowercased().unicodeScalars)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, Array(candidate.lowercased().unicodeScalars))
            let limit = max(1, min(3, candidate.count / 3))
            guard distance <= limit, distance < min(lowered.count, candidate.count) else { continue }
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        return best?.candidate
    }

    /// Edit distance counting a swap of two neighbours as one edit (optimal string alignment),
    /// since `spce` for `spec` is the typical typo.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
