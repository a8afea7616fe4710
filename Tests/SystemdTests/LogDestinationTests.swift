import Glibc
import Logging
import Testing

@testable import Systemd

@Suite struct LogDestinationTests {
    @Test func journalStreamMatchesDeviceAndInode() {
        #expect(LogDestination.journalStream("8:1234", matchesDevice: 8, inode: 1234))
        #expect(!LogDestination.journalStream("8:1235", matchesDevice: 8, inode: 1234))
        #expect(!LogDestination.journalStream("9:1234", matchesDevice: 8, inode: 1234))
        #expect(!LogDestination.journalStream("", matchesDevice: 8, inode: 1234))
        #expect(!LogDestination.journalStream("8:1234:5", matchesDevice: 8, inode: 1234))
        #expect(!LogDestination.journalStream("x:y", matchesDevice: 8, inode: 1234))
    }

    @Test func forcedDestinationsPickTheirHandler() {
        #expect(LogDestination.journal.resolved() == .journal)
        #expect(LogDestination.console.resolved() == .console)
        #expect(LogDestination.journal.makeHandler(label: "x", logLevel: .debug) is JournalLogHandler)
        #expect(LogDestination.journal.makeHandler(label: "x", logLevel: .debug).logLevel == .debug)
        #expect(LogDestination.console.makeHandler(label: "x") is ConsoleLogHandler)
        #expect(LogDestination(rawValue: "auto") == .automatic)
    }

    /// What `polaris-warden@NAME.service` relies on: handler metadata (`WARDEN_INSTANCE`) is in
    /// every entry, whatever the event's own metadata, and an event cannot drop it.
    @Test func handlerMetadataIsInEveryJournalEntry() throws {
        let handler = try #require(
            LogDestination.journal.makeHandler(label: "x", metadata: ["WARDEN_INSTANCE": "project-a"])
                as? JournalLogHandler)
        let event = LogEvent(
            level: .critical, message: "gave up", error: nil,
            metadata: ["EVENT": "job-gave-up", "POLARIS_JOB": "orders"], source: "Tests", file: "f", function: "g",
            line: 1)
        let fields = handler.fields(for: event)
        #expect(fields.filter { $0.0 == "WARDEN_INSTANCE" }.map(\.1) == ["project-a"])
        #expect(fields.contains { $0 == ("POLARIS_JOB", "orders") })
        let plain = try #require(LogDestination.journal.makeHandler(label: "x") as? JournalLogHandler)
        #expect(!plain.fields(for: event).contains { $0.0 == "WARDEN_INSTANCE" })
        #expect(
            LogDestination.console.makeHandler(label: "x", metadata: ["WARDEN_INSTANCE": "b"]).metadata == [
                "WARDEN_INSTANCE": "b"
            ])
    }
}

extension ProcessEnvironmentTests {
    @Suite struct LogDestinationEnvironmentTests {
        @Test func automaticFollowsJournalStreamAgainstStderr() {
            var status = stat()
            #expect(fstat(STDERR_FILENO, &status) == 0)
            let matching = "\(status.st_dev):\(status.st_ino)"
            withEnvironment(["JOURNAL_STREAM": matching]) {
                #expect(LogDestination.standardErrorIsJournal())
                #expect(LogDestination.automatic.resolved() == .journal)
            }
            withEnvironment(["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino + 1)"]) {
                #expect(LogDestination.automatic.resolved() == .console)
            }
            withEnvironment(["JOURNAL_STREAM": nil]) {
                #expect(LogDestination.automatic.resolved() == .console)
            }
        }
    }
}
