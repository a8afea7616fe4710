import Logging
import Testing

@testable import Systemd

@Suite struct JournalLogHandlerFieldTests {
    func event(
        _ level: Logger.Level = .info,
        _ message: Logger.Message = "hello",
        metadata: Logger.Metadata? = nil,
        error: (any Error)? = nil
    ) -> LogEvent {
        LogEvent(
            level: level,
            message: message,
            error: error,
            metadata: metadata,
            source: "Tests",
            file: "SystemdTests/JournalLogHandlerFieldTests.swift",
            function: "test()",
            line: 42
        )
    }

    func dictionary(_ fields: [(String, String)]) -> [String: [String]] {
        fields.reduce(into: [:]) { $0[$1.0, default: []].append($1.1) }
    }

    @Test(arguments: [
        (Logger.Level.trace, "7"), (.debug, "7"), (.info, "6"), (.notice, "5"),
        (.warning, "4"), (.error, "3"), (.critical, "2"),
    ])
    func priorityPerLevel(level: Logger.Level, priority: String) {
        let handler = JournalLogHandler(label: "test")
        let fields = dictionary(handler.fields(for: event(level)))
        #expect(fields["PRIORITY"] == [priority])
    }

    @Test func standardFieldsComeFirstInOrder() {
        let handler = JournalLogHandler(label: "test", syslogIdentifier: "pw-test")
        let fields = handler.fields(for: event(.warning, "line one\nline two"))
        #expect(
            fields.map(\.0) == [
                "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC",
            ])
        #expect(
            fields.map(\.1) == [
                "line one\nline two", "4", "pw-test", "SystemdTests/JournalLogHandlerFieldTests.swift",
                "42", "test()",
            ])
        #expect(JournalLogHandler(label: "x").syslogIdentifier == "polaris-warden")
    }

    @Test func metadataIsMergedEscapedAndSorted() {
        var handler = JournalLogHandler(label: "test")
        handler[metadataKey: "polaris.job"] = "from-handler"
        handler[metadataKey: "warden.instance"] = "a"
        let fields = handler.fields(
            for: event(
                metadata: [
                    "polaris.job": "orders",  // per-call wins
                    "MESSAGE_ID": "0123456789abcdef0123456789abcdef",
                    "UNIT": "evil.service",
                    "_SYSTEMD_UNIT": "evil.service",
                    "message": "forged",
                    "attempt": .stringConvertible(3),
                    "tables": ["a", "b"],
                    "health": ["status": "error", "code": "lost_connection"],
                ]
            )
        )
        let map = dictionary(fields)
        #expect(map["POLARIS_JOB"] == ["orders"])
        #expect(map["WARDEN_INSTANCE"] == ["a"])
        #expect(map["MESSAGE_ID"] == ["0123456789abcdef0123456789abcdef"])
        #expect(map["META_UNIT"] == ["evil.service"])
        #expect(map["X__SYSTEMD_UNIT"] == ["evil.service"])
        #expect(map["META_MESSAGE"] == ["forged"])
        #expect(map["MESSAGE"] == ["hello"])
        #expect(map["ATTEMPT"] == ["3"])
        #expect(map["TABLES"] == ["[a, b]"])
        #expect(map["HEALTH"] == ["{code: lost_connection, status: error}"])
        #expect(map["UNIT"] == nil)
        #expect(!fields.contains { $0.0.hasPrefix("_") })
        #expect(fields.allSatisfy { JournalFieldName.isValid($0.0) })
        let custom = fields.map(\.0).drop { $0 != "MESSAGE_ID" }.dropFirst()
        #expect(Array(custom) == custom.sorted())
    }

    @Test func metadataProviderIsMergedUnderHandlerAndCallMetadata() {
        var handler = JournalLogHandler(
            label: "test",
            metadataProvider: .init { ["trace.id": "t1", "polaris.job": "provider"] }
        )
        handler.metadata = ["polaris.job": "handler"]
        let map = dictionary(handler.fields(for: event()))
        #expect(map["TRACE_ID"] == ["t1"])
        #expect(map["POLARIS_JOB"] == ["handler"])
    }

    struct SampleError: Error, CustomStringConvertible {
        var description: String { "boom" }
    }

    @Test func errorBecomesAnErrorField() {
        let handler = JournalLogHandler(label: "test")
        #expect(dictionary(handler.fields(for: event(error: SampleError())))["ERROR"] == ["boom"])
        let both = dictionary(
            handler.fields(for: event(metadata: ["error": "explicit"], error: SampleError())))
        #expect(both["ERROR"] == ["explicit"])
    }

    @Test func sendReturnsWithoutJournald() {
        // Without journald listening sd_journal_sendv may fail or succeed; it must not crash.
        _ = JournalLogHandler.send([("MESSAGE", "x")])
        #expect(JournalLogHandler.send([]) == 0)
    }
}
