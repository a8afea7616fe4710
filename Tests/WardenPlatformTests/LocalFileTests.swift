import SystemPackage
import Testing

@testable import WardenPlatform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh directory under `/tmp`; the caller removes it with `removeTree`.
private func makeDirectory() throws -> String {
    var template = Array("/tmp/pw-localfile-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: try #require(made))
}

private func removeTree(_ path: String) {
    if let handle = opendir(path) {
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            removeTree(path + "/" + name)
        }
        closedir(handle)
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// Writes `bytes` the plain way (not through `LocalFile`) and sets `mode` exactly.
private func plainWrite(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "open \(path): errno \(errno)")
    bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
    fchmod(fd, mode)
    close(fd)
}

private func names(in directory: String) -> [String] {
    guard let handle = opendir(directory) else { return [] }
    defer { closedir(handle) }
    var result: [String] = []
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != ".", name != ".." { result.append(name) }
    }
    return result.sorted()
}

private func mode(of path: String) -> mode_t {
    var status = stat()
    return stat(path, &status) == 0 ? status.st_mode & 0o7777 : 0
}

@Suite("LocalFile: bounded reads")
struct LocalFileReadTests {
    @Test func readsAWholeFileLargerThanOneChunk() throws {
        let directory = try makeDirectory()
        defer { removeTree(directory) }
        let path = directory + "/data"
        let content = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        plainWrite(path, content)
        #expect(try LocalFile.read(path, limit: 1 << 20) == content)
        #expect(try LocalFile.read(path, limit: 1 << 20, options: [.regularFileOnly, .secret]) == content)
        plainWrite(path, [])
        #expect(try LocalFile.read(path, limit: 10) == [])
    }

    @Test(arguments: [LocalFile.ReadOptions(), .secret])
    func aFileOfExactlyTheLimitIsReadAndOneByteMoreIsRefused(options: LocalFile.ReadOptions) throws {
        let directory = try makeDirectory()
        defer { removeTree(directory) }
        let path = directory + "/data"
        plainWrite(path, Array(repeating: UInt8(ascii: "s"), count: 100))
        #expect(try LocalFile.read(path, limit: 100, options: options).count == 100)
        let error = #expect(throws: LocalFileError.self) { try LocalFile.read(path, limit: 99, options: options) }
        #expect(error == LocalFileError(path: path, reason: .tooLarge(limit: 99)))
        #expect(error?.description == "\(path) is larger than 99 bytes")
        #expect(error?.description.contains("sss") == false)
    }

    @Test func aMissingFileNamesThePathAndTheReason() throws {
        let path = "/nonexistent/polaris-warden/config.json"
        let error = #expect(throws: LocalFileError.self) { try LocalFile.read(path, limit: 10) }
        #expect(error?.isMissing == true)
        #expect(error?.reason == .failed(.open, .noSuchFileOrDirectory))
        #expect(error?.description == "cannot open \(path): No such file or directory")
    }

    @Test func aDirectoryIsRefusedAndADeviceOnlyWhenARegularFileIsRequired() throws {
        let directory = try makeDirectory()
        defer { removeTree(directory) }
        let error = #expect(throws: LocalFileError.self) { try LocalFile.read(directory, limit: 10) }
        #expect(error?.reason == .directory)
        #expect(error?.description == "cannot read \(directory): it is a directory")
        #expect(try LocalFile.read("/dev/null", limit: 10) == [])
        let device = #expect(throws: LocalFileError.self) {
            try LocalFile.read("/dev/null", limit: 10, options: .regularFileOnly)
        }
        #expect(device?.reason == .notRegularFile)
    }

    @Test(arguments: [0o640, 0o644, 0o604, 0o660, 0o601, 0o610])
    func anOwnerOnlyFileReadableByOthersIsRefusedWithItsMode(mode: Int) throws {
        let directory = try makeDirectory()
        defer { removeTree(directory) }
        let path = directory + "/key"
        plainWrite(path, Array("pok_SECRET".utf8), mode: mode_t(mode))
        let error = #expect(throws: LocalFileError.self) {
            try LocalFile.read(path, limit: 100, options: [.ownerOnly, .secret])
        }
        #expect(error?.reason == .accessibleByOthers(FilePermissions(rawValue: mode_t(mode))))
        #expect(error?.description.contains("0" + String(mode, radix: 8)) == true)
        #expect(error?.description.contains("pok_SECRET") == false)
    }

    @Test func anOwnerOnlyFileIsRead() throws {
        let directory = try makeDirectory()
        defer { removeTree(directory) }
        let path = directory + "/key"
        for mode: mode_t in [0o600, 0o400] {
            plainWrite(path, Array("pok_SECRET".utf8), mode: mode)
            #expect(try LocalFile.read(path, limit: 100, options: .ownerOnly) == Array("pok_SECRET".utf8))
        }
    }
}

