import PolarisAPI

/// Decides which Polaris job is "ours" for each desired job (docs/architecture.md, "One reconcile cycle", step 3).
///
/// The state file's id wins while that job is alive. Otherwise the newest non-terminal
/// streaming job on the desired table is adopted: after a crash mid-create, after a first
/// install, or when someone else already started one. Creating while an adoptable job exists
/// would make Polaris refuse the create or, worse, replace a job that works.
public enum JobMatcher {
    public struct Match: Hashable, Sendable {
        /// Our job, nil when none exists for the table.
        public var job: Job?
        /// True when `job` is not the one the state file named.
        public var adopted: Bool
    }

    /// - Parameters:
    ///   - knownIDs: per desired job name, the Polaris id the state file records.
    public static func match(
        desired: [DesiredJob], polarisJobs: [Job], knownIDs: [String: String]
    ) -> [String: Match] {
        let matches = matches(desired: desired, polarisJobs: polarisJobs) { knownIDs[$0] }
        return Dictionary(zip(desired.map(\.name), matches)) { _, last in last }
    }

    /// The match of each desired job, in the order of `desired` (the cycle reads them by
    /// position: no dictionary of names is built or searched every cycle).
    /// - Parameters:
    ///   - knownID: the Polaris id the state file records for a desired job name: asked once
    ///     per desired job.
    public static func matches(
        desired: [DesiredJob], polarisJobs: [Job], knownID: (String) -> String?
    ) -> [Match] {
        // Each job's table once (a JSON lookup), and positions instead of copies of the jobs.
        var byTable: [String: [Int]] = [:]
        var byID: [String: Int] = [:]
        byTable.reserveCapacity(polarisJobs.count)
        byID.reserveCapacity(polarisJobs.count)
        var tables: [String?] = Array(repeating: nil, count: polarisJobs.count)
        for (index, job) in polarisJobs.enumerated() where job.type == "streaming" {
            byID[job.id] = index
            let table = job.targetTable
            tables[index] = table
            if let table { byTable[table, default: []].append(index) }
        }
        var result: [Match] = []
        result.reserveCapacity(desired.count)
        for wanted in desired {
            let adoptable = newestAlive(byTable[wanted.table] ?? [], in: polarisJobs)
            if let id = knownID(wanted.name), let ours = byID[id], tables[ours] == wanted.table {
                if !polarisJobs[ours].executionStatus.isTerminal || adoptable == nil {
                    result.append(Match(job: polarisJobs[ours], adopted: false))
                } else {
                    result.append(Match(job: adoptable.map { polarisJobs[$0] }, adopted: true))
                }
            } else {
                result.append(Match(job: adoptable.map { polarisJobs[$0] }, adopted: adoptable != nil))
            }
        }
        return result
    }

    /// The position of the newest job among `positions` that is not terminal.
    static func newestAlive(_ positions: [Int], in jobs: [Job]) -> Int? {
        // As `filter` then `max(by:)`, without an array per job.
        var newest: Int?
        for position in positions where !jobs[position].executionStatus.isTerminal {
            if let current = newest, !precedes(jobs[current], jobs[position]) { continue }
            newest = position
        }
        return newest
    }

    /// The newest job that is not terminal; ties broken by id so the choice is deterministic.
    /// Older first: creation time (unknown is oldest), then id, so the choice is deterministic.
    static func precedes(_ lhs: Job, _ rhs: Job) -> Bool {
        switch (lhs.createdTimestamp, rhs.createdTimestamp) {
        case (let left?, let right?) where left != right: return left < right
        case (nil, _?): return true
        case (_?, nil): return false
        default: return lhs.id < rhs.id
        }
    }
}
