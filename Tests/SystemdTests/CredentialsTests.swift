import Glibc
import Testing

@testable import Systemd

/// Writes `content` to `path` with `mode` (after creation, so the umask does not interfere).
func writeFile(_ path: String, _ content: String, mode: mode_t) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "open \(path): errno \(errno)")
    var text = content
    text.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
    fchmod(fd, mode)
    close(fd)
}

@Suite struct CredentialsTests {
    let secret = "pok_SECRET-\(UInt64.random(in: 0...UInt64.max))"

    @Test func readsANamedCredentialAndTrimsTheTrailingNewline() throws {
        let directory = makeTemporaryDirectory("pw-cred")
        defer { removeTree(directory) }
        writeFile(directory + "/polaris-api-key", secret + "\n", mode: 0o400)
        #expect(try Credentials.read(named: "polaris-api-key", directory: directory) == secret)
        #expect(try Credentials.read(named: "polaris-api-key", directory: directory + "/") == secret)
        writeFile(directory + "/crlf", secret + "\r\n", mode: 0o400)
        #expect(try Credentials.read(named: "crlf", directory: directory) == secret)
    }

    @Test func unsetDirectory() {
        #expect(throws: CredentialError.directoryUnset(name: "polaris-api-key")) {
            try Credentials.read(named: "polaris-api-key", directory: nil)
        }
        let error = CredentialError.directoryUnset(name: "polaris-api-key")
        #expect(error.description.contains("CREDENTIALS_DIRECTORY is not set"))
    }

    @Test func missingFile() {
        let directory = makeTemporaryDirectory("pw-cred")
        defer { removeTree(directory) }
        #expect(throws: CredentialError.missing(path: directory + "/nope")) {
            try Credentials.read(named: "nope", directory: directory)
        }
        #expect(throws: CredentialError.missing(path: directory + "/nope")) {
            try Credentials.readKeyFile(atPath: directory + "/nope")
        }
    }

    @Test(arguments: ["../etc/shadow", "a/b", "..", ".", "", "x..y", "/etc/passwd"])
    func pathTraversalIsRefused(name: String) {
        #expect(throws: CredentialError.invalidName(name)) {
            try Credentials.read(named: name, directory: "/tmp")
        }
    }

    @Test(arguments: [0o640, 0o644, 0o604, 0o660, 0o601, 0o610])
    func groupOrWorldReadableKeyFileIsRefusedWithoutTheSecret(mode: Int) throws {
        let directory = makeTemporaryDirectory("pw-cred")
        defer { removeTree(directory) }
        let path = directory + "/api-key"
        writeFile(path, secret + "\n", mode: mode_t(mode))
        do {
            _ = try Credentials.readKeyFile(atPath: path)
            Issue.record("mode \(String(mode, radix: 8)) must be refused")
        } catch {
            #expect(error == .tooPermissive(path: path, mode: UInt32(mode)))
            #expect(error.description.contains(path))
            #expect(error.description.contains("0" + String(mode, radix: 8)))
            #expect(!error.description.contains(secret))
            #expect(!String(describing: error).contains(secret))
            #expect(!String(reflecting: error).contains(secret))
        }
    }

    @Test func privateKeyFileIsRead() throws {
        let directory = makeTemporaryDirectory("pw-cred")
        defer { removeTree(directory) }
        let path = directory + "/api-key"
        writeFile(path, secret + "\n\n", mode: 0o600)
        #expect(try Credentials.readKeyFile(atPath: path) == secret)
        writeFile(path, secret, mode: 0o400)
        #expect(try Credentials.readKeyFile(atPath: path) == secret)
    }

    @Test func emptyDirectoryAndOversizedFilesAreRefused() throws {
        let directory = makeTemporaryDirectory("pw-cred")
        defer { removeTree(directory) }
        writeFile(directory + "/empty", "\n", mode: 0o600)
        #expect(throws: CredentialError.empty(path: directory + "/empty")) {
            try Credentials.readKeyFile(atPath: directory + "/empty")
        }
        #expect(throws: CredentialError.notRegularFile(path: directory)) {
            try Credentials.readKeyFile(atPath: directory)
        }
        writeFile(
            directory + "/big", String(repeating: "s", count: Credentials.maximumSize + 1), mode: 0o600)
        #expect(
            throws: CredentialError.tooLarge(path: directory + "/big", limit: Credentials.maximumSize)
        ) {
            try Credentials.readKeyFile(atPath: directory + "/big")
        }
    }

    @Test func aKeyOfExactlyTheMaximumSizeIsReadAndADeviceIsRefused() throws {
        let directory = makeTemporaryDirectory("pw-cred")
        defer { removeTree(directory) }
        writeFile(directory + "/full", String(repeating: "s", count: Credentials.maximumSize), mode: 0o600)
        #expect(try Credentials.readKeyFile(atPath: directory + "/full").utf8.count == Credentials.maximumSize)
        // The kind is checked before the mode: /dev/null (0666) is not a key file at all.
        #expect(throws: CredentialError.notRegularFile(path: "/dev/null")) {
            try Credentials.readKeyFile(atPath: "/dev/null")
        }
    }

    @Test func anUnreadableFileSaysWhyInWords() {
        #expect(
            CredentialError.unreadable(path: "/etc/polaris-warden/api-key", errno: EACCES).description
                == "secret file /etc/polaris-warden/api-key cannot be read: Permission denied (errno 13)")
    }
}

extension ProcessEnvironmentTests {
    @Suite struct CredentialsEnvironmentTests {
        @Test func readsFromCredentialsDirectoryVariable() throws {
            let directory = makeTemporaryDirectory("pw-cred")
            defer { removeTree(directory) }
            writeFile(directory + "/polaris-api-key", "key\n", mode: 0o400)
            let value = try withEnvironment(["CREDENTIALS_DIRECTORY": directory]) {
                try Credentials.read(named: "polaris-api-key")
            }
            #expect(value == "key")
            withEnvironment(["CREDENTIALS_DIRECTORY": nil]) {
                #expect(throws: CredentialError.directoryUnset(name: "polaris-api-key")) {
                    try Credentials.read(named: "polaris-api-key")
                }
            }
        }
    }
}