@Suite("LocalFile: atomic replacement")
struct LocalFileReplaceTests {
    @Test(arguments: [true, false])
    func replacingLeavesTheNewContentWithItsModeAndNoTemporaryFile(durable: Bool) throws {
        let directory = try makeDirectory()
        defer { removeTree(directory) }
        let path = directory + "/state.json"
        try LocalFile.replaceAtomically(
            path, with: Array("first".utf8), permissions: [.ownerReadWrite], durable: durable)
        #expect(try LocalFile.read(path, limit: 100) == Array("first".utf8))
        #expect(mode(of: path) == 0o600)
        try LocalFile.replaceAtomically(path, with: "second\n".utf8, permissions: [.ownerReadWrite], durable: durable)
        #expect(try LocalFile.read(path, limit: 100) == Array("second\n".utf8))
        #expect(names(in: directory) == ["state.json"])
        // The new file's mode, not the old one's: it is a new file renamed over the old.
        try LocalFile.replaceAtomically(path, with: [], permissions: [.ownerRead], durable: durable)
        #expect(mode(of: path) == 0o400)
        #expect(try LocalFile.read(path, limit: 100) == [])
        #expect(names(in: directory) == ["state.json"])
    }

    @Test func aFailedReplacementLeavesTheOldFileIntact() throws {
        let directory = try makeDirectory()
        defer { removeTree(directory) }
        let path = directory + "/state.json"
        try LocalFile.replaceAtomically(path, with: Array("old".utf8), permissions: [.ownerReadWrite])
        // The temporary file's name is taken by a directory: the create fails, even for root.
        let temporary = path + ".tmp-\(getpid())"
        #expect(mkdir(temporary, 0o700) == 0)
        let error = #expect(throws: LocalFileError.self) {
            try LocalFile.replaceAtomically(path, with: Array("new".utf8), permissions: [.ownerReadWrite])
        }
        #expect(error?.reason == .failed(.create, .isDirectory))
        #expect(error?.description == "cannot create \(temporary): Is a directory")
        #expect(try LocalFile.read(path, limit: 100) == Array("old".utf8))
        rmdir(temporary)
    }

    @Test func replacingInAMissingDirectoryFailsAndNamesThePath() throws {
        let directory = try makeDirectory()
        defer { removeTree(directory) }
        let path = directory + "/gone/state.json"
        let error = #expect(throws: LocalFileError.self) {
            try LocalFile.replaceAtomically(path, with: Array("new".utf8), permissions: [.ownerReadWrite])
        }
        #expect(error?.isMissing == true)
        #expect(error?.description.contains(path) == true)
        #expect(names(in: directory).isEmpty)
    }

    @Test(.enabled(if: getuid() != 0, "root may write into any directory"))
    func aDirectoryWithoutWritePermissionLeavesTheOldFileIntact() throws {
        let directory = try makeDirectory()
        defer { removeTree(directory) }
        let path = directory + "/state.json"
        try LocalFile.replaceAtomically(path, with: Array("old".utf8), permissions: [.ownerReadWrite])
        chmod(directory, 0o500)
        defer { chmod(directory, 0o700) }
        let error = #expect(throws: LocalFileError.self) {
            try LocalFile.replaceAtomically(path, with: Array("new".utf8), permissions: [.ownerReadWrite])
        }
        #expect(error?.reason == .failed(.create, .permissionDenied))
        #expect(try LocalFile.read(path, limit: 100) == Array("old".utf8))
        #expect(names(in: directory) == ["state.json"])
    }
}

@Suite("LocalFile: rename, remove, modification time")
struct LocalFileOtherTests {
    @Test func renameRemoveAndModificationTime() throws {
        let directory = try makeDirectory()
        defer { removeTree(directory) }
        let path = directory + "/state.json"
        plainWrite(path, Array("x".utf8))
        let modified = try LocalFile.modificationTime(path)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        #expect(abs(Double(now.tv_sec) - modified) < 60)
        try LocalFile.rename(path, to: path + ".corrupt-1")
        #expect(names(in: directory) == ["state.json.corrupt-1"])
        #expect(throws: LocalFileError(path: path, reason: .failed(.rename, .noSuchFileOrDirectory))) {
            try LocalFile.rename(path, to: path + ".corrupt-2")
        }
        try LocalFile.remove(path + ".corrupt-1")
        try LocalFile.remove(path + ".corrupt-1")  // already gone: fine
        #expect(names(in: directory).isEmpty)
        #expect((try? LocalFile.modificationTime(path)) == nil)
    }

    @Test(arguments: [("state.json", "."), ("/state.json", "/"), ("/var/lib/w/state.json", "/var/lib/w"), ("a/b", "a")])
    func directoryOfAPath(path: String, directory: String) {
        #expect(LocalFile.directory(of: path) == directory)
    }
}
