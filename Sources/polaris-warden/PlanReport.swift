import PolarisAPI
import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `plan` prints, as a table or JSON.
struct PlanReport: Encodable {
    struct JobLine: Encodable {
        var job: String
        var table: String
        var jobId: String?
        var executionStatus: String?
        var health: String?
        var adopted: Bool
        var specDrifted: Bool
        /// Each differing member (`SpecDrift`): path, desired and live value.
        var drift: [String]
        var actions: [String]
    }

    struct ConnectionLine: Encodable {
        var connection: String
        var action: String
    }

    var connections: [ConnectionLine]
    var jobs: [JobLine]
    /// Warnings about the plan as a whole (a stall-detection budget too small for the jobs).
    var notes: [String] = []

    init(connections: [ConnectionAction], decisions: [JobSupervisor.Decision]) {
        self.connections = connections.map { action in
            switch action {
            case .create(let name, _): ConnectionLine(connection: name, action: "create")
            case .update(let name, _, let changes):
                ConnectionLine(connection: name, action: "update " + changes.keys.sorted().joined(separator: ","))
            case .delete(let name): ConnectionLine(connection: name, action: "delete")
            }
        }
        jobs = decisions.map { decision in
            JobLine(
                job: decision.job.name, table: decision.job.table, jobId: decision.observed?.id,
                executionStatus: decision.observed?.executionStatus.rawValue,
                health: decision.observed.map { job in
                    job.health.status.rawValue + (job.health.code.map { "/\($0)" } ?? "")
                },
                adopted: decision.adopted, specDrifted: decision.specDrifted,
                drift: decision.specDrifted ? (decision.record.specCheck?.differences ?? []).map(\.description) : [],
                actions: decision.nextSteps)
        }
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    func table() -> String {
        var rows = [["JOB", "TABLE", "POLARIS JOB", "STATUS", "HEALTH", "NEXT"]]
        for line in jobs {
            var next = line.actions.isEmpty ? "no change" : line.actions.joined(separator: "; ")
            if line.adopted { next = "adopt, " + next }
            rows.append([
                line.job, line.table, line.jobId.map { String($0.prefix(8)) } ?? "-", line.executionStatus ?? "-",
                line.health ?? "-", next,
            ])
        }
        var output = TextTable.render(rows)
        for line in jobs where !line.drift.isEmpty {
            output += "\n\n\(line.job): spec drift\n" + line.drift.map { "  " + $0 }.joined(separator: "\n")
        }
        for note in notes { output += "\n\nnote: " + note }
        if !connections.isEmpty {
            output +=
                "\n\nconnections:\n" + connections.map { "  \($0.connection): \($0.action)" }.joined(separator: "\n")
        }
        return output
    }
}
