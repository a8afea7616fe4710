/// What the demo did: each fault with its time to recover, and the API calls it cost.
public struct DemoSummary: Sendable {
    public struct FaultLine: Sendable {
        public var kind: String
        public var job: String?
        public var injectedAt: Double
        public var outcome: String?
        public var timeToRecover: Double?
    }

    public var duration: Double
    public var jobs: Int
    public var pollInterval: Double
    public var faults: [FaultLine]
    public var apiCalls: Int
    public var callsByMethod: [String: Int]
    public var callsByStatus: [String: Int]

    init(
        duration: Double, jobs: Int, pollInterval: Double, faults: [FaultScript.Fault], apiCalls: Int,
        callsByMethod: [String: Int], callsByStatus: [String: Int]
    ) {
        self.duration = duration
        self.jobs = jobs
        self.pollInterval = pollInterval
        self.faults = faults.map {
            FaultLine(
                kind: $0.kind.rawValue, job: $0.job, injectedAt: $0.injectedAt, outcome: $0.outcome?.rawValue,
                timeToRecover: $0.timeToRecover)
        }
        self.apiCalls = apiCalls
        self.callsByMethod = callsByMethod
        self.callsByStatus = callsByStatus
    }

    public var healed: Int { faults.filter { $0.outcome == "healed" }.count }
    public var gaveUp: Int { faults.filter { $0.outcome?.hasPrefix("gave up") == true }.count }
    public var unresolved: Int { faults.filter { $0.outcome == nil }.count }

    public func rendered() -> String {
        var rows = [["FAULT", "JOB", "INJECTED", "OUTCOME", "TIME TO RECOVER"]]
        for fault in faults {
            rows.append([
                fault.kind, fault.job ?? "(API)", "+" + format1(fault.injectedAt) + "s",
                fault.outcome ?? "not resolved",
                fault.timeToRecover.map { format1($0) + "s" } ?? "-",
            ])
        }
        let methods = callsByMethod.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let errors = callsByStatus.filter { Int($0.key).map { $0 >= 400 } ?? false }
            .sorted { $0.key < $1.key }.map { "\($0.value)×\($0.key)" }.joined(separator: ", ")
        return """

            demo summary: \(jobs) jobs, poll every \(format1(pollInterval))s, \(format1(duration))s
            \(TextTable.render(rows))

            faults injected: \(faults.count), healed: \(healed), gave up as designed: \(gaveUp), unresolved: \(unresolved)
            API calls made: \(apiCalls) (\(methods))\(errors.isEmpty ? "" : "; answered with errors: \(errors)")
            """
    }
}
