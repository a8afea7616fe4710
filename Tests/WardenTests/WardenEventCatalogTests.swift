import Foundation
import Logging
import TestSupport
import Testing

@testable import Warden

/// Keeps `systemd/polaris-warden.catalog` and ``WardenEvent`` in step: `journalctl -x` can only
/// explain an event whose id has an entry, and an entry for a removed event misleads.
@Suite struct WardenEventCatalogTests {
    struct Entry {
        var id: String
        var headers: [String: [String]] = [:]
        var body: [String] = []
    }

    static let catalogPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("systemd/polaris-warden.catalog").path

    /// Parses the catalog format of journalctl: `-- ID` starts an entry, `Key: value` headers
    /// up to the first empty line, then the body; `#` lines outside entries are comments.
    static func parse(_ text: String) -> [Entry] {
        var entries: [Entry] = []
        var inHeaders = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("-- ") {
                entries.append(Entry(id: String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces)))
                inHeaders = true
                continue
            }
            guard !entries.isEmpty else { continue }
            if inHeaders {
                if line.isEmpty {
                    inHeaders = false
                } else if let colon = line.firstIndex(of: ":") {
                    let key = String(line[..<colon])
                    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    entries[entries.count - 1].headers[key, default: []].append(value)
                }
            } else {
                entries[entries.count - 1].body.append(line)
            }
        }
        return entries
    }

    static func isID128(_ id: String) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    func entries() throws -> [Entry] {
        Self.parse(try String(contentsOfFile: Self.catalogPath, encoding: .utf8))
    }

    @Test func everyEventHasExactlyOneEntryAndEveryEntryAnEvent() throws {
        let entries = try entries()
        let ids = entries.map(\.id)
        for event in WardenEvent.allCases {
            #expect(
                ids.filter { $0 == event.messageID }.count == 1, "\(event.rawValue) \(event.messageID)")
        }
        let eventIDs = Set(WardenEvent.allCases.map(\.messageID))
        for id in ids {
            #expect(eventIDs.contains(id), "catalog entry \(id) has no WardenEvent")
        }
        #expect(entries.count == WardenEvent.allCases.count)
    }

    @Test func idsAreUniqueLowercaseHex() throws {
        let eventIDs = WardenEvent.allCases.map(\.messageID)
        #expect(Set(eventIDs).count == eventIDs.count)
        #expect(eventIDs.allSatisfy(Self.isID128))
        let ids = try entries().map(\.id)
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(Self.isID128(id), "\(id) is not 32 lowercase hex digits")
        }
    }

    @Test func everyEntryHasSubjectDefinedByDocumentationAndABody() throws {
        for entry in try entries() {
            #expect(entry.headers["Subject"]?.count == 1, "\(entry.id): Subject")
            #expect(entry.headers["Subject"]?.first?.isEmpty == false, "\(entry.id): Subject")
            #expect(entry.headers["Defined-By"] == ["polaris-warden"], "\(entry.id): Defined-By")
            let documentation = entry.headers["Documentation", default: []].joined(separator: " ")
            #expect(documentation.contains("man:polaris-warden(8)"), "\(entry.id): Documentation")
            #expect(
                documentation.contains("file:///usr/share/doc/polaris-warden/operations.md"),
                "\(entry.id): Documentation"
            )
            #expect(
                entry.body.contains { !$0.trimmingCharacters(in: .whitespaces).isEmpty },
                "\(entry.id): body")
        }
    }

    @Test func eventNamesAndPriorities() {
        let names = WardenEvent.allCases.map(\.rawValue)
        #expect(Set(names).count == names.count)
        for name in names {
            #expect(
                name.allSatisfy { $0 == "-" || ("a"..."z").contains($0) }, "\(name) is not kebab-case")
        }
        for required in [
            "started", "config-loaded", "config-rejected", "connection-created", "connection-updated",
            "job-created", "job-adopted", "job-recreated", "job-resumed", "job-replaced", "job-unhealthy",
            "job-gave-up", "source-unreachable", "api-unreachable", "api-recovered", "auth-failed",
            "stopping",
            "job-failed", "job-reset", "job-action-failed", "job-drifted", "job-stalled",
            "job-retry-requested", "reloaded",
        ] {
            #expect(WardenEvent(rawValue: required) != nil, "missing event \(required)")
        }
        #expect(WardenEvent.jobGaveUp.priority == .critical)
        #expect(WardenEvent.authFailed.priority == .critical)
        #expect(WardenEvent.jobFailed.priority == .error)
        #expect(WardenEvent.jobActionFailed.priority == .error)
        #expect(WardenEvent.jobUnhealthy.priority == .warning)
        #expect(WardenEvent.apiUnreachable.priority == .warning)
        #expect(WardenEvent.configRejected.priority == .warning)
        #expect(WardenEvent.jobRecreated.priority == .notice)
        #expect(WardenEvent.apiRecovered.priority == .notice)
        #expect(WardenEvent.started.priority == .info)
        #expect(
            WardenEvent.jobDrifted.metadata == [
                "MESSAGE_ID": "01cae7c5eb424323b6133969f5be04f0", "EVENT": "job-drifted",
            ])
    }

    @Test func logEventAddsMessageIDAndEventAtTheEventLevel() {
        let recorder = LogRecorder()
        recorder.logger.log(
            event: .jobRecreated, "recreated", metadata: ["POLARIS_JOB": "orders", "EVENT": "forged"])
        let events = recorder.all
        #expect(events.count == 1)
        #expect(events.first?.level == .notice)
        #expect(events.first?.metadata["MESSAGE_ID"] == "cef755890f0d4e72aa1e95a4e2ff45f6")
        #expect(events.first?.metadata["EVENT"] == "job-recreated")
        #expect(events.first?.metadata["POLARIS_JOB"] == "orders")
    }

    /// The catalog compiles with journalctl itself (into a scratch root, nothing installed).
    @Test func journalctlCompilesTheCatalog() throws {
        // `make deps` installs systemd, so journalctl is there; without it this fails, never skips.
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/journalctl"),
            "journalctl is missing: run `make deps` (Debian's systemd package)")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pw-catalog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let catalogDirectory = root.appendingPathComponent("usr/lib/systemd/catalog")
        try FileManager.default.createDirectory(at: catalogDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("var/lib/systemd/catalog"),
            withIntermediateDirectories: true
        )
        try FileManager.default.copyItem(
            atPath: Self.catalogPath,
            toPath: catalogDirectory.appendingPathComponent("polaris-warden.catalog").path
        )
        #expect(try runProcess("/usr/bin/journalctl", ["--root=\(root.path)", "--update-catalog"]).status == 0)
        let dump = try runProcess("/usr/bin/journalctl", ["--root=\(root.path)", "--dump-catalog"])
        #expect(dump.status == 0)
        for event in WardenEvent.allCases {
            #expect(
                dump.output.contains("-- \(event.messageID)\n"),
                "\(event.rawValue) not in the compiled catalog")
        }
    }
}
