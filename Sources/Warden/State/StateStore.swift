import WardenPlatform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads and atomically writes the state file.
///
/// A write goes to a temporary file in the same directory, is fsynced, renamed over the old
/// file and the directory fsynced (`LocalFile.replaceAtomically`), so a crash or power loss
/// leaves either the old or the new state, never a torn one. A missing or unreadable file never
/// stops the warden: it starts from an empty state and rebuilds by adoption.
///
/// Every date in the file is a number of seconds since 1970-01-01T00:00:00Z (schema 2).
/// Schema 1 wrote the crash-loop budget's dates that way and every other date as seconds since
/// 2001-01-01 (`JSONEncoder`'s default); such a file still loads, with the same dates.
public struct StateStore: Sendable {
    public enum LoadResult: Sendable {
        case loaded(WardenState)
        case missing
        /// The file was unreadable; it was moved aside to `preservedAt` so nothing is lost.
        case corrupt(reason: String, preservedAt: String?)
    }

    public let path: String
    /// Names a corrupt file moved aside and ages the progress line.
    let clock: any WallClock

    public init(path: String, clock: any WallClock = SystemClock()) {
        self.path = path
        self.clock = clock
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
        let bytes: [UInt8]
        do {
            bytes = try LocalFile.read(path, limit: Self.maximumSize)
        } catch {
            return error.isMissing ? (WardenState(), .missing) : (WardenState(), corrupt("unreadable"))
        }
        do {
            let state = try Self.decode(bytes)
            guard state.schemaVersion == WardenState.currentSchemaVersion else {
                return (WardenState(), corrupt("unsupported schema version \(state.schemaVersion)"))
            }
            return (state, .loaded(state))
        } catch {
            return (WardenState(), corrupt("not valid state JSON"))
        }
    }

    private func moveAside(_ reason: String) -> LoadResult {
        let aside = path + ".corrupt-\(Int(clock.now.secondsSince1970))"
        let preserved = (try? LocalFile.rename(path, to: aside)) != nil ? aside : nil
        return .corrupt(reason: reason, preservedAt: preserved)
    }

    /// `progress` beside the state file: one line (`healing 312/800 (10/s, ~49 s left)`) while a
    /// long heal runs, for `polaris-warden status`; nil removes it. Best effort, never fsynced:
    /// it is a view, not state.
    public var progressPath: String { sibling("progress") }

    /// `role` beside the state file, with `highAvailability`: `leader (epoch 7)` or
    /// `standby (leader warden-a, epoch 7)`, for `polaris-warden status`. Best effort, like `progress`.
    public var rolePath: String { sibling("role") }

    private func sibling(_ name: String) -> String {
        (path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : ".") + "/" + name
    }

    public func saveProgress(_ line: String?) { saveLine(line, to: progressPath) }

    public func saveRole(_ line: String) { saveLine(line, to: rolePath) }

    /// The progress line, when a heal is running (the file is younger than `maximumAge` seconds).
    public func loadProgress(maximumAge: Double = 300) -> String? { loadLine(progressPath, maximumAge: maximumAge) }

    /// The role line, when the warden wrote it within `maximumAge` seconds (it does every cycle).
    public func loadRole(maximumAge: Double = 3600) -> String? { loadLine(rolePath, maximumAge: maximumAge) }

    private func saveLine(_ line: String?, to path: String) {
        guard let line else {
            try? LocalFile.remove(path)
            return
        }
        try? LocalFile.replaceAtomically(
            path, with: Array((line + "\n").utf8), permissions: [.ownerReadWrite, .groupRead, .otherRead],
            durable: false)
    }

    private func loadLine(_ path: String, maximumAge: Double) -> String? {
        guard let modified = try? LocalFile.modificationTime(path),
            clock.now.secondsSince1970 - modified < maximumAge,
            let bytes = try? LocalFile.read(path, limit: 64 * 1024)
        else { return nil }
        let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init)
        return line?.isEmpty == false ? line : nil
    }

    public func save(_ state: WardenState) throws {
        try LocalFile.replaceAtomically(path, with: try Self.encode(state), permissions: [.ownerReadWrite])
    }

    /// No state file this warden writes is this large (10,000 jobs take about 10 MB); a larger
    /// file is not one of its state files.
    public static let maximumSize = 1 << 30

    /// The file's bytes: `{"jobs":{`, then one job's record per line in name order (keys
    /// sorted, dates as seconds since 1970), then `},"schemaVersion":N}`.
    ///
    /// Encoded record by record: one `JSONEncoder` pass over the whole state built the document
    /// as a tree first (36 MB of a 10,000-job warden's peak; BENCHMARKS.md), and a line per job
    /// is what `grep` and `diff` want of it anyway.
    static func encode(_ state: WardenState) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + state.jobs.count * 400)
        bytes.append(contentsOf: #"{"jobs":{"#.utf8)
        var separator = "\n"
        for name in state.jobs.keys.sorted() {
            guard let record = state.jobs[name] else { continue }
            bytes.append(contentsOf: separator.utf8)
            bytes.append(contentsOf: try encoder.encode(name))
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: try encoder.encode(record))
            separator = ",\n"
        }
        bytes.append(contentsOf: "\n},\"schemaVersion\":\(state.schemaVersion)}\n".utf8)
        return bytes
    }

    /// A state file of the current schema or of schema 1, whose dates outside the crash-loop
    /// budget were seconds since 2001 (read again with that reading, then upgraded).
    static func decode(_ bytes: [UInt8]) throws -> WardenState {
        let data = Data(bytes)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        var state = try decoder.decode(WardenState.self, from: data)
        if state.schemaVersion == 1 {
            decoder.dateDecodingStrategy = .deferredToDate
            state = try decoder.decode(WardenState.self, from: data)
            state.schemaVersion = WardenState.currentSchemaVersion
        }
        return state
    }
}

/// Reads a whole file (at most 16 MiB) for `UnitFile.text(ofFile:)`; new code calls
/// `LocalFile.read` with a limit of its own.
func readFile(_ path: String) throws -> [UInt8] {
    try LocalFile.read(path, limit: 16 * 1024 * 1024)
}
