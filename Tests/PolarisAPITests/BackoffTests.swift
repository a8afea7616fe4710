import Testing

@testable import PolarisAPI

/// A deterministic random source (a Weyl sequence): two copies with one seed give one sequence.
private struct CountingRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return state
    }
}

/// The one backoff formula: min(cap, initial × factor^(n−1)), full jitter over 0...ceiling.
@Suite struct BackoffTests {
    @Test(arguments: [(1, 5.0), (2, 10), (3, 20), (4, 40), (5, 80), (6, 160), (7, 300), (8, 300), (64, 300), (0, 0)])
    func theCrashLoopCeilingDoublesUpToTheCap(attempt: Int, ceiling: Double) {
        #expect(Backoff(initialSeconds: 5, capSeconds: 300).ceiling(attempt: attempt) == ceiling)
    }

    @Test(arguments: [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (5, 3.2), (6, 6.4), (7, 10), (30, 10), (-1, 0)])
    func theClientCeilingDoublesUpToTheCap(attempt: Int, ceiling: Double) {
        #expect(Backoff(initial: .milliseconds(200), cap: .seconds(10)).ceiling(attempt: attempt) == ceiling)
    }

    @Test func otherFactorsAndOddSettings() {
        #expect(Backoff(initialSeconds: 1, capSeconds: 100, factor: 3).ceiling(attempt: 4) == 27)
        #expect(Backoff(initialSeconds: 1, capSeconds: 100, factor: 3).ceiling(attempt: 6) == 100)
        // An attempt count far past the cap neither overflows nor loops for long.
        #expect(Backoff(initialSeconds: 5, capSeconds: 300).ceiling(attempt: .max) == 300)
        // Nothing to back off from, or a cap below the start.
        #expect(Backoff(initialSeconds: 0, capSeconds: 300).ceiling(attempt: 9) == 0)
        #expect(Backoff(initialSeconds: -1, capSeconds: 300).ceiling(attempt: 1) == 0)
        #expect(Backoff(initialSeconds: 5, capSeconds: 2).ceiling(attempt: 1) == 2)
        #expect(Backoff(initialSeconds: 5, capSeconds: -2).ceiling(attempt: 3) == 0)
    }

    @Test func theDelayIsUniformOverZeroToTheCeiling() {
        let backoff = Backoff(initialSeconds: 0.7, capSeconds: 45)
        var random = SystemRandomNumberGenerator()
        for attempt in 1...10 {
            let ceiling = backoff.ceiling(attempt: attempt)
            let samples = (0..<500).map { _ in backoff.delay(attempt: attempt, using: &random) }
            #expect(samples.allSatisfy { $0 >= 0 && $0 <= ceiling })
            // Full jitter: the whole range is used, not a fixed delay.
            #expect(samples.min()! < ceiling * 0.1)
            #expect(samples.max()! > ceiling * 0.9)
        }
        #expect(backoff.delay(attempt: 0, using: &random) == 0)
    }

    @Test func retryPolicyDelaysAreTheBackoffsCappedAtMaxDelay() {
        let policy = RetryPolicy(maxAttempts: 10, initialDelay: .milliseconds(100), maxDelay: .seconds(2))
        #expect(policy.backoff == Backoff(initialSeconds: 0.1, capSeconds: 2))
        for seed: UInt64 in [0, 1 << 40, 1 << 63, .max] {
            for attempt in 1...10 {
                var forPolicy = CountingRandom(state: seed)
                var forBackoff = CountingRandom(state: seed)
                let expected = min(
                    Duration.seconds(2), .seconds(policy.backoff.delay(attempt: attempt, using: &forBackoff)))
                #expect(policy.delay(afterAttempt: attempt, retryAfter: nil, using: &forPolicy) == expected)
            }
        }
    }
}
