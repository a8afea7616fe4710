import Foundation
import PolarisAPI
import PolarisEmulator
import Testing
import WardenPlatform

@testable import Warden

/// `Leadership`, the pure rules of the leader lease: who acts, when a leader stops writing.
@Suite struct LeadershipTests {
    static let t0 = WallInstant(secondsSince1970: 1_800_000_000)
    static func at(_ seconds: Double) -> WallInstant { t0.advanced(by: .milliseconds(Int64(seconds * 1000))) }
    static func us(epoch: Int64 = 1) -> LeaseStanding {
        LeaseStanding(holder: "a", epoch: epoch, remaining: .seconds(10))
    }
    static func them(epoch: Int64 = 2) -> LeaseStanding {
        LeaseStanding(holder: "b", epoch: epoch, remaining: .seconds(10))
    }

    @Test func aLeaseNamingUsMakesUsLeaderOfANewTerm() {
        var leadership = Leadership(instance: "a", lease: .seconds(10))
        #expect(leadership.role == .joining)
        #expect(leadership.answered(Self.us(), sentAt: Self.t0) == [.acquired(epoch: 1)])
        #expect(leadership.role == .leader(epoch: 1))
        #expect(leadership.term == 1)
        #expect(leadership.mayWrite(at: Self.at(1)))
        #expect(leadership.summary == "leader (epoch 1)")
    }

    @Test func renewalsKeepTheTermAndMoveTheSelfFenceDeadline() {
        var leadership = Leadership(instance: "a", lease: .seconds(9))
        _ = leadership.answered(Self.us(), sentAt: Self.t0)
        #expect(leadership.answered(Self.us(), sentAt: Self.at(3)) == [])
        #expect(leadership.term == 1)
        // Two thirds of 9 s after the renewal sent at 3 s: 9 s.
        #expect(leadership.mayWrite(at: Self.at(8.9)))
        #expect(!leadership.mayWrite(at: Self.at(9.0)))
    }

    @Test func aLeaderThatCannotRenewStopsWritingTwoThirdsIntoItsLease() {
        var leadership = Leadership(instance: "a", lease: .seconds(9))
        _ = leadership.answered(Self.us(), sentAt: Self.t0)
        let failed = leadership.failed(.unreachable("timed out"), at: Self.at(3))
        #expect(failed.count == 1)
        #expect(leadership.role == .leader(epoch: 1), "still the leader: the lease runs until 9 s at least")
        #expect(leadership.mayWrite(at: Self.at(5.9)))
        #expect(leadership.tick(at: Self.at(5.9)) == [])
        let lost = leadership.tick(at: Self.at(6.0))
        #expect(lost.count == 1)
        if case .lost(let epoch, let reason)? = lost.first {
            #expect(epoch == 1)
            #expect(reason.contains("stopped writing before it can expire"))
        } else {
            Issue.record("expected leader-lost, got \(lost)")
        }
        #expect(leadership.role == .unreachable)
        #expect(!leadership.mayWrite(at: Self.at(6.0)))
    }

    @Test func anotherHolderMakesUsStandbyAndALeaderLosesFirst() {
        var leadership = Leadership(instance: "a", lease: .seconds(10))
        _ = leadership.answered(Self.us(), sentAt: Self.t0)
        let events = leadership.answered(Self.them(), sentAt: Self.at(3))
        #expect(events.count == 2)
        if case .lost(1, _)? = events.first {} else { Issue.record("leader-lost first, got \(events)") }
        #expect(events.last == .standby(leader: "b", epoch: 2))
        #expect(leadership.answered(Self.them(), sentAt: Self.at(6)) == [], "the same leader again: nothing new")
        #expect(leadership.summary == "standby (leader b, epoch 2)")
        #expect(!leadership.mayWrite(at: Self.at(6)))
    }

