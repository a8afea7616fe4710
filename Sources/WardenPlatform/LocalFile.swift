import SystemPackage

// The two swift-system types in `LocalFile`'s API, visible to every module that imports this one.
@_exported import struct SystemPackage.Errno
@_exported import struct SystemPackage.FilePermissions

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way the warden reads a file and replaces one: the config, key files and systemd
/// credentials, the state file, the `progress` line and the retry inbox all go through here.
///
/// Reads are bounded (a file larger than `limit` is the wrong file, not a reason to allocate
/// without end) and can check what was opened, on the opened descriptor: the checked file is the
/// read file. A replacement is atomic: the bytes go to a temporary file beside the target, which
/// is renamed over it, so a reader (or a crash) sees the old content or the new, never a torn
/// one. Errors (``LocalFileError``) name the path and the system's reason, never the content.
public enum LocalFile {
    /// What ``read(_:limit:options:)`` requires of the file before it reads a byte.
    public struct ReadOptions: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// Refuse devices, FIFOs and sockets (a directory is always refused).
        public static let regularFileOnly = ReadOptions(rawValue: 1 << 0)
        /// Refuse a file whose mode gives group or others any access (a key file: `chmod 600`).
        public static let ownerOnly = ReadOptions(rawValue: 1 << 1)
        /// The content is a secret: the buffer is allocated once for `limit + 1` bytes (growth
        /// would leave copies behind) and zeroed before an error is thrown. The caller wipes the
        /// returned bytes when done.
        public static let secret = ReadOptions(rawValue: 1 << 2)
    }

    /// The whole file at `path`, refused when it is larger than `limit` bytes or fails `options`.
    ///
    /// Opened with `O_CLOEXEC` (no descriptor leaks into a child) and `O_NOCTTY`; symbolic links
    /// are followed (systemd's credentials and `/etc` setups use them).
    public static func read(_ path: String, limit: Int, options: ReadOptions = []) throws(LocalFileError) -> [UInt8] {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(
                FilePath(path), .readOnly, options: [.closeOnExec, .noControllingTerminal], retryOnInterrupt: true)
        } catch {
            throw LocalFileError(path: path, reason: .failed(.open, Errno(error)))
        }
        defer { try? descriptor.close() }

        var status = stat()
        guard fstat(descriptor.rawValue, &status) == 0 else {
            throw LocalFileError(path: path, reason: .failed(.stat, Errno(rawValue: errno)))
        }
        let kind = status.st_mode & S_IFMT
        if kind == S_IFDIR { throw LocalFileError(path: path, reason: .directory) }
        if options.contains(.regularFileOnly), kind != S_IFREG {
            throw LocalFileError(path: path, reason: .notRegularFile)
        }
        if options.contains(.ownerOnly), status.st_mode & 0o077 != 0 {
            throw LocalFileError(
                path: path, reason: .accessibleByOthers(FilePermissions(rawValue: status.st_mode & 0o7777)))
        }

        // One byte past the limit tells "exactly `limit`" from "larger"; a regular file's size
        // is a good first guess (a file that grows meanwhile is read to its end all the same).
        let ceiling = max(0, limit) + 1
        let guess = kind == S_IFREG && status.st_size > 0 ? Int(clamping: status.st_size) + 1 : 64 * 1024
        var buffer = [UInt8](repeating: 0, count: options.contains(.secret) ? ceiling : min(ceiling, guess))
        var count = 0
        while true {
            if count == buffer.count {
                // Only when not secret: a secret's buffer already holds `ceiling` bytes.
                buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, ceiling - buffer.count)))
            }
            let received: Int
            do {
                received = try buffer.withUnsafeMutableBytes { raw in
                    try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[count...]))
                }
            } catch {
                if options.contains(.secret) { wipe(&buffer) }
                throw LocalFileError(path: path, reason: .failed(.read, Errno(error)))
            }
            if received == 0 { break }
            count += received
            if count > limit {
                if options.contains(.secret) { wipe(&buffer) }
                throw LocalFileError(path: path, reason: .tooLarge(limit: limit))
            }
        }
        buffer.removeSubrange(count...)  // in place: a secret's one allocation is kept
        return buffer
    }

    /// Replaces the file at `path` with `bytes`: write a temporary file beside it
    /// (`<path>.tmp-<pid>`), then rename it over `path`.
    ///
    /// - Parameters:
    ///   - permissions: the new file's mode, as `open(2)` applies it (less the umask).
    ///   - durable: fsync the file before the rename and the directory after it, so a power
    ///     loss also leaves the old or the new content. False for views that may be lost (the
    ///     `progress` line): the rename alone keeps readers from seeing a torn file.
    /// - Throws: ``LocalFileError``; the temporary file is removed and `path` left as it was.
    public static func replaceAtomically(
        _ path: String, with bytes: some Collection<UInt8>, permissions: FilePermissions, durable: Bool = true
    ) throws(LocalFileError) {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(
                FilePath(temporary), .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: permissions,
                retryOnInterrupt: true)
        } catch {
            throw LocalFileError(path: temporary, reason: .failed(.create, Errno(error)))
        }
        func abandon(_ operation: LocalFileError.Operation, _ code: Errno) -> LocalFileError {
            try? descriptor.close()
            unlinkFile(temporary)
            return LocalFileError(path: temporary, reason: .failed(operation, code))
        }
        do {
            try descriptor.writeAll(bytes)
        } catch {
            throw abandon(.write, Errno(error))
        }
        if durable, let code = synchronize(descriptor) { throw abandon(.fsync, code) }
        do {
            try descriptor.close()
        } catch {
            // close(2) reports a delayed write error (NFS, quota): the content may be incomplete.
            unlinkFile(temporary)
            throw LocalFileError(path: temporary, reason: .failed(.close, Errno(error)))
        }
        guard renameFile(temporary, path) == 0 else {
            let code = Errno(rawValue: errno)
            unlinkFile(temporary)
            throw LocalFileError(path: path, reason: .failed(.rename, code))
        }
        if durable { synchronizeDirectory(of: path) }
    }

    /// Renames `path` to `newPath` (same file system), replacing `newPath` if it exists.
    public static func rename(_ path: String, to newPath: String) throws(LocalFileError) {
        guard renameFile(path, newPath) == 0 else {
            throw LocalFileError(path: path, reason: .failed(.rename, Errno(rawValue: errno)))
        }
    }

    /// Removes the file at `path`; a file that is already gone is not an error.
    public static func remove(_ path: String) throws(LocalFileError) {
        guard unlinkFile(path) == 0 || errno == ENOENT else {
            throw LocalFileError(path: path, reason: .failed(.remove, Errno(rawValue: errno)))
        }
    }

    /// The time of the last change to the file's content, in seconds since 1970.
    public static func modificationTime(_ path: String) throws(LocalFileError) -> Double {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw LocalFileError(path: path, reason: .failed(.stat, Errno(rawValue: errno)))
        }
        #if canImport(Darwin)
        let time = status.st_mtimespec
        #else
        let time = status.st_mtim
        #endif
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The directory part of `path` (`.` when there is none, `/` for a file in the root).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// fsync, retried when interrupted; the errno when it failed.
    private static func synchronize(_ descriptor: FileDescriptor) -> Errno? {
        while fsync(descriptor.rawValue) != 0 {
            let code = errno
            if code != EINTR { return Errno(rawValue: code) }
        }
        return nil
    }

    /// Makes the rename durable. Best effort: the rename has happened, and a file system that
    /// cannot fsync a directory (some network ones) still has the new content.
    private static func synchronizeDirectory(of path: String) {
        guard
            let descriptor = try? FileDescriptor.open(
                FilePath(directory(of: path)), .readOnly, options: [.directory, .closeOnExec], retryOnInterrupt: true)
        else { return }
        _ = synchronize(descriptor)
        try? descriptor.close()
    }

    /// Best effort: overwrite a buffer that held a secret before it is freed.
    static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}

extension FileDescriptor.OpenOptions {
    /// `O_NOCTTY`: opening a terminal never makes it the process's controlling terminal.
    fileprivate static var noControllingTerminal: Self { Self(rawValue: O_NOCTTY) }
}

extension Errno {
    /// The errno of an error thrown by a `FileDescriptor` call (always an `Errno`).
    fileprivate init(_ error: any Error) {
        self = (error as? Errno) ?? .ioError
    }
}

// The C calls by their own names, outside `LocalFile` (whose members share some of them).
@discardableResult
private func renameFile(_ from: String, _ to: String) -> Int32 { rename(from, to) }
@discardableResult
private func unlinkFile(_ path: String) -> Int32 { unlink(path) }
