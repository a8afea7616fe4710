import PolarisAPI
import PolarisEmulator
import Warden

/// The demo's faults, injected on a schedule measured in poll intervals, and the check of
/// when each one was healed.
struct FaultScript {
    enum Kind: String, Sendable, CaseIterable {
        case failed = "job failed"
        case canceled = "job canceled"
        case suspended = "job suspended"
        case errorHealth = "error health"
        case serviceUnavailable = "API 503 burst"
        case rateLimited = "API 429 + Retry-After"
        case crashLoop = "fails on every recreate"
    }

    enum Outcome: String, Sendable {
        case healed
        case gaveUp = "gave up (as designed)"
    }

    struct Fault: Sendable {
        var kind: Kind
        var job: String?
        var injectedAt: Double
        var faultedJobID: String?
        var cycleMark: Int
        var sawOutage = false
        var outcome: Outcome?
        var resolvedAt: Double?

        var timeToRecover: Double? { resolvedAt.map { $0 - injectedAt } }
    }

    private var schedule: [(at: Double, kind: Kind, job: String?)]
    private(set) var faults: [Fault] = []

    init(jobNames: [String], pollInterval: Double) {
        func job(_ index: Int) -> String? { index < jobNames.count ? jobNames[index] : nil }
        let p = pollInterval
        schedule = [
            (3 * p, .failed, job(0)), (5 * p, .canceled, job(1)), (7 * p, .suspended, job(2)),
            (9 * p, .errorHealth, job(3)), (12 * p, .serviceUnavailable, nil), (15 * p, .rateLimited, nil),
            (17 * p, .crashLoop, job(4)),
        ]
    }

    mutating func step(at now: Double, emulator: PolarisEmulator, supervisor: JobSupervisor, display: DemoDisplay) async
    {
        while let next = schedule.first, next.at <= now {
            guard
                let fault = await inject(next.kind, job: next.job, now: now, emulator: emulator, supervisor: supervisor)
            else { break }  // the job is not up yet: try again at the next step
            schedule.removeFirst()
            faults.append(fault)
            display.event("FAULT    \(fault.kind.rawValue)\(fault.job.map { " on \($0)" } ?? "")")
        }
        for index in faults.indices where faults[index].outcome == nil {
            if let outcome = await check(&faults[index], emulator: emulator, supervisor: supervisor) {
                faults[index].outcome = outcome
                faults[index].resolvedAt = now
                let seconds = faults[index].timeToRecover.map { String(format1($0)) } ?? "?"
                display.event(
                    "RESOLVED \(faults[index].kind.rawValue)\(faults[index].job.map { " on \($0)" } ?? ""): "
                        + "\(outcome.rawValue) after \(seconds)s")
            }
        }
    }

    private func inject(
        _ kind: Kind, job: String?, now: Double, emulator: PolarisEmulator, supervisor: JobSupervisor
    ) async -> Fault? {
        let mark = await supervisor.cyclesCompleted
        var fault = Fault(kind: kind, job: job, injectedAt: now, cycleMark: mark)
        switch kind {
        case .serviceUnavailable:
            _ = try? await emulator.inject(.status(503, count: 12, method: "GET"))
            return fault
        case .rateLimited:
            _ = try? await emulator.inject(.status(429, retryAfter: .seconds(2), count: 1, method: "GET"))
            return fault
        case .failed, .canceled, .suspended, .errorHealth, .crashLoop:
            guard let job, let running = await runningJob(on: job, emulator: emulator) else { return nil }
            fault.faultedJobID = running.id
            switch kind {
            case .failed, .crashLoop:
                try? await emulator.failJob(id: running.id, code: "internal_error", message: "demo: task crashed")
            case .canceled:
                try? await emulator.cancelJob(id: running.id)
            case .suspended:
                try? await emulator.suspendJob(id: running.id)
            case .errorHealth:
                try? await emulator.setHealth(
                    jobID: running.id,
                    JobHealth(status: .error, code: "could_not_connect_to_source", message: "demo: stream throttled"))
            default:
                break
            }
            return fault
        }
    }

    private func check(_ fault: inout Fault, emulator: PolarisEmulator, supervisor: JobSupervisor) async -> Outcome? {
        switch fault.kind {
        case .failed, .canceled, .errorHealth:
            guard let job = fault.job, let running = await runningJob(on: job, emulator: emulator) else { return nil }
            return running.id != fault.faultedJobID ? .healed : nil
        case .suspended:
            guard let id = fault.faultedJobID else { return nil }
            let job = await emulator.job(id: id)
            return job?.executionStatus == .running && job?.health.status == .ok ? .healed : nil
        case .serviceUnavailable:
            let api = await supervisor.apiState
            if api != .ok { fault.sawOutage = true }
            return fault.sawOutage && api == .ok ? .healed : nil
        case .rateLimited:
            let answered429 = await emulator.counters().count(status: 429) > 0
            let cycles = await supervisor.cyclesCompleted
            let api = await supervisor.apiState
            return answered429 && cycles > fault.cycleMark + 1 && api == .ok ? .healed : nil
        case .crashLoop:
            guard let job = fault.job else { return nil }
            if let view = await supervisor.jobViews().first(where: { $0.name == job }), case .gaveUp = view.phase {
                return .gaveUp
            }
            // Fail every replacement as soon as it runs, until the warden stops trying.
            if let running = await runningJob(on: job, emulator: emulator) {
                try? await emulator.failJob(id: running.id, code: "internal_error", message: "demo: crash loop")
            }
            return nil
        }
    }

    private func runningJob(on table: String, emulator: PolarisEmulator) async -> Job? {
        await emulator.jobs(onTable: table).last {
            $0.executionStatus == .running && $0.health.status == .ok
        }
    }
}

func format1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