    @Test func anOutageIsReportedOnceAndItsEndOnce() {
        var leadership = Leadership(instance: "a", lease: .seconds(10))
        _ = leadership.answered(Self.them(), sentAt: Self.t0)
        #expect(leadership.failed(.unreachable("refused"), at: Self.at(3)).count == 1)
        #expect(leadership.failed(.unreachable("refused"), at: Self.at(6)) == [])
        #expect(leadership.role == .unreachable)
        #expect(leadership.summary.contains("unreachable"))
        #expect(leadership.answered(Self.them(), sentAt: Self.at(9)) == [.reachable, .standby(leader: "b", epoch: 2)])
    }

    @Test func theDisplayNameDropsOnlyAProcessToken() {
        #expect(Leadership.displayName("warden-a#1f2e3d4c") == "warden-a")
        #expect(Leadership.displayName("warden-a") == "warden-a")
        #expect(Leadership.displayName("host#blue") == "host#blue", "not a token")
        var leadership = Leadership(instance: "a#00000001", lease: .seconds(10))
        _ = leadership.answered(
            LeaseStanding(holder: "b#abcdef12", epoch: 4, remaining: .seconds(5)), sentAt: Self.t0)
        #expect(leadership.summary == "standby (leader b, epoch 4)")
    }

    @Test func aRefusedWriteEndsTheTermAndTheNextLeaseStartsANewOne() {
        var leadership = Leadership(instance: "a", lease: .seconds(10))
        _ = leadership.answered(Self.us(), sentAt: Self.t0)
        #expect(leadership.fenced().count == 1)
        #expect(!leadership.mayWrite(at: Self.at(1)))
        #expect(leadership.answered(Self.us(epoch: 3), sentAt: Self.at(2)) == [.acquired(epoch: 3)])
        #expect(leadership.term == 2, "a new term: the fleet's state is taken over again")
    }
}

/// Two wardens on one emulator and one lease (in memory, on the shared clock): only the leader
/// writes, the standby takes over from the fleet's state, a stale or cut-off leader writes nothing.
@Suite struct HighAvailabilityScenarioTests {
    static let tables = ["orders", "clicks"]

    /// One warden of the pair and the coordinator that decides whether it leads.
    struct Member {
        let harness: WardenHarness
        let coordinator: Coordinator

        /// What the daemon's loop does for one warden: a leader takes the fleet's state over at
        /// the start of each term, then runs a cycle; a standby only reads.
        func cycle(terms: inout [String: Int]) async throws {
            let name = await coordinator.instance
            guard case .leader = await coordinator.role else {
                terms[name] = nil
                await harness.supervisor.watch()
                return
            }
            let term = await coordinator.term
            if terms[name] != term {
                let own = await harness.supervisor.state
                await harness.supervisor.takeOver(state: try await coordinator.loadFleetState() ?? own)
                terms[name] = term
            }
            await harness.supervisor.runCycle()
        }
    }

    struct Pair {
        let a: Member
        let b: Member
        let lease: MemoryLeaderLease
        let clock: ManualClock

        /// 2 s on: both renew (warden-a first), then each of `members` runs a cycle, in that order.
        func round(cycling members: [Member], terms: inout [String: Int]) async throws {
            clock.advance(seconds: 2)
            await a.coordinator.renewOnce()
            await b.coordinator.renewOnce()
            for member in members { try await member.cycle(terms: &terms) }
        }

        /// `rounds` times, 2 s apart: warden-a alone renews its lease and runs a cycle (warden-b
        /// is silent).
        func aLeadsAlone(rounds: Int, terms: inout [String: Int]) async throws {
            for _ in 0..<rounds {
                clock.advance(seconds: 2)
                await a.coordinator.renewOnce()
                try await a.cycle(terms: &terms)
            }
        }
    }

