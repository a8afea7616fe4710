import PolarisAPI
import Testing

@testable import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite("Crash-loop budget and backoff")
struct CrashLoopBudgetTests {
    static let defaults = SupervisorSettings.Recreate()

    @Test(arguments: [(1, 5.0), (2, 10), (3, 20), (4, 40), (5, 80), (6, 160), (7, 300), (8, 300), (64, 300), (0, 0)])
    func ceilingDoublesUpToTheCap(attempt: Int, ceiling: Double) {
        #expect(CrashLoopBudget.backoffCeiling(attempt: attempt, settings: Self.defaults) == ceiling)
    }

    @Test func fullJitterStaysWithinZeroAndTheCeilingForManySeeds() {
        var settingsList = [Self.defaults]
        var odd = SupervisorSettings.Recreate()
        odd.backoffInitialSeconds = 0.7
        odd.backoffMaxSeconds = 45
        settingsList.append(odd)
        for settings in settingsList {
            for n in 1...20 {
                let ceiling = min(settings.backoffMaxSeconds, settings.backoffInitialSeconds * pow2(n - 1))
                var samples: [Double] = []
                for seed in UInt64(0)..<500 {
                    var random = ReconcilerTestRandom(seed: seed &* 7919 &+ UInt64(n))
                    let delay = CrashLoopBudget.backoffDelay(attempt: n, settings: settings, random: &random)
                    #expect(delay >= 0 && delay <= ceiling)
                    samples.append(delay)
                }
                // Full jitter: the whole range is used, not a fixed delay.
                #expect(samples.min()! < ceiling * 0.1)
                #expect(samples.max()! > ceiling * 0.9)
            }
        }
    }

    @Test func machineBackoffBetweenConsecutiveAttemptsIsBoundedByTheCeiling() {
        let settings = SupervisorSettings().tweaked { $0.recreate.maxAttempts = 1000 }
        for seed in UInt64(1)...60 {
            var harness = ReconcilerHarness(settings: settings, seed: seed)
            var attempt = 0
            var writesWhileBackingOff = 0
            for index in 0..<400 {
                let before = harness.now
                let actions = harness.cycle(failedJ1.withID("j\(attempt)"), outcome: .created(jobID: "j\(attempt + 1)"))
                if actions.contains(where: \.isWrite) {
                    attempt += 1
                    let ceiling = CrashLoopBudget.backoffCeiling(attempt: attempt, settings: settings.recreate)
                    let delay = harness.machine.nextActionAllowedAt.map { $0.timeIntervalSince(before) } ?? 0
                    #expect(delay >= 0 && delay <= ceiling, "attempt \(attempt)")
                    #expect(harness.machine.budget.consecutive == attempt)
                } else {
                    #expect(harness.machine.phase.testLabel == "backingOff", "cycle \(index)")
                    if case .backingOff(let until) = harness.machine.phase, until <= before {
                        writesWhileBackingOff += 1
                    }
                }
            }
            #expect(writesWhileBackingOff == 0)
            #expect(attempt > 10)
        }
    }

    @Test func healthyThresholdResetsTheBackoffExponentButNotTheWindow() {
        var harness = ReconcilerHarness()
        harness.cycle(failedJ1, outcome: .created(jobID: "j2"))
        harness.cycle(failedJ1.withID("j2"), outcome: .created(jobID: "j3"))
        #expect(harness.machine.budget.consecutive == 2)
        harness.cycle(okJ1.withID("j3"))
        harness.cycle(okJ1.withID("j3"))
        #expect(harness.machine.budget.consecutive == 2)
        #expect(harness.cycle(okJ1.withID("j3")) == [.report(.recovered)])
        #expect(harness.machine.budget.consecutive == 0)
        #expect(harness.machine.nextActionAllowedAt == nil)
        #expect(harness.machine.budget.attempts.count == 2)
    }

    @Test func transientFailureGivesTheAttemptBackAndBacksOff() {
        var harness = ReconcilerHarness(settings: SupervisorSettings())
        let start = harness.now
        let actions = harness.cycle(failedJ1, outcome: .failed(terminal: false, message: "503"))
        #expect(harness.machine.budget.attempts.isEmpty)
        #expect(harness.machine.budget.consecutive == 1)
        guard case .report(.actionFailed(.recreate(.failed), false, "503", let retryIn)) = actions.last else {
            Issue.record("no actionFailed report: \(actions)")
            return
        }
        #expect((0...5).contains(retryIn))
        let until = harness.machine.nextActionAllowedAt ?? .distantFuture
        #expect(until.timeIntervalSince(start) <= 5)
        #expect(harness.machine.phase.testLabel == "backingOff")
    }

