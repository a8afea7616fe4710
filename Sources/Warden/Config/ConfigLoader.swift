import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
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
        switch readFile(path) {
        case .success(let contents): bytes = contents
        case .failure(let message):
            throw ConfigError(source: path, problems: [ConfigProblem(path: "", message: message)])
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
        if let config, problems.isEmpty { return config }
        throw ConfigError(source: source, problems: problems)
    }

    private enum ReadResult {
        case success([UInt8])
        case failure(String)
    }

    /// Reads a whole file with POSIX calls, for an errno message an operator understands
    /// ("Permission denied"), not a Foundation error dump.
    private static func readFile(_ path: String) -> ReadResult {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure("cannot open the config file: \(errnoMessage())") }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            return .failure("cannot read the config file: it is a directory")
        }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure("cannot read the config file: \(errnoMessage())")
            }
            if count == 0 { break }
            contents.append(contentsOf: chunk[0..<count])
            if contents.count > 16 * 1024 * 1024 {
                return .failure("the config file is larger than 16 MiB; is it the right file?")
            }
        }
        return .success(contents)
    }

    private static func errnoMessage() -> String {
        let code = errno
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