    /// A coordinator on `lease` with the pair's timing: a 9 s lease, a poll every 5 s.
    static func coordinator(
        lease: MemoryLeaderLease, instance: String, clock: ManualClock, recorder: LogRecorder
    ) -> Coordinator {
        Coordinator(
            lease: lease, instance: instance, leaseDuration: .seconds(9), pollInterval: .seconds(5), clock: clock,
            logger: recorder.logger)
    }

    /// `harness` with a coordinator named `instance` as its write authority.
    static func member(
        _ harness: WardenHarness, instance: String, lease: MemoryLeaderLease, clock: ManualClock
    ) async -> Member {
        let coordinator = coordinator(lease: lease, instance: instance, clock: clock, recorder: harness.recorder)
        await harness.supervisor.setWriteAuthority(coordinator)
        return Member(harness: harness, coordinator: coordinator)
    }

    /// warden-a and warden-b on one emulator, one lease and one clock; warden-a renewed first
    /// and leads (epoch 1), warden-b stands by.
    static func pair() async throws -> Pair {
        let clock = ManualClock(start: WallInstant(secondsSince1970: 1_800_000_000))
        let lease = MemoryLeaderLease(clock: clock)
        let harnessA = try await WardenHarness.make(jobs: tables, clock: clock)
        let harnessB = try await WardenHarness.make(jobs: tables, emulator: harnessA.emulator, clock: clock)
        let a = await member(harnessA, instance: "warden-a", lease: lease, clock: clock)
        let b = await member(harnessB, instance: "warden-b", lease: lease, clock: clock)
        await a.coordinator.renewOnce()
        await b.coordinator.renewOnce()
        return Pair(a: a, b: b, lease: lease, clock: clock)
    }

    static func running(_ harness: WardenHarness) async -> Bool {
        for table in tables where await harness.aliveJobs(on: table).first?.executionStatus != .running {
            return false
        }
        return true
    }

    @Test func onlyTheLeaderWritesAndTheStandbyWatches() async throws {
        let pair = try await Self.pair()
        defer { Task { await pair.a.harness.stop() } }
        #expect(await pair.a.coordinator.role == .leader(epoch: 1))
        #expect(await pair.b.coordinator.summary == "standby (leader warden-a, epoch 1)")
        #expect(pair.a.harness.recorder.events("leader-acquired").count == 1)
        #expect(pair.b.harness.recorder.events("standby").count == 1)
        var terms: [String: Int] = [:]
        for _ in 0..<4 { try await pair.round(cycling: [pair.a, pair.b], terms: &terms) }
        #expect(await Self.running(pair.a.harness))
        let id = try #require(await pair.a.harness.ourJobID("orders"))
        try await pair.a.harness.emulator.failJob(id: id)
        for _ in 0..<2 { try await pair.round(cycling: [pair.b, pair.a], terms: &terms) }
        #expect(await Self.running(pair.a.harness), "the leader recreated the failed job")
        #expect(pair.a.harness.sends.writeCount >= 3, "the leader created both jobs and recreated one")
        #expect(pair.b.harness.sends.writeCount == 0, "the standby never writes")
        #expect(await pair.b.harness.supervisor.listedJobCount >= 2, "the standby keeps a warm view of the list")
        #expect(await pair.lease.stores >= 1, "the leader recorded its intents in the fleet's store")
    }

