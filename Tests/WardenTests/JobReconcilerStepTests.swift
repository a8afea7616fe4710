import PolarisAPI
import Testing

@testable import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What each event returns (`JobStep`) and where the job stands (`Standing`): the write carries
/// everything the executor needs, and `record` is told which write it is about.
@Suite("JobReconciler steps and standing")
struct JobReconcilerStepTests {
    @Test func aFirstCreateNeitherTakesTheTableOverNorConsumesTheBudget() {
        var harness = ReconcilerHarness()
        harness.cycle(nil)
        #expect(harness.lastWrite == JobWrite(.create, replaceRunning: false, consumesBudget: false))
    }

    @Test func aCreateAfterATableHeldRefusalCarriesReplaceRunningAndItsBudget() {
        var harness = ReconcilerHarness()
        harness.cycle(nil, outcome: .tableHeldByAnotherJob)
        harness.cycle(nil)
        #expect(harness.lastWrite == JobWrite(.create, replaceRunning: true, consumesBudget: true))
    }

    @Test func aRecreateOfAFailedJobConsumesTheBudgetWithoutTakingTheTableOver() {
        var harness = ReconcilerHarness()
        harness.cycle(failedJ1)
        #expect(
            harness.lastWrite == JobWrite(.recreate(reason: .failed), replaceRunning: false, consumesBudget: true))
    }

    @Test func aReplaceAlwaysTakesTheTableOver() {
        var harness = ReconcilerHarness()
        for _ in 0..<harness.settings.unhealthyThreshold { harness.cycle(errorJ1) }
        #expect(
            harness.lastWrite == JobWrite(.replace(reason: .unhealthy), replaceRunning: true, consumesBudget: true))
    }

    @Test func aResumeAndAConnectionTestAreFreeOfBudget() {
        var harness = ReconcilerHarness()
        harness.cycle(polarisJob(.suspended))
        #expect(harness.lastWrite == JobWrite(.resume(jobID: "j1")))
        var lost = ReconcilerHarness()
        for _ in 0..<lost.settings.lostConnectionThreshold { lost.cycle(polarisJob(.running, .lostConnectionWarning)) }
        #expect(lost.lastWrite == JobWrite(.testConnection))
    }

    @Test func aFailureChargedToAnIncidentHealsWithoutBudget() {
        var harness = ReconcilerHarness()
        harness.cycle(JobObservation(job: failedJ1, failureAttributed: true))
        #expect(harness.lastWrite == JobWrite(.recreate(reason: .failed), consumesBudget: false))
        #expect(harness.machine.budget.attempts.isEmpty)
    }

    /// `record` trusts the write it is given, not what the machine issued last: a transient
    /// failure of a budgeted write gives its attempt back.
    @Test func recordRefundsExactlyTheBudgetTheWriteSaysItTook() throws {
        var machine = JobReconciler(jobName: "orders")
        var random = SeededRandom(seed: 1)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let settings = SupervisorSettings.reconcilerTable
        let step = machine.observe(JobObservation(job: failedJ1), settings: settings, now: now, random: &random)
        #expect(machine.budget.attempts.count == 1)
        let write = try #require(step.write)
        let followUp = machine.record(
            .failed(terminal: false, message: "503"), of: write, settings: settings, now: now, random: &random)
        #expect(followUp.write == nil)
        #expect(followUp.reports.map { String(describing: $0).hasPrefix("actionFailed") } == [true])
        #expect(machine.budget.attempts.isEmpty)
    }

    @Test func theStandingFollowsACreatedJobUntilTheListingShowsIt() {
        var harness = ReconcilerHarness()
        harness.cycle(nil, outcome: .created(jobID: "j1"))
        #expect(harness.machine.standing == .created(jobID: "j1"))
        // Missing from one listing: wait, remember the id.
        #expect(harness.cycle(nil).isEmpty)
        #expect(harness.machine.standing == .unseen(jobID: "j1", tableHeld: false))
        // Missing again: it is gone, a create is due.
        #expect(harness.cycle(nil) == [.create])
        #expect(harness.machine.standing == .noJob(tableHeld: false))
    }

    @Test func aSeenJobCarriesItsEvidence() {
        var harness = ReconcilerHarness()
        harness.cycle(errorJ1)
        harness.cycle(errorJ1)
        guard case .seen(let id, let evidence) = harness.machine.standing else {
            Issue.record("expected .seen, got \(harness.machine.standing)")
            return
        }
        #expect(id == "j1")
        #expect(evidence.status == .running)
        #expect(evidence.errorCycles == 2)
        #expect(evidence.healthyCycles == 0)
    }

    @Test func aRestoredJobIsUnseenUntilTheFirstListing() throws {
        var harness = ReconcilerHarness()
        harness.cycle(nil, outcome: .tableHeldByAnotherJob)
        harness.cycle(failedJ1)
        let restored = try JSONDecoder().decode(
            JobReconciler.self, from: try JSONEncoder().encode(harness.machine))
        #expect(restored.standing == .unseen(jobID: "j1", tableHeld: true))
        #expect(restored.needsReplaceRunning)
    }

    @Test func retryAndSpecChangeReturnNothingToDoNow() {
        var harness = ReconcilerHarness()
        #expect(harness.machine.retry(now: harness.now).isEmpty)
        #expect(harness.machine.specChanged(now: harness.now).isEmpty)
    }
}
