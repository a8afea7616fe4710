import Testing

@testable import WardenPlatform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite struct ClockTests {
    @Test func wallInstantKeepsTheUnixEpochAndSubSecondPrecision() {
        let instant = WallInstant(secondsSince1970: 1_767_225_600.25)
        #expect(instant.date.timeIntervalSince1970 == 1_767_225_600.25)
        #expect(instant.advanced(by: .milliseconds(750)).secondsSince1970 == 1_767_225_601)
        #expect(instant.duration(to: instant.advanced(by: .seconds(3))) == .seconds(3))
    }

    @Test func systemClockIsNearTheSystemRealTimeClockAndNeverGoesBack() {
        let clock = SystemClock()
        let first = clock.now
        let second = clock.now
        #expect(first <= second)
        #expect(abs(first.secondsSince1970 - Date().timeIntervalSince1970) < 5)
    }

    @Test func manualClockWakesSleepersOnlyWhenTimeReachesTheirDeadline() async throws {
        let clock = ManualClock()
        let start = clock.now
        let task = Task { try await clock.sleep(until: start.advanced(by: .seconds(30))) }
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(29))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        try await task.value
        #expect(clock.sleeperCount == 0)
        #expect(clock.now == start.advanced(by: .seconds(30)))
    }

    @Test func manualClockWakesSleepersInDeadlineOrder() async throws {
        let clock = ManualClock()
        let order = OrderLog()
        let start = clock.now
        let late = Task {
            try await clock.sleep(until: start.advanced(by: .seconds(20)))
            await order.append("late")
        }
        let early = Task {
            try await clock.sleep(until: start.advanced(by: .seconds(10)))
            await order.append("early")
        }
        #expect(await clock.waitForSleepers(2))
        clock.advance(by: .seconds(10))
        try await early.value
        clock.advance(by: .seconds(10))
        try await late.value
        #expect(await order.entries == ["early", "late"])
    }

    @Test func cancellingASleeperOnTheManualClockThrowsCancellation() async {
        let clock = ManualClock()
        let task = Task { try await clock.sleep(for: .seconds(60)) }
        #expect(await clock.waitForSleepers(1))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test func sleepingUntilAPastDeadlineReturnsAtOnce() async throws {
        let clock = ManualClock()
        try await clock.sleep(until: clock.now.advanced(by: .seconds(-1)))
        #expect(clock.sleeperCount == 0)
    }
}

private actor OrderLog {
    var entries: [String] = []
    func append(_ entry: String) { entries.append(entry) }
}
