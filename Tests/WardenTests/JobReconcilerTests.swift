import PolarisAPI
import Testing

@testable import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// MARK: - Harness

/// The production generator (SplitMix64), seeded, so jitter is reproducible.
typealias ReconcilerTestRandom = SeededRandom

/// Feeds observations to one machine with a fake clock advancing by the poll interval.
struct ReconcilerHarness {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    var machine = JobReconciler(jobName: "orders")
    var settings: SupervisorSettings
    var now = ReconcilerHarness.start
    var random: ReconcilerTestRandom

    init(settings: SupervisorSettings = .reconcilerTable, seed: UInt64 = 1) {
        self.settings = settings
        random = ReconcilerTestRandom(seed: seed)
    }

    /// The write of the last cycle, as the executor would get it.
    var lastWrite: JobWrite?

    /// One cycle: observe; when a write comes out and `outcome` is given, record it (its follow-up
    /// reports are appended); then the clock moves on by one poll interval.
    @discardableResult
    mutating func cycle(_ observation: JobObservation, outcome: ActionOutcome? = nil) -> [Emitted] {
        let step = machine.observe(observation, settings: settings, now: now, random: &random)
        var emitted = step.reports.map(Emitted.report) + (step.write.map { [.write($0.action)] } ?? [])
        lastWrite = step.write
        if let outcome, let write = step.write {
            let followUp = machine.record(outcome, of: write, settings: settings, now: now, random: &random)
            emitted += followUp.reports.map(Emitted.report)
        }
        now = now.addingTimeInterval(settings.pollIntervalSeconds)
        return emitted
    }

    @discardableResult
    mutating func cycle(
        _ job: LiveJob?, drifted: Bool = false, test: ConnectionTestResult? = nil, outcome: ActionOutcome? = nil
    ) -> [Emitted] {
        cycle(JobObservation(job: job, specDrifted: drifted, connectionTest: test), outcome: outcome)
    }

    /// Labels of `cycle`, for compact expectations.
    mutating func labels(
        _ job: LiveJob?, drifted: Bool = false, test: ConnectionTestResult? = nil, outcome: ActionOutcome? = nil
    ) -> [String] {
        cycle(job, drifted: drifted, test: test, outcome: outcome).map(\.testLabel)
    }
}

extension SupervisorSettings {
    /// Defaults, but jitter-free backoff (ceiling 0) so tables are exact; the cap (terminal
    /// failures, connection re-tests) stays 60 s.
    static var reconcilerTable: SupervisorSettings {
        var settings = SupervisorSettings()
        settings.recreate.backoffInitialSeconds = 0
        settings.recreate.backoffMaxSeconds = 60
        settings.pendingTimeoutSeconds = 60
        settings.unknownTimeoutSeconds = 60
        return settings
    }

    /// ``reconcilerTable`` with a crash-loop budget of `maxAttempts` recreations within
    /// `windowSeconds` (the default window unless given).
    static func reconcilerTable(budget maxAttempts: Int, windowSeconds: Double? = nil) -> SupervisorSettings {
        reconcilerTable.tweaked {
            $0.recreate.maxAttempts = maxAttempts
            if let windowSeconds { $0.recreate.windowSeconds = windowSeconds }
        }
    }

    func tweaked(_ change: (inout SupervisorSettings) -> Void) -> SupervisorSettings {
        var copy = self
        change(&copy)
        return copy
    }
}

/// What one cycle emitted, in order (the step's reports, its write, then `record`'s reports),
/// so a table row reads as one list.
enum Emitted: Hashable {
    case report(JobReport)
    case write(JobAction)

    static let create = Emitted.write(.create)
    static let testConnection = Emitted.write(.testConnection)
    static func recreate(reason: HealReason) -> Emitted { .write(.recreate(reason: reason)) }
    static func replace(reason: HealReason) -> Emitted { .write(.replace(reason: reason)) }
    static func resume(jobID: String) -> Emitted { .write(.resume(jobID: jobID)) }
    static func resetOffsets(jobID: String) -> Emitted { .write(.resetOffsets(jobID: jobID)) }

    var isWrite: Bool {
        if case .write = self { return true }
        return false
    }

