#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Reads and atomically writes the state file.
///
/// A write goes to a temporary file in the same directory, is fsynced, renamed over the old
/// file and the directory fsynced, so a crash or power loss leaves either the old or the new
/// state, never a torn one. A missing or unreadable file never stops the warden: it starts
/// from an empty state and rebuilds by adoption.
public struct StateStore: Sendable {
    public enum LoadResult: Sendable {
        case loaded(WardenState)
        case missing
        /// The file was unreadable; it was moved aside to `preservedAt` so nothing is lost.
        case corrupt(reason: String, preservedAt: String?)
    }

    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// `$STATE_DIRECTORY/state.json` under systemd (`StateDirectory=`), else `fallbackDirectory`.
    public static func defaultPath(environment: [String: String], fallbackDirectory: String) -> String {
        let directory =
            environment["STATE_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) }
            ?? fallbackDirectory
        return directory + "/state.json"
    }

    /// - Parameter preserveCorrupt: move an unusable file aside (the daemon); false for
    ///   read-only commands (`plan`, `status`), which must not change anything.
    public func load(preserveCorrupt: Bool = true) -> (WardenState, LoadResult) {
        let corrupt = { (reason: String) -> LoadResult in
            preserveCorrupt ? self.moveAside(reason) : .corrupt(reason: reason, preservedAt: nil)
        }
        guard let bytes = try? readFile(path) else {
            if access(path, F_OK) != 0 { return (WardenState(), .missing) }
            return (WardenState(), corrupt("unreadable"))
        }
        do {
            let state = try JSONDecoder().decode(WardenState.self, from: Data(bytes))
            guard state.schemaVersion == WardenState.currentSchemaVersion else {
                return (WardenState(), corrupt("unsupported schema version \(state.schemaVersion)"))
            }
            return (state, .loaded(state))
        } catch {
            return (WardenState(), corrupt("not valid state JSON"))
        }
    }

    private func moveAside(_ reason: String) -> LoadResult {
        let aside = path + ".corrupt-\(Int(Date().timeIntervalSince1970))"
        let preserved = rename(path, aside) == 0 ? aside : nil
        return .corrupt(reason: reason, preservedAt: preserved)
    }

    /// `progress` beside the state file: one line (`healing 312/800 (10/s, ~49 s left)`) while a
    /// long heal runs, for `polaris-warden status`; nil removes it. Best effort, never fsynced:
    /// it is a view, not state.
    public var progressPath: String {
        (path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : ".") + "/progress"
    }

    public func saveProgress(_ line: String?) {
        guard let line else {
            unlink(progressPath)
            return
        }
        let temporary = progressPath + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let bytes = Array((line + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        if written == bytes.count { rename(temporary, progressPath) } else { unlink(temporary) }
    }

    /// The progress line, when a heal is running (the file is younger than `maximumAge` seconds).
    public func loadProgress(maximumAge: Double = 300) -> String? {
        var info = stat()
        guard stat(progressPath, &info) == 0,
            Date().timeIntervalSince1970 - Double(info.st_mtim.tv_sec) < maximumAge,
            let bytes = try? readFile(progressPath)
        else { return nil }
        let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init)
        return line?.isEmpty == false ? line : nil
    }

    public func save(_ state: WardenState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data = try encoder.encode(state)
        try writeAtomically(Array(data), to: path)
    }
}

/// Why a state write failed (errno), without any content.
public struct StateFileError: Error, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let code: Int32
    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw StateFileError(operation: "open", path: path, code: errno) }
    defer { close(fd) }
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw StateFileError(operation: "read", path: path, code: errno)
        }
        if count == 0 { return result }
        result += buffer[0..<count]
    }
}

/// temp file + fsync + rename + fsync(dir).
func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
    let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
    let temporary = path + ".tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw StateFileError(operation: "create", path: temporary, code: errno) }
    var written = 0
    while written < bytes.count {
        let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if count < 0 {
            if errno == EINTR { continue }
            let code = errno
            close(fd)
            unlink(temporary)
            throw StateFileError(operation: "write", path: temporary, code: code)
        }
        written += count
    }
    guard fsync(fd) == 0 else {
        let code = errno
        close(fd)
        unlink(temporary)
        throw StateFileError(operation: "fsync", path: temporary, code: code)
    }
    close(fd)
    guard rename(temporary, path) == 0 else {
        let code = errno
        unlink(temporary)
        throw StateFileError(operation: "rename", path: path, code: code)
    }
    let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directoryFD >= 0 {
        _ = fsync(directoryFD)
        close(directoryFD)
    }
}
