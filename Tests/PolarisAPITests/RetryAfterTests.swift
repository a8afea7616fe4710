import Testing

@testable import PolarisAPI

/// `Retry-After` (RFC 9110 §10.2.3): the client's reading and the emulator's writing are one type.
@Suite struct RetryAfterTests {
    @Test func delaySecondsAreReadAsTheWait() {
        #expect(RetryAfter.delay(from: "120", now: 0) == .seconds(120))
        #expect(RetryAfter.delay(from: " 0 ", now: 0) == .zero)
        #expect(RetryAfter(headerValue: "120") == .seconds(120))
    }

    @Test func anHTTPDateIsReadRelativeToNow() {
        // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
        #expect(RetryAfter.delay(from: "Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_770) == .milliseconds(7000))
        #expect(RetryAfter.delay(from: "Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_776.5) == .milliseconds(500))
        // A date in the past asks for no wait.
        #expect(RetryAfter.delay(from: "Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_800) == .zero)
        #expect(
            RetryAfter(headerValue: "Sun, 06 Nov 1994 08:49:37 GMT") == .date(PolarisTimestamp(seconds: 784_111_777)))
    }

    @Test(arguments: [
        "soon", "-5", "", " ", "1.5", "12s",
        "Sun, 06 Nov 1994 08:49:37",  // no zone
        "Sun, 06 Nov 1994 08:49:37 UTC",  // only GMT
        "Sun 06 Nov 1994 08:49:37 GMT",  // no comma
        "Sun, 06 Foo 1994 08:49:37 GMT",  // no such month
        "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",  // RFC 850: obsolete, not accepted
        "Sun Nov  6 08:49:37 1994",  // asctime: obsolete, not accepted
    ])
    func badValuesAreRefused(value: String) {
        #expect(RetryAfter(headerValue: value) == nil)
        #expect(RetryAfter.delay(from: value, now: 0) == nil)
    }

    @Test(arguments: [
        (Int64(1_445_412_480), "Wed, 21 Oct 2015 07:28:00 GMT"), (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"), (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (-1, "Wed, 31 Dec 1969 23:59:59 GMT"), (4_102_444_799, "Thu, 31 Dec 2099 23:59:59 GMT"),
    ])
    func datesAreWrittenAsIMFFixdateAndReadBack(seconds: Int64, text: String) {
        let value = RetryAfter.date(PolarisTimestamp(seconds: seconds))
        #expect(value.headerValue == text)
        #expect(RetryAfter(headerValue: text) == value)
    }

    @Test func secondsAreWrittenAsTheyAreAndReadBack() {
        #expect(RetryAfter.seconds(120).headerValue == "120")
        #expect(RetryAfter(headerValue: RetryAfter.seconds(0).headerValue) == .seconds(0))
    }

    @Test func everyDayOfFourHundredYearsRoundTripsWithTheNextWeekday() {
        // One Gregorian cycle (400 years), every day: weekdays, months, leap years.
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        var mismatches: [String] = []
        for day in Int64(0)..<146_097 {
            // Mon, 01 Jan 1900, then each day at another time of day.
            let seconds = -2_208_988_800 + day * 86_400 + day * 7_919 % 86_400
            let text = RetryAfter.date(PolarisTimestamp(seconds: seconds)).headerValue
            if RetryAfter.parseIMFFixdate(text) != seconds || !text.hasPrefix(weekdays[Int((1 + day) % 7)] + ", ") {
                mismatches.append("\(seconds): \(text)")
            }
        }
        #expect(mismatches.isEmpty)
    }
}
