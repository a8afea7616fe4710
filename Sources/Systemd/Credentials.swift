import WardenPlatform

#if canImport(Glibc)
import Glibc
#endif

/// Reads secrets (the Polaris API key) the way systemd hands them over, without ever putting
/// them into an error, a log line or argv.
///
/// `LoadCredential=NAME:PATH` makes systemd copy a root-only file into a private
/// `$CREDENTIALS_DIRECTORY` readable by the (dynamic) service user only, so the daemon needs no
/// access to `/etc`. A plain key file is accepted for other setups, but only when no group or
/// other user can read it.
public enum Credentials {
    /// No API key is this long; a larger file is the wrong file.
    public static let maximumSize = 64 * 1024

    /// The credential `name` from `$CREDENTIALS_DIRECTORY/name`, trailing newline trimmed.
    public static func read(named name: String) throws(CredentialError) -> String {
        let directory = getenv("CREDENTIALS_DIRECTORY").map { String(cString: $0) }
        return try read(named: name, directory: directory)
    }

    /// ``read(named:)`` with the directory passed in (nil: unset), for tests.
    public static func read(named name: String, directory: String?) throws(CredentialError) -> String {
        guard isValidName(name) else { throw .invalidName(name) }
        guard let directory, !directory.isEmpty else { throw .directoryUnset(name: name) }
        let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        return try readSecret(atPath: path, requirePrivate: false)
    }

    /// The key in the file at `path`, refused when its mode lets group or others read it.
    public static func readKeyFile(atPath path: String) throws(CredentialError) -> String {
        try readSecret(atPath: path, requirePrivate: true)
    }

    /// A credential name is one path component: not empty, no `/`, no `..`, no NUL.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && !name.contains("/") && !name.contains("..")
            && !name.utf8.contains(0)
    }

    private static func readSecret(atPath path: String, requirePrivate: Bool) throws(CredentialError)
        -> String
    {
        var bytes: [UInt8]
        do {
            // The owner and mode are checked on the opened descriptor: the checked file is the read file.
            bytes = try LocalFile.read(
                path, limit: maximumSize,
                options: requirePrivate ? [.regularFileOnly, .ownerOnly, .secret] : [.regularFileOnly, .secret])
        } catch {
            throw CredentialError(error)
        }
        defer { wipe(&bytes) }
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") {
            end -= 1
        }
        guard end > bytes.startIndex else { throw .empty(path: path) }
        guard let secret = String(validating: bytes[..<end], as: UTF8.self) else { throw .notText(path: path) }
        return secret
    }

    /// Best effort: overwrite buffers that held a secret before they are freed.
    private static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}

extension CredentialError {
    /// The file helper's error in the words of a secret file (path, mode, errno; never content).
    init(_ error: LocalFileError) {
        let path = error.path
        switch error.reason {
        case .failed(.open, .noSuchFileOrDirectory): self = .missing(path: path)
        case .failed(_, let code): self = .unreadable(path: path, errno: code.rawValue)
        case .directory, .notRegularFile: self = .notRegularFile(path: path)
        case .accessibleByOthers(let mode): self = .tooPermissive(path: path, mode: UInt32(mode.rawValue))
        case .tooLarge(let limit): self = .tooLarge(path: path, limit: limit)
        }
    }
}
