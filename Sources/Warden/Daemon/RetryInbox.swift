import WardenPlatform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `polaris-warden retry JOB` drops a file named after the job in `<state dir>/retry/`; the
/// running daemon picks it up at its next cycle. A file, not a socket: it works whether the
/// daemon runs or not, needs no extra attack surface, and survives a restart.
public struct RetryInbox: Sendable {
    public let directory: String

    public init(stateDirectory: String) {
        directory = stateDirectory + "/retry"
    }

    public func request(jobName: String) throws {
        mkdir(directory, 0o700)
        try LocalFile.replaceAtomically(
            directory + "/" + Self.fileName(for: jobName), with: Array("retry\n".utf8), permissions: [.ownerReadWrite])
    }

    /// Job names requested since the last call; their files are removed.
    public func take() -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard !name.hasPrefix("."), !name.contains(".tmp-") else { continue }
            try? LocalFile.remove(directory + "/" + name)
            names.append(name)
        }
        return names.sorted()
    }

    /// Job names are validated by the config loader to `[A-Za-z0-9._-]`, safe as file names.
    static func fileName(for jobName: String) -> String {
        String(jobName.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }
}