    @Test func theStandbyTakesOverAfterTheLeaseFromTheFleetStateWithoutDuplicates() async throws {
        let pair = try await Self.pair()
        defer { Task { await pair.a.harness.stop() } }
        var terms: [String: Int] = [:]
        try await pair.aLeadsAlone(rounds: 3, terms: &terms)
        #expect(await Self.running(pair.a.harness))
        // warden-a dies: no more renewals. Within the lease, warden-b still stands by.
        pair.clock.advance(seconds: 5)
        await pair.b.coordinator.renewOnce()
        #expect(await pair.b.coordinator.summary == "standby (leader warden-a, epoch 1)")
        pair.clock.advance(seconds: 4)
        await pair.b.coordinator.renewOnce()
        #expect(await pair.b.coordinator.role == .leader(epoch: 2))
        let before = pair.b.harness.sends.writeCount
        try await pair.b.cycle(terms: &terms)
        #expect(pair.b.harness.sends.writeCount == before, "the new leader knows the jobs from the fleet's state")
        #expect(await pair.b.harness.ourJobID("orders") == (await pair.a.harness.ourJobID("orders")))
        let id = try #require(await pair.b.harness.ourJobID("clicks"))
        try await pair.a.harness.emulator.cancelJob(id: id)
        pair.clock.advance(seconds: 2)
        await pair.b.coordinator.renewOnce()
        try await pair.b.cycle(terms: &terms)
        pair.clock.advance(seconds: 2)
        try await pair.b.cycle(terms: &terms)
        #expect(await Self.running(pair.b.harness))
        for table in Self.tables {
            #expect(await pair.b.harness.aliveJobs(on: table).count == 1, "one job on \(table)")
        }
        // The old leader, were it to run a cycle now, writes nothing: its lease is gone.
        let oldWrites = pair.a.harness.sends.writeCount
        let other = try #require(await pair.b.harness.ourJobID("orders"))
        try await pair.a.harness.emulator.failJob(id: other)
        await pair.a.harness.supervisor.runCycle()
        #expect(pair.a.harness.sends.writeCount == oldWrites, "a leader past its self-fence deadline does not write")
        #expect(pair.a.harness.recorder.events("leader-lost").count == 1)
    }

    /// Two wardens given one name (hosts cloned with one host name) never both lead: the lease
    /// names the process. A restarted warden waits for its previous lease to expire.
    @Test func twoWardensWithOneNameNeverBothLeadAndARestartWaitsForTheOldLease() async throws {
        let clock = ManualClock(start: WallInstant(secondsSince1970: 1_800_000_000))
        let lease = MemoryLeaderLease(clock: clock)
        let recorder = LogRecorder()
        func coordinator() -> Coordinator {
            Self.coordinator(lease: lease, instance: "warden-a", clock: clock, recorder: recorder)
        }
        let first = coordinator()
        let twin = coordinator()
        await first.renewOnce()
        await twin.renewOnce()
        #expect(await first.role == .leader(epoch: 1))
        #expect(await !(twin.role.isLeader), "the same name, another process: standby")
        #expect(await twin.summary == "standby (leader warden-a, epoch 1)")
        // The first dies; a restart of it (a new process, the same name) stands by until its old
        // lease expires, then takes it with the next epoch.
        let restarted = coordinator()
        clock.advance(seconds: 5)
        await restarted.renewOnce()
        #expect(await !(restarted.role.isLeader))
        clock.advance(seconds: 4)
        await restarted.renewOnce()
        #expect(await restarted.role == .leader(epoch: 2))
        await twin.renewOnce()
        #expect(await !(twin.role.isLeader))
    }

    @Test func aLeaderWhoseLeaseWasTakenCannotRecordAndSendsNothing() async throws {
        let pair = try await Self.pair()
        defer { Task { await pair.a.harness.stop() } }
        var terms: [String: Int] = [:]
        try await pair.aLeadsAlone(rounds: 3, terms: &terms)
        // The lease changes hands behind warden-a's back while it still thinks it may write.
        try await pair.lease.release(instance: await pair.a.coordinator.holder, epoch: 1)
        await pair.b.coordinator.renewOnce()
        #expect(await pair.b.coordinator.role == .leader(epoch: 2))
        #expect(await pair.a.coordinator.mayWrite(), "within its self-fence deadline")
        let id = try #require(await pair.a.harness.ourJobID("orders"))
        try await pair.a.harness.emulator.failJob(id: id)
        let before = pair.a.harness.sends.writeCount
        await pair.a.harness.supervisor.runCycle()
        #expect(pair.a.harness.sends.writeCount == before, "the database refused its intents: nothing sent")
        #expect(pair.a.harness.recorder.events("leader-lost").count == 1)
        #expect(await !(pair.a.coordinator.mayWrite()))
    }

