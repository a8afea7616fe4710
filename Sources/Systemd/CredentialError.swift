#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a secret could not be read. Messages name the credential, path and mode, never the content.
public enum CredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `$CREDENTIALS_DIRECTORY` is not set: the unit has no `LoadCredential=`, or the daemon
    /// runs outside systemd.
    case directoryUnset(name: String)
    /// The credential name is empty or could leave the credentials directory.
    case invalidName(String)
    /// No file at `path`.
    case missing(path: String)
    /// `path` exists but is not a regular file.
    case notRegularFile(path: String)
    /// `path` could not be opened or read; `errno` says why.
    case unreadable(path: String, errno: Int32)
    /// A key file that group or others may read.
    case tooPermissive(path: String, mode: UInt32)
    /// The file is empty (after trimming the trailing newline).
    case empty(path: String)
    /// The file is larger than any key; probably the wrong file.
    case tooLarge(path: String, limit: Int)
    /// The content is not UTF-8 text.
    case notText(path: String)

    public var description: String {
        switch self {
        case .directoryUnset(let name):
            "credential '\(name)': CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=\(name):PATH, or use a key file)"
        case .invalidName(let name):
            "credential name '\(name)' is invalid: it must be a plain file name without '/' or '..'"
        case .missing(let path):
            "secret file \(path) does not exist"
        case .notRegularFile(let path):
            "secret file \(path) is not a regular file"
        case .unreadable(let path, let code):
            "secret file \(path) cannot be read: \(String(cString: strerror(code))) (errno \(code))"
        case .tooPermissive(let path, let mode):
            "key file \(path) has mode \(Self.octal(mode)) and is readable by group or others; run chmod 600 \(path)"
        case .empty(let path):
            "secret file \(path) is empty"
        case .tooLarge(let path, let limit):
            "secret file \(path) is larger than \(limit) bytes"
        case .notText(let path):
            "secret file \(path) is not UTF-8 text"
        }
    }

    /// `mode` as four octal digits, e.g. `0644`.
    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
