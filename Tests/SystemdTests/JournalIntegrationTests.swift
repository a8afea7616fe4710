import Foundation
import Logging
import Testing

@testable import Systemd

/// Logs through ``JournalLogHandler`` into a real systemd-journald and reads the entries back
/// with `journalctl`: `sd_journal_sendv` returns 0 even when nobody listens, so only the
/// read-back proves that fields arrive with the names and values we meant.
///
/// Needs the private journald that `scripts/with-test-journald.sh` (run by `make test`) starts
/// as root in a private mount namespace; it exports `POLARIS_TEST_JOURNAL_DIR`.
@Suite struct JournalIntegrationTests {
    static let skipReason =
        "needs root and a private systemd-journald: run through scripts/with-test-journald.sh / make test"

    /// Fields journald itself adds; anything else starting with `_` would be forged by us.
    static let trustedFields: Set<String> = [
        "_PID", "_UID", "_GID", "_COMM", "_EXE", "_CMDLINE", "_CAP_EFFECTIVE", "_AUDIT_SESSION",
        "_AUDIT_LOGINUID", "_SYSTEMD_CGROUP", "_SYSTEMD_SLICE", "_SYSTEMD_UNIT", "_SYSTEMD_USER_UNIT",
        "_SYSTEMD_USER_SLICE", "_SYSTEMD_SESSION", "_SYSTEMD_OWNER_UID", "_SYSTEMD_INVOCATION_ID",
        "_SELINUX_CONTEXT", "_SOURCE_REALTIME_TIMESTAMP", "_BOOT_ID", "_MACHINE_ID", "_HOSTNAME",
        "_TRANSPORT", "_STREAM_ID", "_LINE_BREAK", "_NAMESPACE", "_RUNTIME_SCOPE",
        "__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP", "__SEQNUM", "__SEQNUM_ID",
    ]

