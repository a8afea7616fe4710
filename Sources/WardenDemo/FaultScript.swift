import PolarisAPI
import PolarisEmulator
import Warden

/// The demo's faults, injected on a schedule measured in poll intervals, and the check of
/// when each one was healed. Two scenes are incidents that last a while and then end: the
/// project paused (every job stops) and a connection broken (its jobs stop); the warden holds
/// the jobs while they last and heals them after the resume or the restore. One is a silent
/// stall: a job's row counts freeze while it stays `running` with health `ok`; the warden's
/// stall detection (`action: replace`, `afterSeconds` 3 polls) reports it and replaces the job.
struct FaultScript {
    enum Kind: String, Sendable, CaseIterable {
        case failed = "job failed"
        case canceled = "job canceled"
        case suspended = "job suspended"
        case errorHealth = "error health"
        case serviceUnavailable = "API 503 burst"
        case rateLimited = "API 429 + Retry-After"
        case crashLoop = "fails on every recreate"
        case silentStall = "silent stall"
        case connectionBroken = "connection broken"
        case projectPaused = "project paused"

        /// An incident: it lasts until the script ends it, and its jobs are healed after that.
        var isIncident: Bool { self == .connectionBroken || self == .projectPaused }
    }

    enum Outcome: String, Sendable {
        case healed
        case healedAfterRestore = "healed after restore"
        case healedAfterResume = "healed after resume"
        case stallReplaced = "stall reported, replaced"
        case gaveUp = "gave up (as designed)"

        /// Counted as healed in the summary: everything but the designed give-up.
        var isHealed: Bool { self != .gaveUp }
    }

    struct Fault: Sendable {
        var kind: Kind
        var job: String?
        /// The broken connection.
        var connection: String?
        var injectedAt: Double
        var faultedJobID: String?
        var cycleMark: Int
        var sawOutage = false
        var outcome: Outcome?
        var resolvedAt: Double?
        /// A silent stall: when the demo saw the warden's `job-stalled` about the frozen job.
        var detectedAt: Double?
        /// Incidents: when the script resumes the project or restores the connection.
        var endsAt: Double?
        var endedAt: Double?
        /// Incidents: the Polaris job each affected job name had when it began.
        var heldJobIDs: [String: String] = [:]
        /// Incidents: jobs on the affected tables when it began, and how many were created
        /// while it lasted (the warden holds its writes: expect none).
        var jobsAtStart = 0
        var writesWhileHeld: Int?

        /// From the injection; for an incident, from its end (the resume or the restore).
        var timeToRecover: Double? { resolvedAt.map { $0 - (endedAt ?? injectedAt) } }

        /// What it hit, for the summary's JOB column.
        var subject: String? {
            switch kind {
            case .connectionBroken: connection.map { "\($0) (\(heldJobIDs.count) jobs)" }
            case .projectPaused: "(project: \(heldJobIDs.count) jobs)"
            default: job
            }
        }

        /// The fault as the event lines name it.
        var headline: String {
            switch kind {
            case .connectionBroken:
                "connection broken: \(connection ?? "?") (\(heldJobIDs.keys.sorted().joined(separator: ", ")))"
            case .projectPaused: "project paused (\(heldJobIDs.count) jobs)"
            default: kind.rawValue + (job.map { " on \($0)" } ?? "")
            }
        }
    }

    private struct Scene {
        var at: Double
        var kind: Kind
        var job: String?
        /// Incidents: how long they last, in seconds.
        var lasts: Double = 0
    }

    private var schedule: [Scene]
    private(set) var faults: [Fault] = []
    private let connectionOf: [String: String]

    /// What was scheduled but never injected (the demo ended first).
    var notInjected: [Kind] { schedule.map(\.kind) }