    @Test func terminalFailureWaitsTheCapWithoutJitterAndCharges() {
        var harness = ReconcilerHarness(settings: SupervisorSettings())
        let start = harness.now
        let actions = harness.cycle(nil, outcome: .failed(terminal: true, message: "400 invalid"))
        #expect(
            actions == [
                .create, .report(.actionFailed(.create, terminal: true, message: "400 invalid", retryInSeconds: 300)),
            ])
        #expect(harness.machine.nextActionAllowedAt == start.addingTimeInterval(300))
        #expect(harness.machine.budget.attempts.count == 1)
        // 19 more cycles (285 s) without a write, then the create again.
        for _ in 0..<19 { #expect(harness.cycle(nil).isEmpty) }
        #expect(harness.machine.phase == .backingOff(until: start.addingTimeInterval(300)))
        #expect(harness.cycle(nil) == [.create])
    }

    @Test func gaveUpIsReportedExactlyOnceAcrossManyCycles() {
        var harness = ReconcilerHarness(settings: .reconcilerTable(budget: 2))
        var gaveUp = 0
        var writes = 0
        // 200 cycles of 15 s stay inside the one-hour window.
        for index in 0..<200 {
            let job: LiveJob? = [failedJ1, errorJ1, polarisJob(.canceled), polarisJob(.suspended), nil][index % 5]
            let actions = harness.cycle(job, outcome: .created(jobID: "j1"))
            gaveUp += actions.filter { $0 == .report(.gaveUp(attempts: 2, windowSeconds: 3600)) }.count
            if harness.machine.gaveUpSince != nil { writes += actions.filter(\.isWrite).count }
        }
        #expect(gaveUp == 1)
        #expect(writes == 0)
        #expect(harness.machine.phase.testLabel == "gaveUp")
    }

    static func gaveUpHarness() -> ReconcilerHarness {
        var harness = ReconcilerHarness(settings: .reconcilerTable(budget: 1))
        harness.cycle(failedJ1, outcome: .created(jobID: "j2"))
        #expect(harness.cycle(failedJ1.withID("j2")).map(\.testLabel) == ["report:failedObserved", "report:gaveUp"])
        #expect(harness.cycle(failedJ1.withID("j2")).isEmpty)
        return harness
    }

    @Test func retryLeavesGaveUpAndClearsTheBudget() {
        var harness = Self.gaveUpHarness()
        harness.machine.retry(now: harness.now)
        #expect(harness.machine.gaveUpSince == nil)
        #expect(harness.machine.budget == CrashLoopBudget())
        #expect(harness.cycle(failedJ1.withID("j2"), outcome: .created(jobID: "j3")) == [.recreate(reason: .failed)])
        // A new exhaustion is a new gave-up period with its own single report.
        #expect(harness.cycle(failedJ1.withID("j3")).map(\.testLabel) == ["report:failedObserved", "report:gaveUp"])
    }

    @Test func specChangeLeavesGaveUp() {
        var harness = Self.gaveUpHarness()
        harness.machine.specChanged(now: harness.now)
        #expect(harness.machine.gaveUpSince == nil)
        #expect(harness.cycle(failedJ1.withID("j2")) == [.recreate(reason: .failed)])
    }

    @Test func specChangeLetsDriftBeReportedAgainstTheNewSpec() {
        var harness = ReconcilerHarness(settings: .reconcilerTable.tweaked { $0.onSpecDrift = .report })
        #expect(harness.cycle(okJ1, drifted: true) == [.report(.drifted)])
        #expect(harness.cycle(okJ1, drifted: true).isEmpty)
        harness.machine.specChanged(now: harness.now)
        #expect(harness.cycle(okJ1, drifted: true) == [.report(.drifted)])
    }

    @Test func windowPassingLeavesGaveUpByItself() {
        var harness = ReconcilerHarness(settings: .reconcilerTable(budget: 1, windowSeconds: 150))
        harness.cycle(failedJ1, outcome: .created(jobID: "j2"))
        #expect(harness.cycle(failedJ1.withID("j2")).contains(.report(.gaveUp(attempts: 1, windowSeconds: 150))))
        // The attempt was at t0; it leaves the window at t0 + 150 s, the 11th cycle.
        for _ in 2..<10 { #expect(harness.cycle(failedJ1.withID("j2")).isEmpty) }
        #expect(harness.cycle(failedJ1.withID("j2")) == [.report(.leftGaveUp), .recreate(reason: .failed)])
    }

    @Test func gaveUpMachineStillNoticesHealthButStaysQuiet() {
        var harness = Self.gaveUpHarness()
        for _ in 0..<10 { #expect(harness.cycle(okJ1.withID("j5")).filter(\.isWrite).isEmpty) }
        #expect(harness.machine.phase.testLabel == "gaveUp")
        #expect(harness.machine.budget.consecutive == 0)
    }
}

private func pow2(_ exponent: Int) -> Double {
    var value = 1.0
    for _ in 0..<max(0, exponent) { value *= 2 }
    return value
}
