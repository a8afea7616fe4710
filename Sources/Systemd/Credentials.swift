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
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        if fd < 0 {
            let code = errno
            throw code == ENOENT ? .missing(path: path) : .unreadable(path: path, errno: code)
        }
        defer { close(fd) }
        // fstat on the opened descriptor: the checked file is the read file.
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .unreadable(path: path, errno: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .notRegularFile(path: path) }
        if requirePrivate && status.st_mode & 0o077 != 0 {
            throw .tooPermissive(path: path, mode: UInt32(status.st_mode & 0o7777))
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .unreadable(path: path, errno: code)
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > maximumSize {
                wipe(&bytes)
                throw .tooLarge(path: path, limit: maximumSize)
            }
        }
        wipe(&chunk)
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") {
            bytes.removeLast()
        }
        defer { wipe(&bytes) }
        guard !bytes.isEmpty else { throw .empty(path: path) }
        guard let secret = String(validating: bytes, as: UTF8.self) else { throw .notText(path: path) }
        return secret
    }

    /// Best effort: overwrite buffers that held a secret before they are freed.
    private static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}
