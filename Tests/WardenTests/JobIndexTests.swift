import Testing

@testable import PolarisAPI
@testable import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Delta polling's pure part: what a sweep and a delta read leave in the picture, where the
/// walk may stop, and when a sweep is due.
@Suite struct JobIndexTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func job(
        _ id: String, _ status: ExecutionStatus = .running, health: JobHealth = .ok, updated seconds: Int64
    ) -> Job {
        Job(
            id: id, type: "streaming", executionStatus: status, health: health,
            createdTimestamp: PolarisTimestamp(seconds: 1_700_000_000),
            lastUpdatedTimestamp: PolarisTimestamp(seconds: 1_700_000_000 + seconds))
    }

    @Test func aSweepReplacesThePictureAndSetsTheWatermark() {
        var index = JobIndex()
        index.absorbSweep([Self.job("a", updated: 5), Self.job("b", updated: 9)], at: Self.start)
        index.absorbSweep([Self.job("b", updated: 9), Self.job("c", updated: 3)], at: Self.start)
        #expect(index.jobs.map(\.id) == ["b", "c"])
        #expect(index.watermark == PolarisTimestamp(seconds: 1_700_000_009))
    }

    @Test func theWalkStopsBelowTheWatermarkLessTheMarginWhileItIsFresh() {
        var index = JobIndex()
        index.absorbSweep([Self.job("a", updated: 100)], at: Self.start)
        let now = Self.start.addingTimeInterval(1)
        #expect(!index.isSettled(Self.job("x", updated: 101), now: now))
        #expect(!index.isSettled(Self.job("x", updated: 100), now: now))
        // Within the margin (2 s): read again rather than trust the order.
        #expect(!index.isSettled(Self.job("x", updated: 99), now: now))
        #expect(index.isSettled(Self.job("x", updated: 97), now: now))
    }

    /// A quiet period after a burst (1,000 jobs updated within a second) must not re-read the
    /// burst every cycle: once the margin has passed, only the newest instant is read again.
    @Test func onceTheMarginHasPassedOnlyTheNewestInstantIsReadAgain() {
        var index = JobIndex()
        index.absorbSweep([Self.job("a", updated: 100)], at: Self.start)
        let later = Self.start.addingTimeInterval(30)
        #expect(!index.isSettled(Self.job("x", updated: 100), now: later))
        #expect(index.isSettled(Self.job("x", updated: 99), now: later))
        // A newer update makes the margin apply again.
        index.absorbDelta(changed: [Self.job("b", updated: 200)], unhealthy: [], at: later)
        #expect(!index.isSettled(Self.job("x", updated: 199), now: later))
    }

    @Test func aJobReadTwiceInOneWalkKeepsItsNewestVersion() {
        var index = JobIndex()
        index.absorbSweep([Self.job("a", updated: 1), Self.job("b", updated: 2)], at: Self.start)
        // Newest first, as the list sorted by last update returns them; "a" moved between pages.
        let changed = [Self.job("a", .failed, updated: 20), Self.job("b", updated: 10), Self.job("a", updated: 5)]
        index.absorbDelta(changed: changed, unhealthy: [], at: Self.start)
        #expect(index.jobs.map(\.id) == ["a", "b"])
        #expect(index.jobs.first?.executionStatus == .failed)
        #expect(index.watermark == PolarisTimestamp(seconds: 1_700_000_020))
    }

    @Test func anOlderVersionNeverOverwritesANewerOne() {
        var index = JobIndex()
        index.absorbSweep([Self.job("a", .failed, updated: 20)], at: Self.start)
        index.absorbDelta(changed: [Self.job("a", .running, updated: 10)], unhealthy: [], at: Self.start)
        #expect(index.jobs.first?.executionStatus == .failed)
    }

    @Test func aNewJobIsAppendedAndKept() {
        var index = JobIndex()
        index.absorbSweep([Self.job("a", updated: 1)], at: Self.start)
        index.absorbDelta(changed: [Self.job("n", updated: 30)], unhealthy: [], at: Self.start)
        #expect(index.jobs.map(\.id) == ["a", "n"])
    }

    /// Health can change without a new `lastUpdatedTimestamp` (undocumented): the unhealthy
    /// subset says who is warn/error now, and whoever left it is ok.
    @Test func theUnhealthySubsetSetsHealthEvenWithoutAnUpdateTime() {
        var index = JobIndex()
        let error = JobHealth(status: .error, code: "internal_error")
        index.absorbSweep([Self.job("a", updated: 1), Self.job("b", health: error, updated: 1)], at: Self.start)
        index.absorbDelta(changed: [], unhealthy: [Self.job("a", health: error, updated: 1)], at: Self.start)
        #expect(index.jobs.map(\.health.status) == [.error, .ok])
    }

    @Test func aSweepIsDueAtStartAfterAnErrorAfterAGapAndOnSchedule() {
        var index = JobIndex()
        let poll = 30.0
        #expect(index.sweepDue(now: Self.start, pollInterval: poll) == .start)
        index.absorbSweep([Self.job("a", updated: 1)], at: Self.start)
        #expect(index.sweepDue(now: Self.start.addingTimeInterval(poll), pollInterval: poll) == nil)
        index.invalidate()
        #expect(index.sweepDue(now: Self.start.addingTimeInterval(poll), pollInterval: poll) == .afterError)
        index.absorbSweep([Self.job("a", updated: 1)], at: Self.start)
        #expect(index.sweepDue(now: Self.start.addingTimeInterval(4 * poll), pollInterval: poll) == .gap)
        var steady = index
        for cycle in 1..<10 {
            let now = Self.start.addingTimeInterval(Double(cycle) * poll)
            #expect(steady.sweepDue(now: now, pollInterval: poll) == nil, "cycle \(cycle)")
            steady.absorbDelta(changed: [], unhealthy: [], at: now)
        }
        #expect(steady.sweepDue(now: Self.start.addingTimeInterval(10 * poll), pollInterval: poll) == .schedule)
    }

    @Test func jobsWithoutUpdateTimesMakeEveryReadASweep() {
        var index = JobIndex()
        let bare = Job(id: "a", type: "streaming", executionStatus: .running)
        index.absorbSweep([bare], at: Self.start)
        #expect(index.sweepDue(now: Self.start.addingTimeInterval(1), pollInterval: 30) == .noTimestamps)
    }

    /// The picture keeps what decisions need and drops the rest of a list summary.
    @Test func theIndexKeepsANarrowJob() throws {
        var index = JobIndex()
        var full = Self.job("a", updated: 1)
        full.target = .object(["type": "table", "tableName": "orders", "intervals": .array([])])
        full.source = .object(["type": "connection", "connectionName": "stream-wiki", "formatSettings": .object([:])])
        full.otherFields = ["mappings": .array([]), "readFromPoint": "latest"]
        full.createdBy = PolarisUser(username: "someone", userId: "u1")
        index.absorbSweep([full], at: Self.start)
        let kept = try #require(index.jobs.first)
        #expect(kept.targetTable == "orders")
        #expect(kept.connectionName == "stream-wiki")
        #expect(kept.id == "a" && kept.executionStatus == .running && kept.health == .ok)
        #expect(kept.lastUpdatedTimestamp == full.lastUpdatedTimestamp)
        #expect(kept.otherFields.isEmpty)
        #expect(kept.createdBy == nil)
        #expect(kept.source == .object(["connectionName": "stream-wiki"]))
    }

    /// A scheduled sweep that finds nothing newer must not make the margin fresh again: the
    /// next delta read would re-read every job updated near the newest one (found by the bench:
    /// 102 requests in the first delta cycle after a sweep at 10,000 jobs).
    @Test func aSweepThatFindsNothingNewerLeavesTheMarginSettled() {
        var index = JobIndex()
        index.absorbSweep([Self.job("a", updated: 100), Self.job("b", updated: 99)], at: Self.start)
        let later = Self.start.addingTimeInterval(300)
        index.absorbSweep([Self.job("a", updated: 100), Self.job("b", updated: 99)], at: later)
        #expect(index.isSettled(Self.job("b", updated: 99), now: later.addingTimeInterval(2)))
        // One that does find a newer update makes it fresh.
        index.absorbSweep([Self.job("a", updated: 100), Self.job("b", updated: 150)], at: later)
        #expect(!index.isSettled(Self.job("x", updated: 149), now: later.addingTimeInterval(2)))
    }

    /// A sweep keeps the index's own copy of a job it finds unchanged (no second copy of the
    /// picture per sweep at 10,000 jobs), and takes the listed one when anything it keeps differs.
    @Test func aSweepKeepsTheCopyItHasOfAnUnchangedJob() throws {
        var index = JobIndex()
        index.absorbSweep([Self.job("a", updated: 1), Self.job("b", updated: 1)], at: Self.start)
        let before = index.jobs
        var b = Self.job("b", updated: 1)
        b.health = JobHealth(status: .warn, code: "lost_connection_to_source")
        var a = Self.job("a", updated: 1)
        a.createdBy = PolarisUser(username: "someone", userId: "u1")  // dropped by narrowing anyway
        index.absorbSweep([a, b].map(index.narrowed), at: Self.start.addingTimeInterval(10))
        #expect(index.jobs[0].box === before[0].box, "the unchanged job is the same copy")
        #expect(index.jobs[1].box !== before[1].box)
        #expect(index.jobs[1].health.status == .warn)
        #expect(index.jobs[0].createdBy == nil)
    }
}