    init(jobs: [(name: String, connection: String)], pollInterval: Double) {
        connectionOf = Dictionary(jobs.map { ($0.name, $0.connection) }, uniquingKeysWith: { first, _ in first })
        func job(_ index: Int) -> String? { index < jobs.count ? jobs[index].name : nil }
        let p = pollInterval
        // The crash loop comes early: it takes a few recreates to give up. The broken
        // connection is job(1)'s (orders-kinesis: orders and inventory); it is restored between
        // the warden's first and second retest (one poll, then two, after it saw the failures).
        // The silent stall (job(0) again, long healed) is found 3 to 5 polls later, before the
        // 503 burst. The pause comes last, once every earlier fault is resolved.
        schedule = [
            Scene(at: 2 * p, kind: .failed, job: job(0)), Scene(at: 3 * p, kind: .crashLoop, job: job(4)),
            Scene(at: 4 * p, kind: .canceled, job: job(1)), Scene(at: 6 * p, kind: .suspended, job: job(2)),
            Scene(at: 7 * p, kind: .errorHealth, job: job(3)), Scene(at: 8 * p, kind: .silentStall, job: job(0)),
            Scene(at: 9 * p, kind: .connectionBroken, job: job(1), lasts: 2.5 * p),
            Scene(at: 14 * p, kind: .serviceUnavailable), Scene(at: 17 * p, kind: .rateLimited),
            Scene(at: 20 * p, kind: .projectPaused, lasts: 2.5 * p),
        ]
    }

    mutating func step(at now: Double, emulator: PolarisEmulator, supervisor: JobSupervisor, display: DemoDisplay) async
    {
        while let next = schedule.first, next.at <= now {
            guard
                let fault = await inject(next, now: now, emulator: emulator, supervisor: supervisor)
            else { break }  // not ready yet (a job not up, an earlier fault open): try again at the next step
            schedule.removeFirst()
            faults.append(fault)
            let note =
                fault.kind == .silentStall
                ? " (rows frozen, still running/ok; stall detection: report, then replace, after 3 polls)" : ""
            display.event("FAULT    \(fault.headline)\(note)")
        }
        for index in faults.indices {
            if let endsAt = faults[index].endsAt, faults[index].endedAt == nil, endsAt <= now {
                await end(&faults[index], now: now, emulator: emulator, display: display)
            }
        }
        for index in faults.indices where faults[index].outcome == nil {
            if let outcome = await check(
                &faults[index], now: now, emulator: emulator, supervisor: supervisor, display: display)
            {
                faults[index].outcome = outcome
                faults[index].resolvedAt = now
                let seconds = faults[index].timeToRecover.map { format1($0) } ?? "?"
                let fault = faults[index]
                let how =
                    switch outcome {
                    case .healedAfterResume: "healed \(seconds)s after the resume"
                    case .healedAfterRestore: "healed \(seconds)s after the restore"
                    case .stallReplaced:
                        "stall reported after \(fault.detectedAt.map { format1($0 - fault.injectedAt) } ?? "?")s, "
                            + "replacement running after \(seconds)s"
                    default: "\(outcome.rawValue) after \(seconds)s"
                    }
                display.event("RESOLVED \(fault.headline): \(how)")
            }
        }
    }

