import Foundation
import PolarisAPI
import Testing

@testable import Warden

/// `Incidents`: when to ask about the project and connections, and whom a failure is charged to.
@Suite struct IncidentsTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func failed(_ id: String, code: String? = "internal_error", status: ExecutionStatus = .failed) -> LiveJob {
        LiveJob(id: id, executionStatus: status, health: JobHealth(status: .error, code: code))
    }

    struct AttributionCase: CustomTestStringConvertible, Sendable {
        var name: String
        var projectPaused: Bool
        var brokenConnection: String?
        var job: LiveJob
        var connection: String
        var expected: FailureAttribution
        var testDescription: String { name }
    }

    static let attributionCases: [AttributionCase] = [
        AttributionCase(
            name: "a failure with no incident is the job's", projectPaused: false, brokenConnection: nil,
            job: failed("a"), connection: "c", expected: .job),
        AttributionCase(
            name: "a paused project takes every failure", projectPaused: true, brokenConnection: nil,
            job: failed("a"), connection: "c", expected: .project),
        AttributionCase(
            name: "a paused project takes a cancel too", projectPaused: true, brokenConnection: nil,
            job: failed("a", status: .canceled), connection: "c", expected: .project),
        AttributionCase(
            name: "the project wins over a broken connection", projectPaused: true, brokenConnection: "c",
            job: failed("a", code: "could_not_connect_to_source"), connection: "c", expected: .project),
        AttributionCase(
            name: "a source failure on a broken connection is the connection's", projectPaused: false,
            brokenConnection: "c", job: failed("a", code: "could_not_connect_to_source"), connection: "c",
            expected: .connection("c")),
        AttributionCase(
            name: "lost_connection_to_source counts as a source failure", projectPaused: false, brokenConnection: "c",
            job: failed("a", code: "lost_connection_to_source"), connection: "c", expected: .connection("c")),
        AttributionCase(
            name: "another code on a broken connection is the job's", projectPaused: false, brokenConnection: "c",
            job: failed("a", code: "cannot_parse_source"), connection: "c", expected: .job),
        AttributionCase(
            name: "a source failure on a healthy connection is the job's", projectPaused: false,
            brokenConnection: nil, job: failed("a", code: "could_not_connect_to_source"), connection: "c",
            expected: .job),
        AttributionCase(
            name: "another connection being broken does not matter", projectPaused: false, brokenConnection: "d",
            job: failed("a", code: "could_not_connect_to_source"), connection: "c", expected: .job),
        AttributionCase(
            name: "a running job is never attributed", projectPaused: true, brokenConnection: nil,
            job: LiveJob(id: "a", executionStatus: .running), connection: "c", expected: .job),
    ]

    @Test(arguments: attributionCases) func attribution(_ row: AttributionCase) {
        var incidents = Incidents()
        if row.projectPaused { _ = incidents.projectState(.paused, now: Self.start, poll: 5) }
        if let broken = row.brokenConnection {
            _ = incidents.connectionTest(broken, failure: "AccessDenied", now: Self.start, poll: 5)
        }
        #expect(incidents.attribute(row.job, connection: row.connection) == row.expected)
    }

    @Test func anAttributionOutlivesTheIncidentForThatJobOnly() {
        var incidents = Incidents()
        _ = incidents.projectState(.paused, now: Self.start, poll: 5)
        #expect(incidents.attribute(Self.failed("during"), connection: "c") == .project)
        #expect(incidents.projectState(.running, now: Self.start, poll: 5) == false, "the hold ended")
        #expect(incidents.attribute(Self.failed("during"), connection: "c") == .project, "still free to heal")
        #expect(incidents.attribute(Self.failed("after"), connection: "c") == .job, "a new failure is the job's")
        incidents.keepAttributions(forJobIDs: ["after"])
        #expect(incidents.attribute(Self.failed("during"), connection: "c") == .job, "forgotten once not listed")
    }

    @Test func projectHoldBeginsOnceBacksOffAndEndsOnce() {
        var incidents = Incidents()
        #expect(incidents.projectState(.running, now: Self.start, poll: 5) == nil)
        #expect(incidents.projectState(.paused, now: Self.start, poll: 5) == true)
        #expect(incidents.projectHeld)
        var delays: [Double] = []
        var now = Self.start
        for _ in 0..<9 {
            let next = incidents.project!.nextCheck
            delays.append(next.timeIntervalSince(now))
            now = next
            #expect(incidents.projectState(.pausing, now: now, poll: 5) == nil, "no second event")
        }
        #expect(delays == [5, 10, 10, 10, 10, 10, 10, 10, 10], "one poll, then every two polls")
        #expect(incidents.project?.detail == "pausing")
        #expect(incidents.projectState(.running, now: now, poll: 5) == false)
        #expect(!incidents.projectHeld)
    }

    @Test func projectCheckIsDueAtStartOnMassFailureAfterARefusedCreateAndOnSchedule() {
        var incidents = Incidents()
        let check = { (incidents: Incidents, first: Bool, failed: Int, created: Bool, at: Date) in
            incidents.projectCheckDue(
                now: at, firstCycle: first, newlyFailed: failed, declaredJobs: 20, createFailed: created)
        }
        #expect(check(incidents, true, 0, false, Self.start))
        #expect(!check(incidents, false, 0, false, Self.start))
        #expect(!check(incidents, false, 2, false, Self.start), "fewer than 3")
        #expect(!check(incidents, false, 4, false, Self.start), "fewer than a quarter of 20")
        #expect(check(incidents, false, 5, false, Self.start))
        #expect(check(incidents, false, 0, true, Self.start))
        _ = incidents.projectState(.paused, now: Self.start, poll: 5)
        #expect(!check(incidents, false, 20, true, Self.start.addingTimeInterval(4)), "held: only on schedule")
        #expect(check(incidents, false, 0, false, Self.start.addingTimeInterval(5)))
    }

    @Test func massFailureNeedsThreeJobsAndAQuarter() {
        #expect(!Incidents.isMassFailure(newlyFailed: 2, declaredJobs: 2))
        #expect(Incidents.isMassFailure(newlyFailed: 3, declaredJobs: 3))
        #expect(Incidents.isMassFailure(newlyFailed: 250, declaredJobs: 1000))
        #expect(!Incidents.isMassFailure(newlyFailed: 249, declaredJobs: 1000))
    }

    @Test func connectionBreaksOnceIsRetestedWithBackoffAndRestoredOnce() {
        var incidents = Incidents()
        #expect(!incidents.connectionTestDue("c", now: Self.start, newSourceFailure: false))
        #expect(incidents.connectionTestDue("c", now: Self.start, newSourceFailure: true))
        #expect(incidents.connectionTest("c", failure: nil, now: Self.start, poll: 5) == nil, "passing: nothing")
        #expect(incidents.connectionTest("c", failure: "AccessDenied", now: Self.start, poll: 5) == true)
        #expect(!incidents.connectionTestDue("c", now: Self.start.addingTimeInterval(4), newSourceFailure: true))
        #expect(incidents.connectionTestDue("c", now: Self.start.addingTimeInterval(5), newSourceFailure: false))
        #expect(
            incidents.connectionTest("c", failure: "AccessDenied", now: Self.start.addingTimeInterval(5), poll: 5)
                == nil)
        #expect(incidents.brokenConnections["c"]?.nextCheck == Self.start.addingTimeInterval(15))
        #expect(incidents.connectionTest("c", failure: nil, now: Self.start.addingTimeInterval(15), poll: 5) == false)
        #expect(!incidents.isBroken("c"))
    }

    @Test func healOrderIsPriorityThenOldestFailureThenName() {
        let early = Self.start
        let late = Self.start.addingTimeInterval(60)
        let keys = [
            HealOrder.Key(name: "b", priority: 0, since: late),
            HealOrder.Key(name: "new", priority: 0, since: nil),
            HealOrder.Key(name: "vip", priority: 10, since: late),
            HealOrder.Key(name: "a", priority: 0, since: late),
            HealOrder.Key(name: "old", priority: 0, since: early),
            HealOrder.Key(name: "low", priority: -5, since: early),
        ]
        #expect(keys.sorted(by: HealOrder.precedes).map(\.name) == ["vip", "old", "a", "b", "new", "low"])
    }

    @Test func healProgressReadsLikeTheStatusLine() {
        var progress = HealProgress(total: 800, startedAt: Self.start, nominalRate: 10)
        #expect(progress.summary(now: Self.start) == "healing 0/800 (10/s, ~80 s left)")
        progress.done = 312
        #expect(progress.summary(now: Self.start.addingTimeInterval(31.2)) == "healing 312/800 (10/s, ~49 s left)")
        progress.done = 400
        #expect(progress.summary(now: Self.start.addingTimeInterval(100)) == "healing 400/800 (4.0/s, ~100 s left)")
    }
}
