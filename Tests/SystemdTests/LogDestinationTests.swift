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
