import Foundation
import PolarisAPI
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2023-09-12T23:17:39Z", 1_694_560_659, 0),
        ("2023-09-12T23:17:39.1Z", 1_694_560_659, 100_000_000),
        ("2023-09-12T23:17:39.142369067Z", 1_694_560_659, 142_369_067),
        ("2023-09-12T23:17:39.1423690679Z", 1_694_560_659, 142_369_067),
        ("2023-09-13T01:17:39.5+02:00", 1_694_560_659, 500_000_000),
        ("1970-01-01T00:00:00Z", 0, 0),
    ])
    func parses(text: String, seconds: Int64, nanoseconds: Int32) throws {
        let timestamp = try #require(PolarisTimestamp(text))
        #expect(timestamp.seconds == seconds)
        #expect(timestamp.nanoseconds == nanoseconds)
        #expect(timestamp.text == text)
    }

    @Test(arguments: [
        "", "2023-09-12", "2023-09-12T23:17:39", "2023-13-12T23:17:39Z", "2023-09-12T23:17:39.Z",
        "x2023-09-12T23:17:39Z",
    ])
    func rejects(text: String) {
        #expect(PolarisTimestamp(text) == nil)
    }

    @Test func ordersWithoutLossAtNanosecondResolution() throws {
        let earlier = try #require(PolarisTimestamp("2023-09-12T23:17:39.142369067Z"))
        let later = try #require(PolarisTimestamp("2023-09-12T23:17:39.142369068Z"))
        #expect(earlier < later)
        #expect(earlier.date.timeIntervalSince1970 == later.date.timeIntervalSince1970 || earlier.date < later.date)
    }

    @Test func formatsRoundTrip() throws {
        let value = PolarisTimestamp(seconds: 1_694_560_659, nanoseconds: 142_369_067)
        #expect(value.text == "2023-09-12T23:17:39.142369067Z")
        #expect(PolarisTimestamp(value.text) == value)
        #expect(PolarisTimestamp(seconds: 951_782_400).text == "2000-02-29T00:00:00Z")
    }
}
