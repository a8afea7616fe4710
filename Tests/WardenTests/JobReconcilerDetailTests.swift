import PolarisAPI
import Testing

@testable import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Payloads, counters and properties the ladder table (labels only) does not show.
@Suite("JobReconciler details")
struct JobReconcilerDetailTests {
    @Test func tableHeldMakesTheNextCreateReplaceRunning() {
        var harness = ReconcilerHarness()
        harness.cycle(nil, outcome: .tableHeldByAnotherJob)
        #expect(harness.machine.needsReplaceRunning)
        #expect(harness.machine.budget.attempts.isEmpty)
        // The replacing create is budgeted like a replace.
        #expect(harness.cycle(nil, outcome: .created(jobID: "j1")) == [.create])
        #expect(harness.machine.budget.attempts.count == 1)
        #expect(!harness.machine.needsReplaceRunning)
        #expect(harness.machine.jobID == "j1")
    }

    @Test func heldAgainDespiteReplaceRunningBacksOff() {
        var harness = ReconcilerHarness(settings: SupervisorSettings())
        harness.cycle(nil, outcome: .tableHeldByAnotherJob)
        let actions = harness.cycle(nil, outcome: .tableHeldByAnotherJob)
        #expect(actions.map(\.testLabel) == ["create", "report:actionFailed"])
        #expect(harness.machine.phase.testLabel == "backingOff")
        #expect(harness.machine.budget.attempts.isEmpty)
        #expect(harness.machine.needsReplaceRunning)
    }

    @Test func adoptingALiveJobClearsReplaceRunning() {
        var harness = ReconcilerHarness()
        harness.cycle(nil, outcome: .tableHeldByAnotherJob)
        harness.machine.adopted(jobID: "j9")
        #expect(!harness.machine.needsReplaceRunning)
        #expect(harness.cycle(okJ1.withID("j9")).isEmpty)
        #expect(harness.machine.jobID == "j9")
    }

