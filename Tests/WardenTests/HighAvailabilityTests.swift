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

    struct Pair {
        let a: WardenHarness
        let b: WardenHarness
        let lease: MemoryLeaderLease
        let coordinatorA: Coordinator
        let coordinatorB: Coordinator
        let clock: ManualClock

        /// What the daemon's loop does for one warden: a leader takes the fleet's state over at
        /// the start of each term, then runs a cycle; a standby only reads.
        func cycle(_ harness: WardenHarness, _ coordinator: Coordinator, terms: inout [String: Int]) async throws {
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

    static func pair() async throws -> Pair {
        let clock = ManualClock(start: WallInstant(secondsSince1970: 1_800_000_000))
        let lease = MemoryLeaderLease(clock: clock)
        let a = try await WardenHarness.make(jobs: tables, clock: clock)
        let b = try await WardenHarness.make(jobs: tables, emulator: a.emulator, clock: clock)
        let coordinatorA = Coordinator(
            lease: lease, instance: "warden-a", leaseDuration: .seconds(9), pollInterval: .seconds(5), clock: clock,
            logger: a.recorder.logger)
        let coordinatorB = Coordinator(
            lease: lease, instance: "warden-b", leaseDuration: .seconds(9), pollInterval: .seconds(5), clock: clock,
            logger: b.recorder.logger)
        await a.supervisor.setWriteAuthority(coordinatorA)
        await b.supervisor.setWriteAuthority(coordinatorB)
        await coordinatorA.renewOnce()
        await coordinatorB.renewOnce()
        return Pair(a: a, b: b, lease: lease, coordinatorA: coordinatorA, coordinatorB: coordinatorB, clock: clock)
    }

    static func running(_ harness: WardenHarness) async -> Bool {
        for table in tables where await harness.aliveJobs(on: table).first?.executionStatus != .running {
            return false
        }
        return true
    }

    @Test func onlyTheLeaderWritesAndTheStandbyWatches() async throws {
        let pair = try await Self.pair()
        defer { Task { await pair.a.stop() } }
        #expect(await pair.coordinatorA.role == .leader(epoch: 1))
        #expect(await pair.coordinatorB.summary == "standby (leader warden-a, epoch 1)")
        #expect(pair.a.recorder.events("leader-acquired").count == 1)
        #expect(pair.b.recorder.events("standby").count == 1)
        var terms: [String: Int] = [:]
        for _ in 0..<4 {
            pair.clock.advance(seconds: 2)
            await pair.coordinatorA.renewOnce()
            await pair.coordinatorB.renewOnce()
            try await pair.cycle(pair.a, pair.coordinatorA, terms: &terms)
            try await pair.cycle(pair.b, pair.coordinatorB, terms: &terms)
        }
        #expect(await Self.running(pair.a))
        let id = try #require(await pair.a.ourJobID("orders"))
        try await pair.a.emulator.failJob(id: id)
        for _ in 0..<2 {
            pair.clock.advance(seconds: 2)
            await pair.coordinatorA.renewOnce()
            await pair.coordinatorB.renewOnce()
            try await pair.cycle(pair.b, pair.coordinatorB, terms: &terms)
            try await pair.cycle(pair.a, pair.coordinatorA, terms: &terms)
        }
        #expect(await Self.running(pair.a), "the leader recreated the failed job")
        #expect(pair.a.sends.writeCount >= 3, "the leader created both jobs and recreated one")
        #expect(pair.b.sends.writeCount == 0, "the standby never writes")
        #expect(await pair.b.supervisor.listedJobCount >= 2, "the standby keeps a warm view of the list")
        #expect(await pair.lease.stores >= 1, "the leader recorded its intents in the fleet's store")
    }

    @Test func theStandbyTakesOverAfterTheLeaseFromTheFleetStateWithoutDuplicates() async throws {
        let pair = try await Self.pair()
        defer { Task { await pair.a.stop() } }
        var terms: [String: Int] = [:]
        for _ in 0..<3 {
            pair.clock.advance(seconds: 2)
            await pair.coordinatorA.renewOnce()
            try await pair.cycle(pair.a, pair.coordinatorA, terms: &terms)
        }
        #expect(await Self.running(pair.a))
        // warden-a dies: no more renewals. Within the lease, warden-b still stands by.
        pair.clock.advance(seconds: 5)
        await pair.coordinatorB.renewOnce()
        #expect(await pair.coordinatorB.summary == "standby (leader warden-a, epoch 1)")
        pair.clock.advance(seconds: 4)
        await pair.coordinatorB.renewOnce()
        #expect(await pair.coordinatorB.role == .leader(epoch: 2))
        let before = pair.b.sends.writeCount
        try await pair.cycle(pair.b, pair.coordinatorB, terms: &terms)
        #expect(pair.b.sends.writeCount == before, "the new leader knows the jobs from the fleet's state")
        #expect(await pair.b.ourJobID("orders") == (await pair.a.ourJobID("orders")))
        let id = try #require(await pair.b.ourJobID("clicks"))
        try await pair.a.emulator.cancelJob(id: id)
        pair.clock.advance(seconds: 2)
        await pair.coordinatorB.renewOnce()
        try await pair.cycle(pair.b, pair.coordinatorB, terms: &terms)
        pair.clock.advance(seconds: 2)
        try await pair.cycle(pair.b, pair.coordinatorB, terms: &terms)
        #expect(await Self.running(pair.b))
        for table in Self.tables { #expect(await pair.b.aliveJobs(on: table).count == 1, "one job on \(table)") }
        // The old leader, were it to run a cycle now, writes nothing: its lease is gone.
        let oldWrites = pair.a.sends.writeCount
        let other = try #require(await pair.b.ourJobID("orders"))
        try await pair.a.emulator.failJob(id: other)
        await pair.a.supervisor.runCycle()
        #expect(pair.a.sends.writeCount == oldWrites, "a leader past its self-fence deadline does not write")
        #expect(pair.a.recorder.events("leader-lost").count == 1)
    }

    /// Two wardens given one name (hosts cloned with one host name) never both lead: the lease
    /// names the process. A restarted warden waits for its previous lease to expire.
    @Test func twoWardensWithOneNameNeverBothLeadAndARestartWaitsForTheOldLease() async throws {
        let clock = ManualClock(start: WallInstant(secondsSince1970: 1_800_000_000))
        let lease = MemoryLeaderLease(clock: clock)
        let recorder = LogRecorder()
        func coordinator() -> Coordinator {
            Coordinator(
                lease: lease, instance: "warden-a", leaseDuration: .seconds(9), pollInterval: .seconds(5),
                clock: clock, logger: recorder.logger)
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
        defer { Task { await pair.a.stop() } }
        var terms: [String: Int] = [:]
        for _ in 0..<3 {
            pair.clock.advance(seconds: 2)
            await pair.coordinatorA.renewOnce()
            try await pair.cycle(pair.a, pair.coordinatorA, terms: &terms)
        }
        // The lease changes hands behind warden-a's back while it still thinks it may write.
        try await pair.lease.release(instance: await pair.coordinatorA.holder, epoch: 1)
        await pair.coordinatorB.renewOnce()
        #expect(await pair.coordinatorB.role == .leader(epoch: 2))
        #expect(await pair.coordinatorA.mayWrite(), "within its self-fence deadline")
        let id = try #require(await pair.a.ourJobID("orders"))
        try await pair.a.emulator.failJob(id: id)
        let before = pair.a.sends.writeCount
        await pair.a.supervisor.runCycle()
        #expect(pair.a.sends.writeCount == before, "the database refused its intents: nothing sent")
        #expect(pair.a.recorder.events("leader-lost").count == 1)
        #expect(await !(pair.coordinatorA.mayWrite()))
    }

    @Test func aCutOffLeaderStopsAtItsDeadlineAndResumesWhenTheDatabaseIsBack() async throws {
        let pair = try await Self.pair()
        defer { Task { await pair.a.stop() } }
        var terms: [String: Int] = [:]
        for _ in 0..<3 {
            pair.clock.advance(seconds: 2)
            await pair.coordinatorA.renewOnce()
            try await pair.cycle(pair.a, pair.coordinatorA, terms: &terms)
        }
        await pair.lease.setUnreachable(true)
        pair.clock.advance(seconds: 3)
        await pair.coordinatorA.renewOnce()
        #expect(pair.a.recorder.events("coordination-unreachable").count == 1)
        #expect(await pair.coordinatorA.mayWrite(), "the lease still runs")
        pair.clock.advance(seconds: 3.1)
        #expect(await !(pair.coordinatorA.mayWrite()), "two thirds of 9 s since the last renewal")
        #expect(pair.a.recorder.events("leader-lost").count == 1)
        let id = try #require(await pair.a.ourJobID("orders"))
        try await pair.a.emulator.failJob(id: id)
        let before = pair.a.sends.writeCount
        await pair.a.supervisor.runCycle()
        #expect(pair.a.sends.writeCount == before, "no writes while cut off")
        await pair.lease.setUnreachable(false)
        await pair.coordinatorA.renewOnce()
        #expect(await pair.coordinatorA.role == .leader(epoch: 1), "nobody took it: the same lease, renewed")
        #expect(pair.a.recorder.events("leader-acquired").count == 2, "a new term")
        pair.clock.advance(seconds: 2)
        try await pair.cycle(pair.a, pair.coordinatorA, terms: &terms)
        pair.clock.advance(seconds: 2)
        try await pair.cycle(pair.a, pair.coordinatorA, terms: &terms)
        #expect(await Self.running(pair.a), "healed once it leads again")
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
