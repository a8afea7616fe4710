import PolarisAPI
import WardenPlatform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads and validates the warden's JSON config (`docs/configuration.md`).
///
/// Validation is all-or-nothing and exhaustive: a config either loads completely or is
/// rejected with every problem at once, each naming its JSON path (and line and column for a
/// syntax error), so an operator fixes a file in one pass and a reload never half-applies.
public enum ConfigLoader {
    /// Reads and validates the file at `path`. Errors name `path` as their source.
    public static func load(path: String) throws(ConfigError) -> WardenConfig {
        let bytes: [UInt8]
        do {
            bytes = try LocalFile.read(path, limit: maximumSize)
        } catch {
            throw ConfigError(source: path, problems: [ConfigProblem(path: "", message: message(for: error))])
        }
        return try parse(bytes, source: path)
    }

    /// Validates a config document; `source` labels the problems (a file name).
    public static func parse(_ data: Data, source: String) throws(ConfigError) -> WardenConfig {
        try parse([UInt8](data), source: source)
    }

    /// Validates a config document given as text.
    public static func parse(_ text: String, source: String) throws(ConfigError) -> WardenConfig {
        try parse(Array(text.utf8), source: source)
    }

    /// Validates a config document; `source` labels the problems (a file name).
    public static func parse(_ bytes: [UInt8], source: String) throws(ConfigError) -> WardenConfig {
        // 1. Syntax: our own strict scanner (see JSONSourceMap for why); positions on demand.
        let map: JSONSourceMap
        do {
            map = try JSONSourceMap.scan(bytes)
        } catch {
            let location = error.location
            throw ConfigError(
                source: source,
                problems: [
                    ConfigProblem(
                        path: "", message: error.message, line: location.line, column: location.column)
                ])
        }
        // 2. The value, read by the same pass, as JSONDecoder would decode it into JSONValue.
        guard let document = map.value else {
            // The syntax is valid, so this is an encoding problem (such as invalid UTF-8).
            throw ConfigError(
                source: source,
                problems: [ConfigProblem(path: "", message: "not a valid JSON document (is it UTF-8?)")])
        }
        // 3. Meaning.
        var validator = ConfigValidator(map: map)
        let config = validator.validate(document)
        let problems = validator.sortedProblems()
        if var config, problems.isEmpty {
            config.shareEqualSpecParts()
            return config
        }
        throw ConfigError(source: source, problems: problems)
    }

    /// No config is this large; a larger file is the wrong file.
    static let maximumSize = 16 * 1024 * 1024

    /// Why the file cannot be read, in words an operator understands ("cannot open the config
    /// file: Permission denied"); the `ConfigError` puts the path in front.
    static func message(for error: LocalFileError) -> String {
        switch error.reason {
        case .failed(.open, let code): "cannot open the config file: \(code)"
        case .failed(_, let code): "cannot read the config file: \(code)"
        case .directory: "cannot read the config file: it is a directory"
        case .tooLarge: "the config file is larger than 16 MiB; is it the right file?"
        case .notRegularFile, .accessibleByOthers: "cannot read the config file: \(error)"
        }
    }
}
