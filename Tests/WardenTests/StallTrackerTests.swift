import Foundation
import PolarisAPI
import Testing

@testable import Warden

/// `StallTracker` and `StallSampler`: the pure stall and parse-error rules, clock passed in.
@Suite struct StallTrackerTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func totals(_ rows: Int64, skipped: Int64 = 0) -> IngestionJobTotals {
        IngestionJobTotals(
            numRowsProcessed: rows, numRowsProcessedWithWarning: 0, numRowsSkippedByError: skipped,
            numRowsSkippedByFilter: 0)
    }

    /// One step: seconds after start, rows, health ok?, and the events expected.
    struct Step: Sendable {
        var at: Double
        var rows: Int64
        var healthy = true
        var skipped: Int64 = 0
        var expect: [String] = []
    }

    static func run(_ steps: [Step], after: Double = 60, maxParseExceptions: Int64 = 100) -> [[String]] {
        var tracker = StallTracker(jobID: "j", now: start)
        return steps.map { step in
            tracker.sample(
                totals(step.rows, skipped: step.skipped), healthy: step.healthy,
                now: start.addingTimeInterval(step.at), afterSeconds: after, maxParseExceptions: maxParseExceptions
            ).map { event in
                switch event {
                case .stalled(let seconds, let total): "stalled \(seconds)s \(total)"
                case .cleared(let seconds, let total): "cleared \(seconds)s \(total)"
                case .parseErrors(let count, let limit, let critical):
                    "parse \(count)/\(limit)\(critical ? " err" : "")"
                }
            }
        }
    }

    @Test func growingRowsAreNeverAStall() {
        let steps = (0..<20).map { Step(at: Double($0) * 20, rows: Int64($0) * 100) }
        #expect(Self.run(steps).allSatisfy { $0.isEmpty })
    }

    @Test func rowsThatStopGrowingAreAStallOnceAfterTheThreshold() {
        let events = Self.run([
            Step(at: 0, rows: 100), Step(at: 20, rows: 200), Step(at: 40, rows: 200), Step(at: 60, rows: 200),
            Step(at: 79, rows: 200), Step(at: 80, rows: 200, expect: ["stalled 60s 200"]), Step(at: 100, rows: 200),
        ])
        #expect(events == [[], [], [], [], [], ["stalled 60s 200"], []])
    }

    @Test func growthAfterAStallClearsItOnce() {
        let events = Self.run([
            Step(at: 0, rows: 5), Step(at: 60, rows: 5), Step(at: 90, rows: 5), Step(at: 100, rows: 7),
            Step(at: 120, rows: 9),
        ])
        #expect(events == [[], ["stalled 60s 5"], [], ["cleared 40s 7"], []])
    }

    @Test func aJobWithAWarningOrErrorIsNotASilentStall() {
        let events = Self.run([
            Step(at: 0, rows: 5), Step(at: 70, rows: 5, healthy: false), Step(at: 80, rows: 5, healthy: true),
        ])
        #expect(events == [[], [], ["stalled 80s 5"]])
    }

    @Test func theFirstSampleStartsTheClockGraceForANewJob() {
        // A new job with zero rows is not stalled until afterSeconds past its first sample.
        let events = Self.run([Step(at: 30, rows: 0), Step(at: 60, rows: 0), Step(at: 90, rows: 0)])
        #expect(events == [[], [], ["stalled 60s 0"]], "60 s after the first sample, not after creation")
    }

    @Test func pauseRestartsTheClock() {
        var tracker = StallTracker(jobID: "j", now: Self.start)
        _ = tracker.sample(
            Self.totals(5), healthy: true, now: Self.start, afterSeconds: 60, maxParseExceptions: 100)
        tracker.pause(now: Self.start.addingTimeInterval(50))  // idle or resumed
        let later = tracker.sample(
            Self.totals(5), healthy: true, now: Self.start.addingTimeInterval(100), afterSeconds: 60,
            maxParseExceptions: 100)
        #expect(later.isEmpty, "the clock restarted at the pause")
        #expect(!tracker.isStalled)
    }

    @Test func parseErrorsWarnHourlyAndAsAnErrorPastEightyPercent() {
        let events = Self.run([
            Step(at: 0, rows: 10, skipped: 0), Step(at: 10, rows: 20, skipped: 5),
            Step(at: 20, rows: 30, skipped: 9), Step(at: 30, rows: 40, skipped: 81),
            Step(at: 40, rows: 50, skipped: 90), Step(at: 3700, rows: 60, skipped: 95),
            Step(at: 3710, rows: 70, skipped: 95),
        ])
        #expect(
            events == [
                [], ["parse 5/100"], [], ["parse 81/100 err"], [], ["parse 95/100 err"], [],
            ])
    }

    @Test func samplerPicksTheLeastRecentlySampledWithinTheBudget() {
        let t = { (seconds: Double) in Self.start.addingTimeInterval(seconds) }
        let candidates: [(name: String, lastSampledAt: Date?)] = [
            ("a", t(30)), ("b", nil), ("c", t(10)), ("d", t(10)), ("e", nil),
        ]
        #expect(StallSampler.leastRecentlySampled(candidates, budget: 3) == ["b", "e", "c"])
        #expect(StallSampler.leastRecentlySampled(candidates, budget: 10) == ["b", "e", "c", "d", "a"])
        #expect(StallSampler.leastRecentlySampled(candidates, budget: 0).isEmpty)
        // Rotating: sampled jobs go to the back, so five jobs at two a cycle are all read in 3 cycles.
        var times: [String: Date?] = ["a": nil, "b": nil, "c": nil, "d": nil, "e": nil]
        var seen: Set<String> = []
        for cycle in 0..<3 {
            let picked = StallSampler.leastRecentlySampled(times.map { ($0.key, $0.value) }, budget: 2)
            for name in picked { times[name] = t(Double(cycle)) }
            seen.formUnion(picked)
        }
        #expect(seen.count == 5)
    }

    @Test func budgetAndNeed() {
        #expect(StallSampler.budgetPerCycle(share: 0.2, maxRequestsPerSecond: 10, pollSeconds: 15) == 30)
        #expect(StallSampler.budgetPerCycle(share: 0.01, maxRequestsPerSecond: 1, pollSeconds: 1) == 1)
        // 1,000 jobs every 300 s at a 15 s poll: 50 reads per poll.
        #expect(StallSampler.neededPerCycle(jobs: 1000, afterSeconds: 900, pollSeconds: 15) == 50)
        #expect(StallSampler.neededPerCycle(jobs: 10, afterSeconds: 15, pollSeconds: 15) == 10)
    }
}