    var testLabel: String {
        switch self {
        case .write(.create): "create"
        case .write(.recreate(let reason)): "recreate(\(reason.rawValue))"
        case .write(.replace(let reason)): "replace(\(reason.rawValue))"
        case .write(.resume): "resume"
        case .write(.resetOffsets): "reset"
        case .write(.testConnection): "test"
        case .report(let report): "report:" + String(String(describing: report).prefix { $0 != "(" })
        }
    }
}

extension JobPhase {
    var testLabel: String { String(String(describing: self).prefix { $0 != "(" }) }
}

extension JobHealth {
    static func failing(_ code: String, _ message: String? = nil) -> JobHealth {
        JobHealth(status: .error, code: code, message: message)
    }
    static let lostConnectionWarning = JobHealth(status: .warn, code: "lost_connection_to_source")
    static let staleOffsetsWarning = JobHealth(status: .warn, code: "unable_to_proceed")
    static let noRowsWarning = JobHealth(status: .warn, code: "no_rows_found")
}

/// A job as the cycle observed it.
func polarisJob(_ status: ExecutionStatus, _ health: JobHealth = .ok, id: String = "j1") -> LiveJob {
    LiveJob(id: id, executionStatus: status, health: health)
}

// MARK: - Table

/// One cycle of a scenario, repeated `times` times with the same expectation.
struct ReconcilerStep: Sendable {
    var job: LiveJob?
    var drifted = false
    var test: ConnectionTestResult?
    var outcome: ActionOutcome?
    var expect: [String]
    var times = 1
}

func step(
    _ job: LiveJob?, drifted: Bool = false, test: ConnectionTestResult? = nil, then outcome: ActionOutcome? = nil,
    _ expect: [String] = [], times: Int = 1
) -> ReconcilerStep {
    ReconcilerStep(job: job, drifted: drifted, test: test, outcome: outcome, expect: expect, times: times)
}

struct ReconcilerScenario: Sendable, CustomTestStringConvertible {
    var name: String
    var settings: SupervisorSettings = .reconcilerTable
    var steps: [ReconcilerStep]
    var phase: String

    var testDescription: String { name }
}

let failedJ1 = polarisJob(.failed, .failing("row_too_large", "too big"))
let errorJ1 = polarisJob(.running, .failing("internal_error"))
let okJ1 = polarisJob(.running)
let lostJ1 = polarisJob(.running, .lostConnectionWarning)
let staleJ1 = polarisJob(.running, .staleOffsetsWarning)
let transient503 = ActionOutcome.failed(terminal: false, message: "503")

/// With `recreate.maxAttempts` 3: j1 fails and is recreated as j2, j3 and j4 in turn; j4's
/// failure finds the budget spent and the reconciler gives up.
let threeRecreatesThenGaveUp: [ReconcilerStep] = [
    step(failedJ1, then: .created(jobID: "j2"), ["report:failedObserved", "recreate(failed)"]),
    step(failedJ1.withID("j2"), then: .created(jobID: "j3"), ["report:failedObserved", "recreate(failed)"]),
    step(failedJ1.withID("j3"), then: .created(jobID: "j4"), ["report:failedObserved", "recreate(failed)"]),
    step(failedJ1.withID("j4"), ["report:failedObserved", "report:gaveUp"]),
]

