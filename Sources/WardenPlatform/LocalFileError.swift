import SystemPackage

/// Why ``LocalFile`` could not read or replace a file: the path, what was being done and the
/// system's reason. Never any of the file's content, so a key file's error is safe to log.
public struct LocalFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The system call that failed.
    public enum Operation: String, Sendable, Hashable {
        case open, stat, read, create, write, fsync, close, rename, remove
    }

    public enum Reason: Sendable, Hashable {
        /// A system call failed with `errno`.
        case failed(Operation, Errno)
        /// A directory where a file was expected.
        case directory
        /// A device, FIFO or socket where a regular file is required.
        case notRegularFile
        /// A file that must be its owner's only, whose mode lets group or others access it.
        case accessibleByOthers(FilePermissions)
        /// Larger than `limit` bytes: probably the wrong file.
        case tooLarge(limit: Int)
    }

    /// The file the failed step was about (the temporary file for a failed write).
    public var path: String
    public var reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    /// The errno of a failed system call.
    public var errno: Errno? {
        if case .failed(_, let code) = reason { return code }
        return nil
    }

    /// The file does not exist (or a directory on its path does not).
    public var isMissing: Bool {
        errno == .noSuchFileOrDirectory
    }

    /// `cannot open /etc/polaris-warden/config.json: Permission denied`.
    public var description: String {
        switch reason {
        case .failed(let operation, let code): "cannot \(operation.rawValue) \(path): \(code)"
        case .directory: "cannot read \(path): it is a directory"
        case .notRegularFile: "\(path) is not a regular file"
        case .accessibleByOthers(let mode): "\(path) has mode \(Self.octal(mode)) and is accessible by group or others"
        case .tooLarge(let limit): "\(path) is larger than \(limit) bytes"
        }
    }

    /// `mode` as four octal digits, e.g. `0644`.
    public static func octal(_ mode: FilePermissions) -> String {
        let digits = String(mode.rawValue & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
