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
        var byTable: [String: [Job]] = [:]
        var byID: [String: Job] = [:]
        for job in polarisJobs where job.type == "streaming" {
            byID[job.id] = job
            if let table = job.targetTable { byTable[table, default: []].append(job) }
        }
        var result: [String: Match] = [:]
        for wanted in desired {
            let onTable = byTable[wanted.table] ?? []
            let adoptable = newestAlive(onTable)
            if let id = knownIDs[wanted.name], let ours = byID[id], ours.targetTable == wanted.table {
                if !ours.executionStatus.isTerminal || adoptable == nil {
                    result[wanted.name] = Match(job: ours, adopted: false)
                } else {
                    result[wanted.name] = Match(job: adoptable, adopted: true)
                }
            } else {
                result[wanted.name] = Match(job: adoptable, adopted: adoptable != nil)
            }
        }
        return result
    }

    /// The newest job that is not terminal; ties broken by id so the choice is deterministic.
    static func newestAlive(_ jobs: [Job]) -> Job? {
        jobs.filter { !$0.executionStatus.isTerminal }.max { lhs, rhs in
            switch (lhs.createdTimestamp, rhs.createdTimestamp) {
            case (let left?, let right?) where left != right: return left < right
            case (nil, _?): return true
            case (_?, nil): return false
            default: return lhs.id < rhs.id
            }
        }
    }
}
