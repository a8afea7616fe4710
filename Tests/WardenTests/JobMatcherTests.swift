import PolarisAPI
import Testing

@testable import Warden

/// Which Polaris job is ours (`Healing/JobMatcher.swift`).
@Suite struct JobMatcherTests {
    static func job(_ id: String, _ table: String, _ status: ExecutionStatus = .running, created: Int64) -> Job {
        Job(
            id: id, type: "streaming", executionStatus: status, createdTimestamp: PolarisTimestamp(seconds: created),
            target: .object(["tableName": .string(table)]))
    }

    static let desired = [
        DesiredJob(name: "orders", spec: JobSpec(fields: ["target": ["type": "table", "tableName": "orders"]]))
    ]

    static func match(_ jobs: [Job], known: String? = nil) -> JobMatcher.Match? {
        JobMatcher.match(desired: desired, polarisJobs: jobs, knownIDs: known.map { ["orders": $0] } ?? [:])["orders"]
    }

    @Test func ourJobWinsWhileItIsAlive() {
        let match = Self.match(
            [Self.job("old", "orders", created: 1), Self.job("new", "orders", created: 2)], known: "old")
        #expect(match == JobMatcher.Match(job: Self.job("old", "orders", created: 1), adopted: false))
    }

    @Test func theNewestAliveJobOnTheTableIsAdoptedWhenOursEnded() {
        let jobs = [
            Self.job("ours", "orders", .failed, created: 1), Self.job("a", "orders", created: 2),
            Self.job("b", "orders", created: 3), Self.job("c", "orders", .canceled, created: 4),
            Self.job("x", "other", created: 5),
        ]
        #expect(Self.match(jobs, known: "ours")?.job?.id == "b")
        #expect(Self.match(jobs, known: "ours")?.adopted == true)
    }

    @Test func ourEndedJobIsKeptWhenNothingIsAdoptable() {
        let match = Self.match([Self.job("ours", "orders", .failed, created: 1)], known: "ours")
        #expect(match?.job?.id == "ours")
        #expect(match?.adopted == false)
    }

    @Test func anIDOnAnotherTableIsNotOurs() {
        let match = Self.match([Self.job("ours", "other", created: 1)], known: "ours")
        #expect(match?.job == nil)
        #expect(match?.adopted == false)
    }

    @Test func equalCreationTimesAreBrokenByID() {
        let jobs = [Self.job("b", "orders", created: 1), Self.job("a", "orders", created: 1)]
        #expect(Self.match(jobs)?.job?.id == "b")
    }

    /// The cycle reads matches by position: one per desired job, in the config's order.
    @Test func matchesFollowTheOrderOfTheDesiredJobs() {
        let desired = ["clicks", "orders", "views"].map { table in
            DesiredJob(name: table, spec: JobSpec(fields: ["target": ["type": "table", "tableName": .string(table)]]))
        }
        let jobs = [Self.job("v", "views", created: 1), Self.job("o", "orders", created: 2)]
        let matches = JobMatcher.matches(desired: desired, polarisJobs: jobs) { $0 == "orders" ? "o" : nil }
        #expect(matches.map { $0.job?.id } == [nil, "o", "v"])
        #expect(matches.map(\.adopted) == [false, false, true])
    }

    @Test func aChangedSpecMovesTheDesiredTable() {
        var job = Self.desired[0]
        job.spec = JobSpec(fields: ["target": ["type": "table", "tableName": "payments"]])
        #expect(job.table == "payments")
    }
}