    @Test func failedReportCarriesHealthAndRecreatesCountRecoveries() {
        var harness = ReconcilerHarness()
        let actions = harness.cycle(failedJ1, outcome: .created(jobID: "j2"))
        #expect(
            actions == [
                .report(.failedObserved(code: "row_too_large", message: "too big")), .recreate(reason: .failed),
            ])
        #expect(harness.machine.jobID == "j2")
        #expect(harness.machine.recoveries == 1)
        harness.cycle(polarisJob(.suspended, id: "j2"), outcome: .resumed)
        #expect(harness.machine.recoveries == 2)
        // A first create is not a recovery.
        var fresh = ReconcilerHarness()
        fresh.cycle(nil, outcome: .created(jobID: "j1"))
        #expect(fresh.machine.recoveries == 0)
    }

    @Test func stalledReportCarriesTheElapsedTime() {
        var harness = ReconcilerHarness()
        for _ in 0..<5 { harness.cycle(polarisJob(.pending)) }
        let actions = harness.cycle(polarisJob(.pending))
        #expect(actions == [.report(.stalled(.pending, seconds: 75)), .replace(reason: .stalledPending)])
    }

    @Test func unhealthyReportCarriesCountAndCode() {
        var harness = ReconcilerHarness()
        harness.cycle(errorJ1)
        harness.cycle(errorJ1)
        let actions = harness.cycle(errorJ1)
        #expect(
            actions == [
                .report(.unhealthy(consecutive: 3, code: "internal_error", message: nil)), .replace(reason: .unhealthy),
            ])
    }

    @Test func resetOffsetsNeverWithoutTheSetting() {
        var harness = ReconcilerHarness()
        for index in 0..<200 {
            let job = polarisJob(.running, index.isMultiple(of: 3) ? .ok : .staleOffsetsWarning, id: "j\(index / 20)")
            let actions = harness.cycle(job)
            #expect(!actions.contains { if case .write(.resetOffsets) = $0 { true } else { false } })
        }
    }

    @Test func resetOffsetsCarriesTheJobID() {
        var harness = ReconcilerHarness(settings: .reconcilerTable.tweaked { $0.autoResetOffsets = true })
        #expect(harness.cycle(staleJ1) == [.report(.offsetsStale(resetting: true)), .resetOffsets(jobID: "j1")])
    }

    @Test func ambiguousReplaceForgetsTheOldJobSoTheCycleAdopts() {
        var harness = ReconcilerHarness(settings: .reconcilerTable.tweaked { $0.onSpecDrift = .replace })
        harness.cycle(okJ1, drifted: true, outcome: .ambiguous(message: "timeout"))
        #expect(harness.machine.jobID == nil)
        #expect(harness.machine.phase == .recovering)
    }

    @Test func phasesForStatus() {
        var harness = ReconcilerHarness()
        harness.cycle(nil)
        #expect(harness.machine.phase == .creating)
        harness.cycle(polarisJob(.pending))
        #expect(harness.machine.phase == .starting)
        harness.cycle(errorJ1)
        #expect(harness.machine.phase == .unhealthy)
        harness.cycle(okJ1)
        #expect(harness.machine.phase == .running)
        #expect(harness.machine.phase.statusGroup == "running")
        #expect(
            JobPhase.backingOff(until: harness.now.addingTimeInterval(40)).statusNote(now: harness.now)
                == "retry in 40s")
    }

    @Test func neverMoreThanOneWritePerObserve() {
        let statuses: [ExecutionStatus] = ExecutionStatus.documented + [.unrecognized("paused")]
        let healths: [JobHealth] = [
            .ok, .failing("internal_error"), .lostConnectionWarning, .staleOffsetsWarning, .noRowsWarning,
        ]
        let outcomes: [ActionOutcome?] = [
            nil, .created(jobID: "n"), .resumed, .resetDone, .tableHeldByAnotherJob, transient503,
            .failed(terminal: true, message: "400"), .ambiguous(message: "timeout"),
        ]
        for seed in UInt64(1)...40 {
            var chooser = ReconcilerTestRandom(seed: seed)
            let settings = SupervisorSettings().tweaked {
                $0.autoResetOffsets = seed.isMultiple(of: 2)
                $0.onCanceled = seed.isMultiple(of: 3) ? .leave : .recreate
                $0.recreate.windowSeconds = 600
            }
            var harness = ReconcilerHarness(settings: settings, seed: seed)
            var gaveUpReports = 0
            var leftGaveUp = 0
            for cycle in 0..<300 {
                let job: LiveJob? =
                    Int.random(in: 0..<10, using: &chooser) == 0
                    ? nil
                    : polarisJob(
                        statuses.randomElement(using: &chooser)!, healths.randomElement(using: &chooser)!,
                        id: "j\(cycle / 25)")
                let test: ConnectionTestResult? =
                    Bool.random(using: &chooser) ? nil : (Bool.random(using: &chooser) ? .ok : .failed(message: "x"))
                let wasGaveUp = harness.machine.gaveUpSince != nil
                let actions = harness.cycle(
                    JobObservation(
                        job: job, specDrifted: Int.random(in: 0..<8, using: &chooser) == 0, connectionTest: test),
                    outcome: outcomes.randomElement(using: &chooser)!)
                let writes = actions.filter(\.isWrite)
                #expect(writes.count <= 1)
                let left = actions.contains(.report(.leftGaveUp))
                if wasGaveUp, !left { #expect(writes.isEmpty) }
                if !settings.autoResetOffsets {
                    #expect(!writes.contains { if case .write(.resetOffsets) = $0 { true } else { false } })
                }
                for case .report(let report) in actions {
                    if case .gaveUp = report { gaveUpReports += 1 }
                    if case .leftGaveUp = report { leftGaveUp += 1 }
                }
                // Every gave-up report starts a gave-up period that ended before the next one.
                #expect(gaveUpReports - leftGaveUp <= 1)
            }
        }
    }
}