    private func inject(_ scene: Scene, now: Double, emulator: PolarisEmulator, supervisor: JobSupervisor) async
        -> Fault?
    {
        let kind = scene.kind
        let mark = await supervisor.cyclesCompleted
        var fault = Fault(kind: kind, job: scene.job, injectedAt: now, cycleMark: mark)
        switch kind {
        // Both hit the lists every cycle starts with, not the metrics reads of stall detection
        // (which a warden skips quietly when they fail).
        case .serviceUnavailable:
            _ = try? await emulator.inject(.status(503, count: 12, method: "GET", pathPattern: Self.lists))
            return fault
        case .rateLimited:
            _ = try? await emulator.inject(
                .status(429, retryAfter: .seconds(2), count: 1, method: "GET", pathPattern: Self.lists))
            return fault
        case .connectionBroken:
            guard let job = scene.job, let connection = connectionOf[job] else { return nil }
            let names = connectionOf.filter { $0.value == connection }.map(\.key)
            // Every job on the connection is up first, so the scene shows them all stop and heal.
            var held: [String: String] = [:]
            for name in names {
                guard let running = await runningJob(on: name, emulator: emulator) else { return nil }
                held[name] = running.id
            }
            fault.connection = connection
            fault.heldJobIDs = held
            fault.jobsAtStart = await jobCount(on: names, emulator: emulator)
            fault.endsAt = now + scene.lasts
            await emulator.breakConnection(
                name: connection, message: "demo: AccessDenied: the role's trust policy no longer allows Polaris")
            return fault
        case .projectPaused:
            // Last scene: it waits for every earlier fault to be resolved (the crash loop given up).
            guard faults.allSatisfy({ $0.outcome != nil }) else { return nil }
            var held: [String: String] = [:]
            for name in connectionOf.keys {
                if let live = await emulator.jobs(onTable: name).last(where: { !$0.executionStatus.isTerminal }) {
                    held[name] = live.id
                }
            }
            fault.heldJobIDs = held
            fault.jobsAtStart = await jobCount(on: Array(held.keys), emulator: emulator)
            fault.endsAt = now + scene.lasts
            await emulator.pauseProject()
            return fault
        case .failed, .canceled, .suspended, .errorHealth, .crashLoop, .silentStall:
            guard let job = scene.job, let running = await runningJob(on: job, emulator: emulator),
                !faults.contains(where: { $0.job == job && $0.outcome == nil })
            else { return nil }
            fault.faultedJobID = running.id
            switch kind {
            case .failed, .crashLoop:
                try? await emulator.failJob(id: running.id, code: "internal_error", message: "demo: task crashed")
            case .canceled:
                try? await emulator.cancelJob(id: running.id)
            case .suspended:
                try? await emulator.suspendJob(id: running.id)
            case .silentStall:
                try? await emulator.stallJob(id: running.id)
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

    /// Ends an incident: the project resumes or the connection is restored.
    private func end(_ fault: inout Fault, now: Double, emulator: PolarisEmulator, display: DemoDisplay) async {
        let names = Array(fault.heldJobIDs.keys)
        fault.writesWhileHeld = await jobCount(on: names, emulator: emulator) - fault.jobsAtStart
        fault.endedAt = now
        let held = "held \(format1(now - fault.injectedAt))s, \(fault.writesWhileHeld ?? 0) jobs created meanwhile"
        if fault.kind == .projectPaused {
            await emulator.resumeProject()
            display.event("ENDED    \(fault.headline): resumed (\(held))")
        } else if let connection = fault.connection {
            await emulator.restoreConnection(name: connection)
            display.event("ENDED    \(fault.headline): restored (\(held))")
        }
    }

    private func check(
        _ fault: inout Fault, now: Double, emulator: PolarisEmulator, supervisor: JobSupervisor, display: DemoDisplay
    ) async -> Outcome? {
        switch fault.kind {
        case .failed, .canceled, .errorHealth:
            guard let job = fault.job, let running = await runningJob(on: job, emulator: emulator) else { return nil }
            return running.id != fault.faultedJobID ? .healed : nil
        case .suspended:
            guard let id = fault.faultedJobID else { return nil }
            let job = await emulator.job(id: id)
            return job?.executionStatus == .running && job?.health.status == .ok ? .healed : nil
        case .silentStall:
            // Reported: the warden's job-stalled about the frozen job; replaced: a new job runs.
            guard let job = fault.job, let frozen = fault.faultedJobID else { return nil }
            if fault.detectedAt == nil, display.sawEvent(WardenEvent.jobStalled.rawValue, jobID: frozen) {
                fault.detectedAt = now
            }
            guard fault.detectedAt != nil, let running = await runningJob(on: job, emulator: emulator) else {
                return nil
            }
            return running.id != frozen ? .stallReplaced : nil
        case .serviceUnavailable:
            let api = await supervisor.apiState
            if api != .ok { fault.sawOutage = true }
            return fault.sawOutage && api == .ok ? .healed : nil
        case .rateLimited:
            let answered429 = await emulator.counters().count(status: 429) > 0
            let cycles = await supervisor.cyclesCompleted
            let api = await supervisor.apiState
            return answered429 && cycles > fault.cycleMark + 1 && api == .ok ? .healed : nil
        case .connectionBroken, .projectPaused:
            // Healed once it ended and every job it stopped runs again as a new Polaris job.
            guard fault.endedAt != nil else { return nil }
            for (name, stoppedID) in fault.heldJobIDs {
                guard let running = await runningJob(on: name, emulator: emulator), running.id != stoppedID else {
                    return nil
                }
            }
            return fault.kind == .projectPaused ? .healedAfterResume : .healedAfterRestore
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

    /// The list endpoints (`GET …/jobs`, `GET …/connections`), not `…/jobs/{id}/metrics`.
    static let lists = "/(jobs|connections)$"

    private func runningJob(on table: String, emulator: PolarisEmulator) async -> Job? {
        await emulator.jobs(onTable: table).last {
            $0.executionStatus == .running && $0.health.status == .ok
        }
    }

    /// Polaris jobs (any state) on these tables: the demo's job names are its table names.
    private func jobCount(on tables: [String], emulator: PolarisEmulator) async -> Int {
        var count = 0
        for table in tables { count += await emulator.jobs(onTable: table).count }
        return count
    }
}

func format1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
