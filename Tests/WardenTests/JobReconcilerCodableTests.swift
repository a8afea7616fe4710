import PolarisAPI
import Testing

@testable import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite("JobReconciler persistence")
struct JobReconcilerCodableTests {
    static func roundTrip(_ machine: JobReconciler) throws -> JobReconciler {
        try JSONDecoder().decode(JobReconciler.self, from: JSONEncoder().encode(machine))
    }

    @Test func persistedFieldsSurvive() throws {
        var harness = ReconcilerHarness(settings: SupervisorSettings())
        harness.cycle(nil, outcome: .tableHeldByAnotherJob)
        harness.cycle(nil, outcome: .created(jobID: "j1"))
        harness.cycle(failedJ1, outcome: .failed(terminal: true, message: "400"))
        let decoded = try Self.roundTrip(harness.machine)
        #expect(decoded.jobName == "orders")
        #expect(decoded.jobID == "j1")
        #expect(decoded.budget == harness.machine.budget)
        #expect(decoded.nextActionAllowedAt == harness.machine.nextActionAllowedAt)
        #expect(decoded.recoveries == harness.machine.recoveries)
        #expect(decoded.needsReplaceRunning == harness.machine.needsReplaceRunning)
        #expect(decoded.markers == [.failedObserved])
    }

    /// Every marker has a bit of its own, and all of them survive the state file by name.
    @Test func everyMarkerIsABitOfItsOwnAndPersistsByName() throws {
        let all = JobReconciler.Marker.allCases
        #expect(Set(all.map(\.bit)).count == all.count)
        #expect(all.allSatisfy { $0.bit.nonzeroBitCount == 1 })
        var markers: JobReconciler.Markers = []
        for marker in all {
            let first = markers.insert(marker)
            let second = markers.insert(marker)
            #expect(first && !second, "\(marker): inserted once")
        }
        #expect(markers.names == all.map(\.rawValue).sorted())
        #expect(JobReconciler.Markers(markers.names.compactMap(JobReconciler.Marker.init(rawValue:))) == markers)
        markers.subtract([.drifted, .stalled])
        #expect(!markers.contains(.drifted) && !markers.contains(.stalled) && markers.contains(.unhealthy))
        var machine = JobReconciler(jobName: "orders")
        machine.markers = markers
        #expect(try Self.roundTrip(machine).markers == markers)
    }

    @Test func gaveUpSurvivesARestartWithoutASecondReport() throws {
        var harness = CrashLoopBudgetTests.gaveUpHarness()
        harness.machine = try Self.roundTrip(harness.machine)
        #expect(harness.machine.phase.testLabel == "gaveUp")
        for _ in 0..<20 { #expect(harness.cycle(failedJ1.withID("j2")).isEmpty) }
        harness.machine.retry(now: harness.now)
        #expect(harness.cycle(failedJ1.withID("j2")) == [.recreate(reason: .failed)])
    }

    @Test func reportedOnceMarkersSurviveARestart() throws {
        var harness = ReconcilerHarness(settings: .reconcilerTable.tweaked { $0.onCanceled = .leave })
        #expect(harness.cycle(polarisJob(.canceled)) == [.report(.leftCanceled)])
        harness.machine = try Self.roundTrip(harness.machine)
        #expect(harness.cycle(polarisJob(.canceled)).isEmpty)
        #expect(harness.machine.phase == .canceledLeft)
    }

    @Test func offsetsAreNotResetTwiceAcrossARestart() throws {
        var harness = ReconcilerHarness(settings: .reconcilerTable.tweaked { $0.autoResetOffsets = true })
        harness.cycle(staleJ1, outcome: .resetDone)
        harness.machine = try Self.roundTrip(harness.machine)
        #expect(harness.cycle(staleJ1).filter(\.isWrite).isEmpty)
    }

    @Test func backoffSurvivesARestart() throws {
        var harness = ReconcilerHarness(settings: SupervisorSettings())
        let start = harness.now
        harness.cycle(nil, outcome: .failed(terminal: true, message: "400"))
        harness.machine = try Self.roundTrip(harness.machine)
        #expect(harness.cycle(nil).isEmpty)
        #expect(harness.machine.phase == .backingOff(until: start.addingTimeInterval(300)))
    }

    @Test func datesAreSecondsSince1970() throws {
        var harness = ReconcilerHarness(settings: SupervisorSettings())
        harness.cycle(nil, outcome: .failed(terminal: true, message: "400"))
        struct Stored: Decodable {
            struct Budget: Decodable {
                var attempts: [Double]
                var nextActionAllowedAt: Double?
            }
            var budget: Budget
        }
        let stored = try JSONDecoder().decode(Stored.self, from: JSONEncoder().encode(harness.machine))
        #expect(stored.budget.nextActionAllowedAt == 1_700_000_300)
        #expect(stored.budget.attempts == [1_700_000_000])
    }

    @Test func decodesAMinimalAndAFutureRecord() throws {
        let minimal = try JSONDecoder().decode(JobReconciler.self, from: Data(#"{"jobName":"orders"}"#.utf8))
        #expect(minimal == JobReconciler(jobName: "orders"))
        let future = try JSONDecoder().decode(
            JobReconciler.self,
            from: Data(#"{"jobName":"orders","jobID":"j1","reported":["leftCanceled","somethingNew"],"extra":1}"#.utf8))
        #expect(future.jobID == "j1")
        #expect(future.markers == [.leftCanceled])
        #expect(future.phase == .starting)
    }

    @Test func observationCountersRestartFromZero() throws {
        var harness = ReconcilerHarness()
        harness.cycle(errorJ1)
        harness.cycle(errorJ1)
        harness.machine = try Self.roundTrip(harness.machine)
        // The count starts again: a restart delays a replace, it never acts on stale evidence.
        #expect(harness.cycle(errorJ1).isEmpty)
        #expect(harness.cycle(errorJ1).isEmpty)
        #expect(harness.cycle(errorJ1).filter(\.isWrite) == [.replace(reason: .unhealthy)])
    }
}

@Suite struct JobPhaseCodableTests {
    @Test(arguments: [
        JobPhase.creating, .starting, .running, .unhealthy, .sourceUnreachable, .offsetsStale, .drifted, .recovering,
        .backingOff(until: Date(timeIntervalSince1970: 1_800_000_040)), .suspendedLeft, .canceledLeft, .statusUnknown,
        .unrecognized("hibernating"), .gaveUp(since: Date(timeIntervalSince1970: 1_800_000_000)),
    ])
    func everyPhaseRoundTrips(_ phase: JobPhase) throws {
        let decoded = try JSONDecoder().decode(JobPhase.self, from: try JSONEncoder().encode(phase))
        #expect(decoded == phase)
    }

    @Test func theLastPhaseSurvivesTheStateFileForStatus() throws {
        var reconciler = JobReconciler(jobName: "orders")
        var random = SeededRandom(seed: 1)
        _ = reconciler.observe(
            JobObservation(job: nil), settings: SupervisorSettings(), now: Date(timeIntervalSince1970: 1_800_000_000),
            random: &random)
        let decoded = try JSONDecoder().decode(JobReconciler.self, from: try JSONEncoder().encode(reconciler))
        #expect(decoded.phase == reconciler.phase)
    }
}
