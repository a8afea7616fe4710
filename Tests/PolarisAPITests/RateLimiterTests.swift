import PolarisAPI
import Synchronization
import Testing
import WardenPlatform

/// Runs `count` concurrent acquires in the background; `granted` counts those let through.
final class LimiterCallers: Sendable {
    private final class Count: Sendable {
        let value = Mutex(0)
    }

    private let count = Count()
    let task: Task<Void, any Error>

    var granted: Int { count.value.withLock { $0 } }

    init(_ limiter: RateLimiter, count callers: Int) {
        let count = self.count
        task = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<callers {
                    group.addTask {
                        try await limiter.acquire()
                        count.value.withLock { $0 += 1 }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}

/// The token bucket on a `ManualClock`: time moves only when the test says, so every bound is
/// exact and nothing depends on how busy the machine is.
@Suite struct RateLimiterTests {
    @Test func grantsNeverExceedBurstPlusRatePerSecond() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(ratePerSecond: 10, clock: clock)
        let callers = LimiterCallers(limiter, count: 30)
        // 10 from the burst at once; 20 reserved a slot and sleep until it comes.
        #expect(await clock.waitForSleepers(20))
        #expect(await limiter.waits == 20)
        #expect(await limiter.totalWait == .seconds(21), "0.1 s + 0.2 s + … + 2.0 s")
        // One second later exactly 10 more were let through (20 in the first second), one per 0.1 s.
        for step in 1...10 {
            clock.advance(by: .milliseconds(99))
            #expect(clock.sleeperCount == 21 - step, "nobody early at \(step)")
            clock.advance(by: .milliseconds(1))
            #expect(clock.sleeperCount == 20 - step, "one more at \(step) × 100 ms")
        }
        // The last one needs the full 2 s: 30 grants cannot happen in under 2 s at 10/s.
        clock.advance(by: .milliseconds(999))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .milliseconds(1))
        #expect(clock.sleeperCount == 0)
        try await callers.task.value
        #expect(callers.granted == 30)
    }

    @Test func aBurstGoesThroughThenTheNextAcquireWaitsExactlyTheRefillTime() async throws {
        let (clock, limiter) = try await Self.limiterWithBurstTaken()
        #expect(clock.sleeperCount == 0, "the burst never sleeps")

        let sixth = await Self.oneMoreWaits(limiter, clock)
        #expect(await limiter.totalWait == .milliseconds(20), "one token at 50/s")
        clock.advance(by: .milliseconds(19))
        #expect(clock.sleeperCount == 1)
        #expect(sixth.granted == 0)
        clock.advance(by: .milliseconds(1))
        try await sixth.task.value
        #expect(sixth.granted == 1)
    }

    @Test func idleTimeRefillsTheBucketUpToTheBurstOnly() async throws {
        let (clock, limiter) = try await Self.limiterWithBurstTaken()
        clock.advance(by: .milliseconds(300))  // would be 15 tokens without the cap
        try await Self.takeBurst(limiter)
        let sixth = await Self.oneMoreWaits(
            limiter, clock, "the sixth after the idle time waits: the bucket held 5, not 15")
        clock.advance(by: .milliseconds(20))
        try await sixth.task.value
    }

    // MARK: Helpers

    /// A limiter at 50/s with a burst of 5 on a `ManualClock`, its burst already taken.
    /// A stopped process (SIGSTOP, a paused VM) wakes every waiter at once, long after its slot:
    /// those late waiters book again, so they share the refilled burst with new callers instead
    /// of going on top of it (before: 3 late + 5 new = 8 sent at once against a burst of 5).
    @Test func waitersWokenLongAfterTheirSlotBookAgainInsteadOfAddingToTheBurst() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(ratePerSecond: 5, clock: clock)
        for _ in 0..<5 { try await limiter.acquire() }
        let late = LimiterCallers(limiter, count: 3)
        #expect(await clock.waitForSleepers(3), "slots at 0.2, 0.4 and 0.6 s")
        clock.advance(by: .seconds(10))
        let fresh = LimiterCallers(limiter, count: 5)
        // 8 want to go; the bucket holds 5 after the pause: 3 sleep again.
        #expect(await clock.waitForSleepers(3))
        #expect(late.granted + fresh.granted == 5, "late \(late.granted), fresh \(fresh.granted)")
        clock.advance(by: .milliseconds(600))
        try await late.task.value
        try await fresh.task.value
        #expect(late.granted + fresh.granted == 8)
    }

    static func limiterWithBurstTaken(
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (ManualClock, RateLimiter) {
        let clock = ManualClock()
        let limiter = RateLimiter(ratePerSecond: 50, burst: 5, clock: clock)
        try await takeBurst(limiter, sourceLocation: sourceLocation)
        return (clock, limiter)
    }

    /// Acquires five tokens (the burst) and expects that none of them waited.
    static func takeBurst(_ limiter: RateLimiter, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<5 { try await limiter.acquire() }
        #expect(await limiter.waits == 0, sourceLocation: sourceLocation)
    }

    /// Starts one more caller and expects it to sleep: the limiter's first wait.
    static func oneMoreWaits(
        _ limiter: RateLimiter, _ clock: ManualClock, _ comment: Comment? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> LimiterCallers {
        let caller = LimiterCallers(limiter, count: 1)
        #expect(await clock.waitForSleepers(1), comment, sourceLocation: sourceLocation)
        #expect(await limiter.waits == 1, sourceLocation: sourceLocation)
        return caller
    }
}
