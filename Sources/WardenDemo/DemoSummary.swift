import Warden

/// What the demo did: each fault with its time to recover, and the API calls it cost.
public struct DemoSummary: Sendable {
    public struct FaultLine: Sendable {
        public var kind: String
        /// The job, or for an incident what it stopped (`orders-kinesis (2 jobs)`).
        public var job: String?
        public var injectedAt: Double
        public var outcome: String?
        /// Counted as healed: every outcome but the designed give-up.
        public var healed = false
        /// A silent stall: seconds from the freeze to the warden's `job-stalled`.
        public var detectedAfter: Double?
        /// From the injection; for an incident (a paused project, a broken connection) from
        /// its end: the resume or the restore.
        public var timeToRecover: Double?
        /// Incidents: how long they lasted.
        public var heldFor: Double?
        /// Incidents: jobs created on the affected tables while they lasted (the warden holds
        /// its writes: none expected).
        public var writesWhileHeld: Int?
    }

    public var duration: Double
    public var jobs: Int
    public var pollInterval: Double
    public var faults: [FaultLine]
    /// Scheduled faults the demo ended before injecting (too short a `--duration`).
    public var notInjected: [String]
    public var apiCalls: Int
    public var callsByMethod: [String: Int]
    public var callsByStatus: [String: Int]

    init(
        duration: Double, jobs: Int, pollInterval: Double, faults: [FaultScript.Fault],
        notInjected: [FaultScript.Kind] = [], apiCalls: Int, callsByMethod: [String: Int], callsByStatus: [String: Int]
    ) {
        self.duration = duration
        self.jobs = jobs
        self.pollInterval = pollInterval
        self.faults = faults.map { fault in
            FaultLine(
                kind: fault.kind.rawValue, job: fault.subject, injectedAt: fault.injectedAt,
                outcome: fault.outcome?.rawValue, healed: fault.outcome?.isHealed ?? false,
                detectedAfter: fault.detectedAt.map { $0 - fault.injectedAt }, timeToRecover: fault.timeToRecover,
                heldFor: fault.endedAt.map { $0 - fault.injectedAt }, writesWhileHeld: fault.writesWhileHeld)
        }
        self.notInjected = notInjected.map(\.rawValue)
        self.apiCalls = apiCalls
        self.callsByMethod = callsByMethod
        self.callsByStatus = callsByStatus
    }

    /// Healed faults: incidents healed after their end and a stall reported and replaced included.
    public var healed: Int { faults.filter(\.healed).count }
    public var gaveUp: Int { faults.filter { $0.outcome?.hasPrefix("gave up") == true }.count }
    /// Injected and not resolved, plus scheduled and never injected.
    public var unresolved: Int { faults.filter { $0.outcome == nil }.count + notInjected.count }

    public func rendered() -> String {
        var rows = [["FAULT", "JOB", "INJECTED", "OUTCOME", "TIME TO RECOVER"]]
        for fault in faults {
            var outcome = fault.outcome ?? "not resolved"
            if let held = fault.heldFor, let writes = fault.writesWhileHeld {
                outcome += " (held \(format1(held))s, \(writes) created meanwhile)"
            }
            if let detected = fault.detectedAfter { outcome += " (reported after \(format1(detected))s)" }
            rows.append([
                fault.kind, fault.job ?? "(API)", "+" + format1(fault.injectedAt) + "s", outcome,
                fault.timeToRecover.map { format1($0) + "s" } ?? "-",
            ])
        }
        for kind in notInjected { rows.append([kind, "-", "not injected", "the demo ended first", "-"]) }
        let methods = callsByMethod.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let errors = callsByStatus.filter { Int($0.key).map { $0 >= 400 } ?? false }
            .sorted { $0.key < $1.key }.map { "\($0.value)×\($0.key)" }.joined(separator: ", ")
        return """

            demo summary: \(jobs) jobs, poll every \(format1(pollInterval))s, \(format1(duration))s
            \(TextTable.render(rows))

            faults injected: \(faults.count), healed: \(healed), gave up as designed: \(gaveUp), unresolved: \(unresolved)
            (an incident's time to recover counts from the resume or the restore; a stall's from the freeze)
            API calls made: \(apiCalls) (\(methods))\(errors.isEmpty ? "" : "; answered with errors: \(errors)")
            """
    }
}
