import Foundation
import PolarisAPI
import PolarisEmulator
import Synchronization
import Testing

@testable import Warden

/// Delta polling against the emulator: a steady cycle costs the same whatever N is, and jobs
/// that change while the list is walked (so they move between its pages) are neither missed
/// nor counted twice.
@Suite struct DeltaPollingScenarioTests {
    static func jobListReads(_ harness: WardenHarness) async -> [RequestRecord] {
        await harness.apiRequests().filter { $0.method == "GET" && $0.path.hasSuffix("/jobs") }
    }

    static func tables(_ count: Int) -> [String] { (0..<count).map { "t\($0)" } }

    @Test func aSteadyCycleReadsTwoPagesWhateverTheNumberOfJobs() async throws {
        for count in [10, 250] {
            let harness = try await WardenHarness.make(jobs: Self.tables(count))
            await harness.cycle()  // the creates (sweep at start)
            await harness.cycle()  // the creates show up (delta)
            await harness.emulator.resetRequestLog()
            await harness.cycle()
            let reads = await Self.jobListReads(harness)
            #expect(reads.count == 2, "\(count) jobs: \(reads.map { $0.query ?? "" })")
            #expect(reads.contains { $0.query?.contains("sortColumn=last_updated_date_time") == true })
            #expect(reads.contains { $0.query?.contains("healthStatus=error") == true })
            await harness.stop()
        }
    }

    @Test func aFullSweepRunsOnSchedule() async throws {
        let harness = try await WardenHarness.make(jobs: Self.tables(3))
        await harness.cycle()
        await harness.emulator.resetRequestLog()
        for _ in 0..<Int(JobIndex.sweepEveryPolls) { await harness.cycle() }
        let sweeps = await Self.jobListReads(harness).filter {
            $0.query?.contains("sortColumn=created_date_time") == true && $0.query?.contains("healthStatus") != true
        }
        #expect(sweeps.count == 1)
        await harness.stop()
    }

    /// 250 jobs, 150 of them fail, so the delta walk needs two pages of 100; while it walks,
    /// 20 more fail (they jump to the top of the list, shifting the rest down a place). Every
    /// failed job is recreated exactly once, none twice, within two cycles of its failure.
    @Test func jobsThatChangeDuringTheWalkAreNeitherMissedNorDoubled() async throws {
        let harness = try await WardenHarness.make(jobs: Self.tables(250))
        await harness.cycle()
        #expect(await harness.cycles(until: { await harness.supervisor.state.jobs.count == 250 }, limit: 3) <= 3)
        await harness.cycle()
        var ids: [String: String] = [:]
        for table in Self.tables(250) { ids[table] = try #require(await harness.aliveJobs(on: table).first?.id) }
        for table in Self.tables(150) { try await harness.emulator.failJob(id: ids[table]!) }
        let lateTables = Array(Self.tables(250).suffix(20))
        let fired = Mutex(false)
        let emulator = harness.emulator
        let lateIDs = lateTables.map { ids[$0]! }
        await emulator.setListPageHook { offset, byLastUpdate in
            guard byLastUpdate, offset > 0, !fired.withLock({ $0 }) else { return }
            fired.withLock { $0 = true }
            for id in lateIDs { try? await emulator.failJob(id: id) }
        }
        await harness.emulator.resetRequestLog()
        await harness.cycle()
        #expect(fired.withLock { $0 }, "the walk reached a second page")
        await harness.emulator.setListPageHook(nil)
        await harness.cycle()
        await harness.cycle()
        for table in Self.tables(150) + lateTables {
            let alive = await harness.aliveJobs(on: table)
            #expect(alive.count == 1, "\(table): \(alive.map(\.id))")
            #expect(alive.first?.id != ids[table], "\(table) was recreated")
        }
        let creates = await harness.writes().filter { $0.method == "POST" && $0.path.hasSuffix("/jobs") }
        #expect(creates.count == 170, "one create per failed job, none twice")
        await harness.stop()
    }
}
