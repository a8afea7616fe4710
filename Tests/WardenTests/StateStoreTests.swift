import Foundation
import Testing

@testable import Warden

/// The state file: one epoch for every date (seconds since 1970, schema 2), files of schema 1
/// still loaded with the same dates, and what happens to a missing or unusable file.
@Suite struct StateStoreTests {
    /// A state file as the warden wrote it before schema 2: the crash-loop budget's dates in
    /// seconds since 1970, every other date in seconds since 2001 (JSONEncoder's default).
    static let schemaOne = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/state/schema-1.json")

    static func date(_ secondsSince1970: Double) -> Date { Date(timeIntervalSince1970: secondsSince1970) }

    /// A fresh directory, and the store of `state.json` in it.
    static func makeStore() throws -> (StateStore, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return (StateStore(path: directory.appendingPathComponent("state.json").path), directory)
    }

    static func loaded(_ store: StateStore) throws -> WardenState {
        let (state, result) = store.load(preserveCorrupt: false)
        guard case .loaded = result else {
            Issue.record("not loaded: \(result)")
            throw CancellationError()
        }
        return state
    }

    /// The dates of the fixture, read in the current schema.
    static func expectFixtureDates(_ state: WardenState) throws {
        let orders = try #require(state.jobs["orders"])
        #expect(orders.reconciler.budget.attempts == [date(1_700_000_000.25), date(1_700_000_100.5)])
        #expect(orders.reconciler.budget.nextActionAllowedAt == date(1_700_000_400.75))
        #expect(orders.reconciler.phase == .backingOff(until: date(1_700_000_400.75)))
        #expect(orders.pendingCreate?.startedAt == date(1_700_000_450.125))
        #expect(orders.stall?.lastGrowthAt == date(1_700_000_300.5))
        #expect(orders.stall?.stalledSince == date(1_700_000_390))
        #expect(orders.stall?.lastSampledAt == date(1_700_000_440.25))
        #expect(orders.stall?.parseErrorsReportedAt == date(1_700_000_200))
        let clicks = try #require(state.jobs["clicks"])
        #expect(clicks.reconciler.budget.gaveUpSince == date(1_700_000_500))
        #expect(clicks.reconciler.phase == .gaveUp(since: date(1_700_000_500)))
    }

    @Test func aSchemaOneFileLoadsWithTheSameDates() throws {
        let (store, directory) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(atPath: Self.schemaOne.path, toPath: store.path)
        let state = try Self.loaded(store)
        #expect(state.schemaVersion == WardenState.currentSchemaVersion)
        #expect(state.jobs["orders"]?.reconciler.jobID == "o-1")
        #expect(state.jobs["orders"]?.specCheck?.fingerprint == "3f2a")
        try Self.expectFixtureDates(state)
    }

    /// The stored numbers, as plain JSON.
    struct Stored: Decodable {
        struct Record: Decodable {
            struct Reconciler: Decodable {
                struct Budget: Decodable {
                    var attempts: [Double]
                    var nextActionAllowedAt: Double?
                    var gaveUpSince: Double?
                }
                struct Phase: Decodable { var date: Double? }
                var budget: Budget
                var phase: Phase
            }
            struct Pending: Decodable { var startedAt: Double }
            struct Stall: Decodable {
                var lastGrowthAt: Double
                var stalledSince: Double?
                var lastSampledAt: Double?
                var parseErrorsReportedAt: Double?
            }
            var reconciler: Reconciler
            var pendingCreate: Pending?
            var stall: Stall?
        }
        var schemaVersion: Int
        var jobs: [String: Record]
    }

    @Test func everyDateIsWrittenAsSecondsSince1970AndReadBackTheSame() throws {
        let (store, directory) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(atPath: Self.schemaOne.path, toPath: store.path)
        let state = try Self.loaded(store)
        try store.save(state)

        let stored = try JSONDecoder().decode(Stored.self, from: Data(contentsOf: URL(fileURLWithPath: store.path)))
        #expect(stored.schemaVersion == 2)
        let orders = try #require(stored.jobs["orders"])
        #expect(orders.reconciler.budget.attempts == [1_700_000_000.25, 1_700_000_100.5])
        #expect(orders.reconciler.budget.nextActionAllowedAt == 1_700_000_400.75)
        #expect(orders.reconciler.phase.date == 1_700_000_400.75)
        #expect(orders.pendingCreate?.startedAt == 1_700_000_450.125)
        #expect(orders.stall?.lastGrowthAt == 1_700_000_300.5)
        #expect(orders.stall?.stalledSince == 1_700_000_390)
        #expect(orders.stall?.lastSampledAt == 1_700_000_440.25)
        #expect(orders.stall?.parseErrorsReportedAt == 1_700_000_200)
        #expect(stored.jobs["clicks"]?.reconciler.budget.gaveUpSince == 1_700_000_500)
        #expect(stored.jobs["clicks"]?.reconciler.phase.date == 1_700_000_500)

        let reloaded = try Self.loaded(store)
        #expect(reloaded == state)
        try Self.expectFixtureDates(reloaded)
    }

