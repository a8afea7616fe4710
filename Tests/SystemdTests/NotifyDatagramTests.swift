import Testing

@testable import Systemd

@Suite struct NotifyDatagramTests {
    @Test func readyWithStatusIsOneDatagram() {
        #expect(
            SystemdNotifier.datagram([.ready, .status("12 jobs: 12 running; API ok")])
                == "READY=1\nSTATUS=12 jobs: 12 running; API ok")
    }

    @Test(arguments: [
        (NotifyMessage.ready, "READY=1"),
        (.reloading, "RELOADING=1"),
        (.monotonicMicroseconds(123_456_789), "MONOTONIC_USEC=123456789"),
        (.stopping, "STOPPING=1"),
        (.watchdog, "WATCHDOG=1"),
        (.watchdogTrigger, "WATCHDOG=trigger"),
        (.extendTimeout(microseconds: 30_000_000), "EXTEND_TIMEOUT_USEC=30000000"),
        (.errno(78), "ERRNO=78"),
        (.status("ok"), "STATUS=ok"),
    ])
    func eachMessageLine(message: NotifyMessage, line: String) {
        #expect(message.line == line)
        #expect(SystemdNotifier.datagram([message]) == line)
    }

    @Test(arguments: [
        ("plain", "plain"),
        ("two\nlines", "two lines"),
        ("crlf\r\nand\ttab", "crlf and tab"),
        ("runs \n\n\t  of\u{0}\u{7}blanks", "runs of blanks"),
        ("  trimmed  \n", "trimmed"),
        ("line\u{2028}separator\u{85}next", "line separator next"),
        ("", ""),
        ("\n\n", ""),
    ])
    func statusIsSanitisedToOneLine(input: String, expected: String) {
        #expect(SystemdNotifier.sanitizeStatus(input) == expected)
    }

    @Test func longStatusIsCutOnACharacterBoundaryWithEllipsis() {
        let ascii = String(repeating: "a", count: 500)
        let cut = SystemdNotifier.sanitizeStatus(ascii)
        #expect(cut.utf8.count == SystemdNotifier.maximumStatusBytes)
        #expect(cut.hasSuffix("…"))
        #expect(cut == String(repeating: "a", count: 197) + "…")

        // 4-byte emoji and a combining sequence must never be split.
        let emoji = String(repeating: "🚀", count: 100)
        let emojiCut = SystemdNotifier.sanitizeStatus(emoji)
        #expect(emojiCut.utf8.count <= SystemdNotifier.maximumStatusBytes)
        #expect(emojiCut == String(repeating: "🚀", count: 49) + "…")
        let accents = String(repeating: "e\u{301}", count: 150)
        let accentsCut = SystemdNotifier.sanitizeStatus(accents)
        #expect(accentsCut.utf8.count <= SystemdNotifier.maximumStatusBytes)
        #expect(accentsCut.dropLast().allSatisfy { $0 == "e\u{301}" })

        let exactly = String(repeating: "b", count: 200)
        #expect(SystemdNotifier.sanitizeStatus(exactly) == exactly)
    }

    @Test func disabledNotifierSendsNothing() {
        let notifier = SystemdNotifier(enabled: false)
        #expect(!notifier.isEnabled)
        #expect(!notifier.ready(status: "x"))
        #expect(!notifier.watchdogPing())
    }

    @Test func monotonicClockIsMonotonicMicroseconds() {
        let first = SystemdNotifier.monotonicMicroseconds()
        let second = SystemdNotifier.monotonicMicroseconds()
        #expect(first > 0)
        #expect(second >= first)
        #expect(second - first < 1_000_000)
    }
}
