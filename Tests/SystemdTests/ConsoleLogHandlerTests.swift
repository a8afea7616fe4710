import Logging
import Synchronization
import Testing

@testable import Systemd

@Suite struct ConsoleLogHandlerTests {
    func event(
        _ level: Logger.Level,
        _ message: Logger.Message,
        metadata: Logger.Metadata? = nil
    ) -> LogEvent {
        LogEvent(
            level: level, message: message, metadata: metadata, source: nil, file: "f.swift",
            function: "f()", line: 1)
    }

    @Test func readableLineWithEventAndSortedMetadata() {
        let handler = ConsoleLogHandler(label: "test")
        let line = handler.line(
            for: event(
                .warning,
                "wikipedia-kinesis: unhealthy for 3 cycles",
                metadata: [
                    "POLARIS_TABLE": "wikipedia-kinesis",
                    "POLARIS_JOB": "wikipedia-kinesis",
                    "MESSAGE_ID": "0123456789abcdef0123456789abcdef",
                    "EVENT": "job-unhealthy",
                ]
            ),
            timestamp: "2026-11-29T10:00:00Z"
        )
        #expect(
            line
                == "2026-11-29T10:00:00Z warning job-unhealthy wikipedia-kinesis: unhealthy for 3 cycles [POLARIS_JOB=wikipedia-kinesis POLARIS_TABLE=wikipedia-kinesis]"
        )
        #expect(!line.contains("0123456789abcdef"))
    }

    @Test func oneLinePerEventAndQuotedValues() {
        var handler = ConsoleLogHandler(label: "test")
        handler[metadataKey: "reason"] = "two words"
        let line = handler.line(for: event(.error, "first\nsecond"), timestamp: "T")
        #expect(line == "T error first\\nsecond [reason=\"two words\"]")
        #expect(
            handler.line(for: event(.info, "plain"), timestamp: "T")
                == "T info plain [reason=\"two words\"]")
        let bare = ConsoleLogHandler(label: "test")
        #expect(bare.line(for: event(.info, "plain"), timestamp: "T") == "T info plain")
    }

    @Test(arguments: [
        (0, "1970-01-01T00:00:00Z"),
        (1_795_946_400, "2026-11-29T10:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
    ])
    func utcTimestamps(seconds: Int, expected: String) {
        #expect(ConsoleLogHandler.timestamp(secondsSinceEpoch: seconds) == expected)
    }

    @Test func logWritesOneTerminatedLineToTheOutput() {
        let lines = Mutex<[String]>([])
        let handler = ConsoleLogHandler(label: "test") { text in lines.withLock { $0.append(text) } }
        var logger = Logger(label: "test", factory: { _ in handler })
        logger.logLevel = .debug
        logger.notice("hello", metadata: ["k": "v"])
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        #expect(written.first?.hasSuffix(" notice hello [k=v]\n") == true)
        #expect(written.first?.first == "2")
    }
}