    @Test func entriesArriveInARealJournal() async throws {
        guard let directory = ProcessInfo.processInfo.environment["POLARIS_TEST_JOURNAL_DIR"] else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("journal test did not run under CI=true: \(Self.skipReason)")
            } else {
                print("skipping JournalIntegrationTests: \(Self.skipReason)")
            }
            return
        }
        let runID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let messageID = "21b2c4fc17f445dd8fd564802cba64e7"  // a test-only id, not a WardenEvent

        // A secret that only Credentials ever sees; what reaches the log is the (redacted) error.
        let secret = "pok_journal_secret_\(runID)"
        let keyDirectory = makeTemporaryDirectory("pw-journal-cred")
        defer { removeTree(keyDirectory) }
        writeFile(keyDirectory + "/api-key", secret + "\n", mode: 0o644)
        let credentialError: CredentialError
        do {
            _ = try Credentials.readKeyFile(atPath: keyDirectory + "/api-key")
            Issue.record("a world-readable key file must be refused")
            return
        } catch {
            credentialError = error
        }
        writeFile(keyDirectory + "/api-key", secret + "\n", mode: 0o600)
        let loaded = try Credentials.readKeyFile(atPath: keyDirectory + "/api-key")
        #expect(loaded == secret)

        var handler = JournalLogHandler(label: "journal-test", syslogIdentifier: "polaris-warden-test")
        handler.logLevel = .trace
        handler[metadataKey: "polaris.test.run"] = .string(runID)
        let logger = Logger(label: "journal-test", factory: { _ in handler })

        let levels: [Logger.Level] = [.trace, .debug, .info, .notice, .warning, .error, .critical]
        var lines: [String: UInt] = [:]
        for level in levels {
            lines[level.rawValue] = #line + 1
            logger.log(
                level: level, "level \(level.rawValue)", metadata: ["test.level": "\(level.rawValue)"])
        }
        let eventLine: UInt = #line + 1
        logger.warning(
            "job wikipedia-kinesis unhealthy\nsecond line",
            metadata: [
                "test.level": "event",
                "MESSAGE_ID": .string(messageID),
                "polaris.job": "wikipedia-kinesis",
                "-x": "dash",
                "1abc": "digit",
                "_SYSTEMD_UNIT": "forged.service",
                "UNIT": "forged.service",
                "jöb": "unicode",
                String(repeating: "k", count: 100): "long",
                "health": ["status": "error", "code": "lost_connection_to_source"],
            ]
        )
        logger.error(
            "could not load the API key",
            metadata: [
                "test.level": "credential", "reason": "\(credentialError)", "api-key": "<redacted>",
            ])

        let entries = try await readBack(
            directory: directory, runID: runID, expecting: levels.count + 2)
        #expect(entries.count == levels.count + 2)
        let byLevel = Dictionary(
            entries.map { ($0["TEST_LEVEL"] as? String ?? "?", $0) }, uniquingKeysWith: { a, _ in a })

        let priorities: [Logger.Level: String] = [
            .trace: "7", .debug: "7", .info: "6", .notice: "5", .warning: "4", .error: "3",
            .critical: "2",
        ]
        for level in levels {
            let entry = try #require(byLevel[level.rawValue], "no entry for \(level)")
            #expect(entry["MESSAGE"] as? String == "level \(level.rawValue)")
            #expect(entry["PRIORITY"] as? String == priorities[level])
            #expect(entry["SYSLOG_IDENTIFIER"] as? String == "polaris-warden-test")
            #expect((entry["CODE_FILE"] as? String)?.hasSuffix("JournalIntegrationTests.swift") == true)
            #expect(entry["CODE_LINE"] as? String == String(lines[level.rawValue]!))
            #expect(entry["CODE_FUNC"] as? String == "entriesArriveInARealJournal()")
            #expect(entry["POLARIS_TEST_RUN"] as? String == runID)
        }

        let event = try #require(byLevel["event"])
        #expect(event["MESSAGE"] as? String == "job wikipedia-kinesis unhealthy\nsecond line")
        #expect(event["PRIORITY"] as? String == "4")
        #expect(event["CODE_LINE"] as? String == String(eventLine))
        #expect(event["MESSAGE_ID"] as? String == messageID)
        #expect(event["POLARIS_JOB"] as? String == "wikipedia-kinesis")
        #expect(event["X__X"] as? String == "dash")
        #expect(event["X_1ABC"] as? String == "digit")
        #expect(event["X__SYSTEMD_UNIT"] as? String == "forged.service")
        #expect(event["META_UNIT"] as? String == "forged.service")
        #expect(event["J_B"] as? String == "unicode")
        #expect(event[String(repeating: "K", count: 64)] as? String == "long")
        #expect(event["HEALTH"] as? String == "{code: lost_connection_to_source, status: error}")
        #expect(event["UNIT"] == nil)
        #expect(event["_SYSTEMD_UNIT"] as? String != "forged.service")

        for entry in entries {
            let underscored = entry.keys.filter { $0.hasPrefix("_") && !Self.trustedFields.contains($0) }
            #expect(underscored.isEmpty, "untrusted _ fields: \(underscored)")
            #expect(entry["UNIT"] == nil)
        }

        let credential = try #require(byLevel["credential"])
        #expect((credential["REASON"] as? String)?.contains("chmod 600") == true)
        #expect(credential["API_KEY"] as? String == "<redacted>")

        // The whole journal, every field of every entry: the secret is nowhere.
        let dump = try runJournalctl(["--directory", directory, "-o", "json", "--all"])
        #expect(!dump.isEmpty)
        #expect(!String(decoding: dump, as: UTF8.self).contains(secret))
        #expect(
            !String(
                decoding: try runJournalctl(["--directory", directory, "-o", "export"]), as: UTF8.self
            ).contains(secret))
    }

    /// Polls `journalctl` until `count` entries of this run are there (journald writes
    /// asynchronously), for at most about 10 seconds.
    func readBack(directory: String, runID: String, expecting count: Int) async throws -> [[String:
        Any]]
    {
        var entries: [[String: Any]] = []
        for _ in 0..<100 {
            let output = try runJournalctl([
                "--directory", directory, "-o", "json", "--all", "POLARIS_TEST_RUN=\(runID)",
            ])
            entries = try output.split(separator: UInt8(ascii: "\n")).compactMap {
                try JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
            }
            if entries.count >= count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return entries
    }

    func runJournalctl(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/journalctl")
        process.arguments = ["--no-pager"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }
}
