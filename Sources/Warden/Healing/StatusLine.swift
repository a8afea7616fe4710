import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one-line `STATUS=` text: `12 jobs: 11 running, 1 recovering (orders: retry in 40s); API ok`.
public enum StatusLine {
    /// One job's situation, as the status line groups it.
    public struct JobState: Sendable {
        public var name: String
        /// `running`, `recovering`, `gave up`, ... (the group the job is counted in).
        public var group: String
        /// A short note for jobs that need attention ("retry in 40s").
        public var note: String?

        public init(name: String, group: String, note: String? = nil) {
            self.name = name
            self.group = group
            self.note = note
        }
    }

    public static let groupOrder = [
        "running", "idle", "starting", "recovering", "backing off", "unhealthy", "drifted", "stalled", "left",
        "gave up", "unknown",
    ]

    /// The group a job is counted in: its phase's group, except that a healthy job Polaris
    /// shows as `idle` (a quiet stream, nothing to heal) is counted as `idle`.
    /// `executionStatus` is asked only for a running job.
    public static func group(of phase: JobPhase, executionStatus: () -> ExecutionStatus?) -> String {
        if case .running = phase, executionStatus() == .idle { return "idle" }
        return phase.statusGroup
    }

    public static func render(jobs: [JobState], api: String) -> String {
        var counts: [String: Int] = [:]
        for job in jobs { counts[job.group, default: 0] += 1 }
        let groups = counts.keys.sorted {
            (groupOrder.firstIndex(of: $0) ?? groupOrder.count, $0) < (
                groupOrder.firstIndex(of: $1) ?? groupOrder.count, $1
            )
        }
        var parts: [String] = []
        for group in groups {
            var part = "\(counts[group]!) \(group)"
            let notes = jobs.filter { $0.group == group && $0.note != nil }.prefix(2).map { "\($0.name): \($0.note!)" }
            if !notes.isEmpty, group != "running" { part += " (" + notes.joined(separator: ", ") + ")" }
            parts.append(part)
        }
        let noun = jobs.count == 1 ? "job" : "jobs"
        let body = parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")
        return "\(jobs.count) \(noun)\(body); API \(api)"
    }
}
