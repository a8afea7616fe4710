import Logging
import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Incidents above single jobs (`Incidents`): a project that is not running and connections
/// whose test fails. Runs after the observe step and before decide; returns the desired jobs
/// whose writes are held this cycle.
extension JobSupervisor {
    func checkIncidents(jobs: [Job]) async -> Set<String> {
        let date = now()
        let poll = config.supervisor.pollIntervalSeconds
        // Needed only when a job failed since the last cycle.
        lazy var tables = Set(config.jobs.map(\.table))
        var newlyFailed = 0
        var sourceFailures: Set<String> = []
        var statuses: [String: ExecutionStatus] = [:]
        statuses.reserveCapacity(jobs.count)
        for job in jobs {
            statuses[job.id] = job.executionStatus
            guard job.executionStatus == .failed, lastStatuses[job.id] != .failed,
                let table = job.targetTable, tables.contains(table)
            else { continue }
            newlyFailed += 1
            if let code = job.health.code, Incidents.sourceConnectionCodes.contains(code),
                let connection = job.connectionName
            {
                sourceFailures.insert(connection)
            }
        }
        lastStatuses = statuses

        if incidents.projectCheckDue(
            now: date, firstCycle: cyclesCompleted == 0, newlyFailed: newlyFailed, declaredJobs: config.jobs.count,
            createFailed: createRefused)
        {
            createRefused = false
            await checkProject(now: date, poll: poll)
        }
        if !incidents.projectHeld {
            for name in connectionNames
            where incidents.connectionTestDue(name, now: date, newSourceFailure: sourceFailures.contains(name)) {
                await testConnection(name, now: date, poll: poll)
            }
        }
        for job in jobs where job.executionStatus.isTerminal {
            _ = incidents.attribute(LiveJob(job), connection: job.connectionName ?? "")
        }
        incidents.keepAttributions { statuses[$0] != nil }
        if incidents.projectHeld { return Set(config.jobs.map(\.name)) }
        return Set(config.jobs.filter { incidents.isBroken($0.connectionName) }.map(\.name))
    }

    private func checkProject(now date: Date, poll: Double) async {
        // Unanswered: the list worked, so this is rare; keep what we knew and ask again later.
        guard let project = try? await client.getProject() else { return }
        let metadata: Logger.Metadata = ["POLARIS_PROJECT_STATE": "\(project.state.rawValue)"]
        switch incidents.projectState(project.state, now: date, poll: poll) {
        case true?:
            let name = project.name ?? config.polaris.projectId
            logger.log(
                event: .projectNotRunning,
                "project \(name) is \(project.state.rawValue): holding every job write until it runs again (\(config.jobs.count) jobs)",
                metadata: metadata)
        case false?:
            logger.log(
                event: .projectRunning,
                "project \(project.name ?? config.polaris.projectId) is running again: healing the jobs it stopped",
                metadata: metadata)
        case nil:
            break
        }
    }

    private func testConnection(_ name: String, now date: Date, poll: Double) async {
        guard await mayWrite() else { return }
        let failure: String?
        do {
            try await client.testConnection(named: name)
            failure = nil
        } catch  where error.status == 400 {
            failure = error.polarisMessage ?? "connection test failed"
        } catch {
            return  // the test could not run: not a result; due again next cycle
        }
        let metadata: Logger.Metadata = ["POLARIS_CONNECTION": "\(name)"]
        let jobCount = config.jobs.filter { $0.connectionName == name }.count
        switch incidents.connectionTest(name, failure: failure, now: date, poll: poll) {
        case true?:
            logger.log(
                event: .connectionBroken,
                "connection \(name) is broken: \(failure ?? ""); holding its \(jobCount) jobs until its test passes",
                metadata: metadata)
        case false?:
            logger.log(
                event: .connectionRestored, "connection \(name) passes its test again: healing its \(jobCount) jobs",
                metadata: metadata)
        case nil:
            break
        }
    }

    /// The incident part of `STATUS=` (`project paused: holding 20 jobs; `), empty when none.
    func incidentStatus() -> String {
        if let project = incidents.project {
            return "project \(project.detail): holding \(config.jobs.count) jobs; "
        }
        var parts: [String] = []
        for (name, _) in incidents.brokenConnections.sorted(by: { $0.key < $1.key }) {
            let count = config.jobs.filter { $0.connectionName == name }.count
            parts.append("connection \(name) broken: holding \(count) jobs; ")
        }
        return parts.joined()
    }
}