let reconcilerScenarios: [ReconcilerScenario] = [
    // No job.
    .init(
        name: "no job: create, then the new job starts and runs",
        steps: [
            step(nil, then: .created(jobID: "j1"), ["create"]),
            step(polarisJob(.pending)), step(okJ1),
        ], phase: "running"),
    .init(
        name: "a new job missing from one listing is awaited, not created twice",
        steps: [step(nil, then: .created(jobID: "j1"), ["create"]), step(nil), step(nil, ["create"])], phase: "creating"
    ),
    .init(
        name: "table held by another job: report, the next create replaces it",
        steps: [
            step(nil, then: .tableHeldByAnotherJob, ["create", "report:tableHeld"]),
            step(nil, then: .created(jobID: "j1"), ["create"]), step(okJ1),
        ], phase: "running"),
    .init(
        name: "recreate refused because the table is held: sent again, replacing",
        steps: [
            step(
                failedJ1, then: .tableHeldByAnotherJob,
                ["report:failedObserved", "recreate(failed)", "report:tableHeld"]),
            step(failedJ1, then: .created(jobID: "j2"), ["recreate(failed)"]), step(okJ1.withID("j2")),
        ], phase: "running"),
    .init(
        name: "ambiguous create: no blind re-post, the adopted job decides",
        steps: [
            step(nil, then: .ambiguous(message: "timeout"), ["create", "report:outcomeUnknown"]),
            step(okJ1.withID("j7"), times: 3),
        ], phase: "running"),
    .init(
        name: "ambiguous create and still no job: create again",
        steps: [
            step(nil, then: .ambiguous(message: "timeout"), ["create", "report:outcomeUnknown"]), step(nil, ["create"]),
        ],
        phase: "creating"),
    .init(
        name: "transient503 create failure: backoff, then create again",
        steps: [step(nil, then: transient503, ["create", "report:actionFailed"]), step(nil, ["create"])],
        phase: "creating"),
    .init(
        name: "terminal create failure: wait the longest backoff (60 s), then try again",
        steps: [
            step(nil, then: .failed(terminal: true, message: "400 bad spec"), ["create", "report:actionFailed"]),
            step(nil, times: 3), step(nil, ["create"]),
        ], phase: "creating"),

    // Terminal statuses.
    .init(
        name: "failed: report once per job, recreate",
        steps: [
            step(failedJ1, then: transient503, ["report:failedObserved", "recreate(failed)", "report:actionFailed"]),
            step(failedJ1, then: .created(jobID: "j2"), ["recreate(failed)"]), step(okJ1.withID("j2")),
        ], phase: "running"),
    .init(
        name: "completed streaming job: treated like failed",
        steps: [
            step(
                polarisJob(.completed), then: .created(jobID: "j2"),
                ["report:completedObserved", "recreate(completed)"]),
            step(okJ1.withID("j2")),
        ], phase: "running"),
    .init(
        name: "canceled, onCanceled recreate",
        steps: [
            step(polarisJob(.canceled), then: .created(jobID: "j2"), ["recreate(canceled)"]), step(okJ1.withID("j2")),
        ],
        phase: "running"),
    .init(
        name: "canceled, onCanceled leave: report once, never write",
        settings: .reconcilerTable.tweaked { $0.onCanceled = .leave },
        steps: [step(polarisJob(.canceled), ["report:leftCanceled"]), step(polarisJob(.canceled), times: 20)],
        phase: "canceledLeft"),

    // Suspended.
    .init(
        name: "suspended, onSuspended resume: at most once per cycle",
        steps: [
            step(polarisJob(.suspended), then: .resumed, ["resume"]),
            step(polarisJob(.suspended), then: .resumed, ["resume"]),
            step(polarisJob(.pending)), step(okJ1),
        ], phase: "running"),
    .init(
        name: "suspended resume fails: backoff applies, retried next cycle",
        steps: [
            step(polarisJob(.suspended), then: transient503, ["resume", "report:actionFailed"]),
            step(polarisJob(.suspended), then: .resumed, ["resume"]),
        ], phase: "starting"),
    .init(
        name: "suspended, onSuspended leave: report once per suspension",
        settings: .reconcilerTable.tweaked { $0.onSuspended = .leave },
        steps: [
            step(polarisJob(.suspended), ["report:leftSuspended"]), step(polarisJob(.suspended), times: 5),
            step(okJ1), step(polarisJob(.suspended), ["report:leftSuspended"]),
        ], phase: "suspendedLeft"),

    // Error health.
    .init(name: "error below the threshold: nothing", steps: [step(errorJ1, times: 2)], phase: "unhealthy"),
    .init(
        name: "error for the threshold: report once, replace",
        steps: [
            step(errorJ1, times: 2),
            step(errorJ1, then: .created(jobID: "j2"), ["report:unhealthy", "replace(unhealthy)"]),
            step(okJ1.withID("j2")),
        ], phase: "running"),
    .init(
        name: "unhealthy reported once while the replace keeps failing",
        steps: [
            step(errorJ1, times: 2),
            step(errorJ1, then: transient503, ["report:unhealthy", "replace(unhealthy)", "report:actionFailed"]),
            step(errorJ1, then: transient503, ["replace(unhealthy)", "report:actionFailed"]),
        ], phase: "backingOff"),
    .init(
        name: "flapping ok/error still accumulates",
        steps: [
            step(errorJ1), step(okJ1), step(errorJ1), step(okJ1),
            step(errorJ1, ["report:unhealthy", "replace(unhealthy)"]),
        ], phase: "recovering"),
    .init(
        name: "healthyThreshold ok cycles reset the error count",
        steps: [
            step(errorJ1, times: 2), step(okJ1, times: 2), step(okJ1, ["report:recovered"]), step(errorJ1, times: 2),
            step(errorJ1, ["report:unhealthy", "replace(unhealthy)"]),
        ], phase: "recovering"),
    .init(
        name: "a warning interrupts a healthy streak",
        steps: [
            step(errorJ1, times: 2), step(okJ1, times: 2), step(polarisJob(.running, .noRowsWarning)),
            step(okJ1, times: 2),
            step(errorJ1, ["report:unhealthy", "replace(unhealthy)"]),
        ], phase: "recovering"),
    .init(
        name: "healthy steady state: no actions",
        steps: [
            step(okJ1, times: 30), step(polarisJob(.idle), times: 5),
            step(polarisJob(.running, .noRowsWarning), times: 5),
        ],
        phase: "running"),

    // Lost connection.
    .init(
        name: "lost connection: test; a failing test reports once, no replace, re-test after 60 s",
        steps: [
            step(lostJ1, times: 2), step(lostJ1, ["test"]),
            step(lostJ1, test: .failed(message: "AccessDenied"), ["report:sourceUnreachable"]),
            step(lostJ1, times: 3), step(lostJ1, ["test"]), step(lostJ1, test: .failed(message: "AccessDenied")),
            step(lostJ1, times: 3),
        ], phase: "sourceUnreachable"),
    .init(
        name: "lost connection: a passing test replaces",
        steps: [
            step(lostJ1, times: 2), step(lostJ1, ["test"]),
            step(lostJ1, test: .ok, then: .created(jobID: "j2"), ["replace(lostConnection)"]),
            step(okJ1.withID("j2")),
        ], phase: "running"),
    .init(
        name: "lost connection interrupted before the threshold: nothing",
        steps: [step(lostJ1, times: 2), step(okJ1), step(lostJ1, times: 2)], phase: "unhealthy"),
    .init(
        name: "a failed test request is not a test result: tested again",
        steps: [
            step(lostJ1, times: 2), step(lostJ1, then: transient503, ["test"]), step(lostJ1, ["test"]),
            step(lostJ1, test: .ok, ["replace(lostConnection)"]),
        ], phase: "recovering"),

    // Pending and unknown.
    .init(name: "pending up to the timeout: nothing", steps: [step(polarisJob(.pending), times: 5)], phase: "starting"),
    .init(
        name: "pending past the timeout: report stalled once, replace",
        steps: [
            step(polarisJob(.pending), times: 5),
            step(
                polarisJob(.pending), then: transient503,
                ["report:stalled", "replace(stalledPending)", "report:actionFailed"]),
            step(polarisJob(.pending), ["replace(stalledPending)"]),
        ], phase: "recovering"),
    .init(
        name: "unknown up to the timeout: nothing", steps: [step(polarisJob(.unknown), times: 5)],
        phase: "statusUnknown"
    ),
    .init(
        name: "unknown past the timeout: report stalled, replace",
        steps: [
            step(polarisJob(.unknown), times: 5),
            step(polarisJob(.unknown), ["report:stalled", "replace(stalledUnknown)"]),
        ],
        phase: "recovering"),
    .init(
        name: "the stall clock restarts when the status changes",
        steps: [step(polarisJob(.pending), times: 4), step(okJ1), step(polarisJob(.pending), times: 5)],
        phase: "starting"),

    // Spec drift.
    .init(
        name: "drift, onSpecDrift replace",
        steps: [
            step(okJ1, drifted: true, then: .created(jobID: "j2"), ["replace(specDrift)"]), step(okJ1.withID("j2")),
        ],
        phase: "running"),
    .init(
        name: "drift, onSpecDrift report: once per drift episode",
        settings: .reconcilerTable.tweaked { $0.onSpecDrift = .report },
        steps: [
            step(okJ1, drifted: true, ["report:drifted"]), step(okJ1, drifted: true, times: 3), step(okJ1),
            step(okJ1, drifted: true, ["report:drifted"]),
        ], phase: "drifted"),

    // Stale offsets.
    .init(
        name: "stale offsets, autoResetOffsets off: report once, never reset",
        steps: [step(staleJ1, ["report:offsetsStale"]), step(staleJ1, times: 30)], phase: "offsetsStale"),
    .init(
        name: "stale offsets, autoResetOffsets on: reset once per job",
        settings: .reconcilerTable.tweaked { $0.autoResetOffsets = true },
        steps: [
            step(staleJ1, then: .resetDone, ["report:offsetsStale", "reset"]), step(staleJ1, times: 10), step(okJ1),
            step(staleJ1, ["report:offsetsStale"]),
        ], phase: "offsetsStale"),
    .init(
        name: "stale offsets reset fails transiently: tried again",
        settings: .reconcilerTable.tweaked { $0.autoResetOffsets = true },
        steps: [
            step(staleJ1, then: transient503, ["report:offsetsStale", "reset", "report:actionFailed"]),
            step(staleJ1, then: .resetDone, ["reset"]), step(staleJ1, times: 3),
        ], phase: "offsetsStale"),
    .init(
        name: "a new job may be reset once more",
        settings: .reconcilerTable.tweaked { $0.autoResetOffsets = true },
        steps: [
            step(staleJ1, then: .resetDone, ["report:offsetsStale", "reset"]),
            step(staleJ1.withID("j2"), then: .resetDone, ["report:offsetsStale", "reset"]),
        ], phase: "recovering"),

    // Unrecognized.
    .init(
        name: "unrecognized status: report once, no writes",
        steps: [
            step(polarisJob(.unrecognized("paused")), ["report:unrecognizedStatus"]),
            step(polarisJob(.unrecognized("paused")), times: 10),
        ], phase: "unrecognized"),

    // Crash-loop budget.
    .init(
        name: "budget exhausted: gave up with exactly one report, then no writes",
        settings: .reconcilerTable(budget: 3),
        steps: threeRecreatesThenGaveUp + [
            step(failedJ1.withID("j4"), times: 50), step(errorJ1.withID("j4"), times: 10), step(nil, times: 10),
        ], phase: "gaveUp"),
    .init(
        name: "gave up ends by itself when the oldest attempt leaves the window",
        settings: .reconcilerTable(budget: 3, windowSeconds: 300),
        steps: threeRecreatesThenGaveUp + [
            step(failedJ1.withID("j4"), times: 16),
            step(failedJ1.withID("j4"), then: .created(jobID: "j5"), ["report:leftGaveUp", "recreate(failed)"]),
            step(okJ1.withID("j5")),
        ], phase: "running"),
    .init(
        name: "repeated terminal rejections end in gave-up",
        settings: .reconcilerTable(budget: 2).tweaked { $0.recreate.backoffMaxSeconds = 0 },
        steps: [
            step(nil, then: .failed(terminal: true, message: "400"), ["create", "report:actionFailed"]),
            step(
                nil, then: .failed(terminal: true, message: "400"), ["create", "report:actionFailed", "report:gaveUp"]),
            step(nil, times: 20),
        ], phase: "gaveUp"),
    .init(
        name: "transient503 failures never exhaust the budget",
        settings: .reconcilerTable(budget: 2),
        steps: [
            step(failedJ1, then: transient503, ["report:failedObserved", "recreate(failed)", "report:actionFailed"]),
            step(failedJ1, then: transient503, ["recreate(failed)", "report:actionFailed"], times: 10),
            step(failedJ1, then: .created(jobID: "j2"), ["recreate(failed)"]),
        ], phase: "starting"),
]

extension LiveJob {
    func withID(_ id: String) -> LiveJob {
        var copy = self
        copy.id = id
        return copy
    }
}

@Suite("JobReconciler ladder")
struct JobReconcilerTests {
    @Test(arguments: reconcilerScenarios)
    func scenario(_ scenario: ReconcilerScenario) {
        var harness = ReconcilerHarness(settings: scenario.settings)
        var cycle = 0
        for step in scenario.steps {
            for _ in 0..<step.times {
                let got = harness.labels(step.job, drifted: step.drifted, test: step.test, outcome: step.outcome)
                #expect(got == step.expect, "cycle \(cycle)")
                cycle += 1
            }
        }
        #expect(harness.machine.phase.testLabel == scenario.phase)
    }
}
