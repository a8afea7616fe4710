import PolarisAPI
import Testing

/// The token bucket, measured at the moment each caller is let through. A busy machine can
/// only wake sleepers late, which spreads grants further: the bounds below hold under load.
@Suite struct RateLimiterTests {
    @Test func grantsNeverExceedBurstPlusRatePerSecond() async throws {
        let limiter = RateLimiter(ratePerSecond: 10)
        let clock = ContinuousClock()
        let start = clock.now
        let grants = try await withThrowingTaskGroup(of: Double.self) { group in
            for _ in 0..<30 {
                group.addTask {
                    try await limiter.acquire()
                    let elapsed = clock.now - start
                    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }.sorted()
        }
        #expect(grants.count == 30)
        for (index, first) in grants.enumerated() {
            let inWindow = grants[index...].prefix { $0 < first + 1.0 }.count
            #expect(inWindow <= 20, "\(inWindow) grants within 1 s of \(first)")
        }
        // 10 immediately, then 20 more at 10/s.
        #expect(grants.last! >= 1.9)
    }

    @Test func idleTimeRefillsTheBucketUpToTheBurstOnly() async throws {
        let limiter = RateLimiter(ratePerSecond: 50, burst: 5)
        for _ in 0..<5 { try await limiter.acquire() }
        #expect(await limiter.waits == 0)
        try await Task.sleep(for: .milliseconds(300))  // would be 15 tokens without the cap
        for _ in 0..<6 { try await limiter.acquire() }
        #expect(await limiter.waits == 1)
    }
}