    @Test func aCutOffLeaderStopsAtItsDeadlineAndResumesWhenTheDatabaseIsBack() async throws {
        let pair = try await Self.pair()
        defer { Task { await pair.a.harness.stop() } }
        var terms: [String: Int] = [:]
        try await pair.aLeadsAlone(rounds: 3, terms: &terms)
        await pair.lease.setUnreachable(true)
        pair.clock.advance(seconds: 3)
        await pair.a.coordinator.renewOnce()
        #expect(pair.a.harness.recorder.events("coordination-unreachable").count == 1)
        #expect(await pair.a.coordinator.mayWrite(), "the lease still runs")
        pair.clock.advance(seconds: 3.1)
        #expect(await !(pair.a.coordinator.mayWrite()), "two thirds of 9 s since the last renewal")
        #expect(pair.a.harness.recorder.events("leader-lost").count == 1)
        let id = try #require(await pair.a.harness.ourJobID("orders"))
        try await pair.a.harness.emulator.failJob(id: id)
        let before = pair.a.harness.sends.writeCount
        await pair.a.harness.supervisor.runCycle()
        #expect(pair.a.harness.sends.writeCount == before, "no writes while cut off")
        await pair.lease.setUnreachable(false)
        await pair.a.coordinator.renewOnce()
        #expect(await pair.a.coordinator.role == .leader(epoch: 1), "nobody took it: the same lease, renewed")
        #expect(pair.a.harness.recorder.events("leader-acquired").count == 2, "a new term")
        pair.clock.advance(seconds: 2)
        try await pair.a.cycle(terms: &terms)
        pair.clock.advance(seconds: 2)
        try await pair.a.cycle(terms: &terms)
        #expect(await Self.running(pair.a.harness), "healed once it leads again")
    }
}

/// `highAvailability` in the config: every key read, the defaults, the secret never inline.
/// (The bad cases are in Fixtures/bad-configs/ha-*.json.)
@Suite struct HighAvailabilityConfigTests {
    @Test func theExampleReadsAsWritten() throws {
        let config = try ConfigLoader.load(path: ConfigTestFiles.exampleHA.path)
        let settings = try #require(config.highAvailability)
        #expect(settings.postgres.host == "db.internal")
        #expect(settings.postgres.port == 5432)
        #expect(settings.postgres.database == "warden")
        #expect(settings.postgres.user == "warden")
        #expect(settings.postgres.password == .credential("pg-password"))
        #expect(settings.postgres.tls == .verifyFull)
        #expect(settings.leaseSeconds == 10)
        #expect(settings.lease == .seconds(10))
        #expect(settings.instance == "warden-a")
    }

    @Test func absentMeansASingleHost() throws {
        #expect(try ConfigLoader.load(path: ConfigTestFiles.example.path).highAvailability == nil)
    }

    @Test func portTLSLeaseAndInstanceHaveDefaults() throws {
        var text = try String(contentsOf: ConfigTestFiles.example, encoding: .utf8)
        let section = """
            "highAvailability": {"postgres": {"host": "10.0.0.5", "database": "w", "user": "u",
              "password": {"env": "PG_PASSWORD"}}},
            """
        text = text.replacingOccurrences(of: "\"polaris\":", with: section + "\n  \"polaris\":")
        let settings = try #require(try ConfigLoader.parse(text, source: "inline").highAvailability)
        #expect(settings.postgres.port == 5432)
        #expect(settings.postgres.tls == .verifyFull, "encrypted and verified unless said otherwise")
        #expect(settings.postgres.password == .env("PG_PASSWORD"))
        #expect(settings.leaseSeconds == 10)
        #expect(settings.instance == currentHostName())
        #expect(!settings.instance.isEmpty)
    }
}