    @Test func aMissingFileIsMissingAndAnUnusableOneIsMovedAsideOnlyWhenAsked() throws {
        let (store, directory) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        guard case .missing = store.load().1 else {
            Issue.record("a missing file is not reported missing")
            return
        }
        for (content, reason) in [
            ("{not json", "not valid state JSON"),
            (#"{"schemaVersion": 3, "jobs": {}}"#, "unsupported schema version 3"),
        ] {
            try content.write(toFile: store.path, atomically: false, encoding: .utf8)
            // Read-only commands (status, plan) leave the file where it is.
            guard case .corrupt(reason, nil) = store.load(preserveCorrupt: false).1 else {
                Issue.record("\(content) is not reported as \(reason)")
                continue
            }
            #expect(FileManager.default.fileExists(atPath: store.path))
            guard case .corrupt(reason, let aside?) = store.load().1 else {
                Issue.record("\(content) is not moved aside")
                continue
            }
            #expect(!FileManager.default.fileExists(atPath: store.path))
            #expect(try String(contentsOfFile: aside, encoding: .utf8) == content)
            try FileManager.default.removeItem(atPath: aside)
        }
        // A directory where the file should be is unreadable, not missing.
        try FileManager.default.createDirectory(atPath: store.path, withIntermediateDirectories: false)
        guard case .corrupt("unreadable", nil) = store.load(preserveCorrupt: false).1 else {
            Issue.record("a directory is not reported unreadable")
            return
        }
    }

    @Test func aSavedStateLeavesNoTemporaryFileAndIsOwnerOnly() throws {
        let (store, directory) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        try store.save(WardenState())
        try store.save(WardenState())
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["state.json"])
        let mode = try FileManager.default.attributesOfItem(atPath: store.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try Self.loaded(store) == WardenState())
    }

    /// A state with `count` jobs, each with a job id and some budget.
    static func state(jobs count: Int) -> WardenState {
        var state = WardenState()
        for index in 0..<count {
            var record = JobRecord(jobName: "job-\(index)")
            record.reconciler.adopted(jobID: "id-\(index)")
            record.pendingCreate = PendingCreate(
                table: "t/\"\(index)", startedAt: date(1_700_000_000 + Double(index)), specFingerprint: "f\(index)")
            state.jobs["job-\(index)"] = record
        }
        return state
    }

    /// The file holds one job's record per line, in name order, so `grep`, `diff` and a
    /// line-oriented reader see one job at a time (and the warden writes it record by record,
    /// never building the whole document as a tree: 36 MB at 10,000 jobs).
    @Test func theFileHoldsOneRecordPerLineInNameOrderAndLoadsBack() throws {
        let (store, directory) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = Self.state(jobs: 3)
        try store.save(state)
        let text = try String(contentsOfFile: store.path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 6, "{, three records, }, and the final newline: \(text)")
        #expect(lines.first == #"{"jobs":{"#)
        for (line, name) in zip(lines[1...3], ["job-0", "job-1", "job-2"]) {
            #expect(line.hasPrefix("\"\(name)\":{"), "\(line)")
        }
        #expect(lines[4] == #"},"schemaVersion":2}"#)
        #expect(try Self.loaded(store) == state)
        // Names and strings that need escaping survive.
        var odd = WardenState()
        odd.jobs["a \"quoted\"\n\\name"] = JobRecord(jobName: "a \"quoted\"\n\\name")
        try store.save(odd)
        #expect(try Self.loaded(store) == odd)
        try store.save(WardenState())
        #expect(try Self.loaded(store) == WardenState())
    }

    /// A file written pretty-printed (before 0.13) still loads.
    @Test func aPrettyPrintedFileStillLoads() throws {
        let (store, directory) = try Self.makeStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = Self.state(jobs: 2)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .secondsSince1970
        try encoder.encode(state).write(to: URL(fileURLWithPath: store.path))
        #expect(try Self.loaded(store) == state)
    }
}

/// The digest the supervisor compares instead of keeping a copy of the last state it wrote:
/// it changes with every member the file holds, and not with in-memory counters.
@Suite struct PersistedDigestTests {
    @Test func everyPersistedChangeChangesTheDigest() {
        let base = StateStoreTests.state(jobs: 50)
        let digest = base.persistedDigest
        #expect(StateStoreTests.state(jobs: 50).persistedDigest == digest, "equal states, equal digests")
        var changes: [(String, (inout WardenState) -> Void)] = [
            ("a job more", { $0.jobs["extra"] = JobRecord(jobName: "extra") }),
            ("a job less", { $0.jobs["job-7"] = nil }),
            ("a job id", { $0.jobs["job-3"]?.reconciler.adopted(jobID: "other") }),
            ("a pending create", { $0.jobs["job-4"]?.pendingCreate = nil }),
            (
                "a spec check",
                { $0.jobs["job-5"]?.specCheck = SpecCheck(jobID: "id-5", fingerprint: "f", differences: []) }
            ),
            ("a recovery counted", { $0.jobs["job-6"]?.reconciler.recoveries += 1 }),
            ("a reported-once marker", { _ = $0.jobs["job-8"]?.reconciler.mark(.drifted) }),
            ("the schema", { $0.schemaVersion = 1 }),
        ]
        changes.append(
            (
                "a renamed job",
                { state in
                    state.jobs["renamed"] = state.jobs.removeValue(forKey: "job-9")
                }
            ))
        for (what, change) in changes {
            var state = base
            change(&state)
            if state == base { continue }
            #expect(state.persistedDigest != digest, "\(what) left the digest unchanged")
        }
        // Swapping two records between names is a change too (the sum is over name and record).
        var swapped = base
        (swapped.jobs["job-1"], swapped.jobs["job-2"]) = (swapped.jobs["job-2"], swapped.jobs["job-1"])
        #expect(swapped.persistedDigest != digest)
    }
}
