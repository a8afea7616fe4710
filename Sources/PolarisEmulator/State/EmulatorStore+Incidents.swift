import PolarisAPI

/// Incidents larger than one job: a paused project and a broken connection.
///
/// What the docs say (docs/polaris/api-reference.md §4, "project-pause"): after a project pause the jobs stop,
/// and while the project is paused every new job fails; after a resume the jobs must be
/// recreated. How a stopped job shows is [INFERRED]: here it is `failed`, health `error` with
/// code `internal_error` and a message naming the pause. A broken connection (a revoked role, a
/// deleted stream) fails its jobs with `could_not_connect_to_source` and its test with a 400
/// (docs/polaris/api-reference.md §4 health codes; which AWS failure gives which code is [INFERRED]).
extension EmulatorStore {
    static let projectPausedMessage = "The project is not running; its ingestion jobs stopped."

    /// `GET /v1/projects/{projectId}`: a `Project` (metadata, spec, status).
    func projectJSON() -> JSONValue {
        [
            "metadata": [
                "uid": .string(projectID), "name": "emulated-project",
                "createdOnTimestamp": "2024-01-01T00:00:00Z",
            ],
            "spec": [
                "plan": "emulator", "desiredState": .string(projectState == .paused ? "paused" : "running"),
                "region": "us-east-1", "deletionProtection": false, "stopProtection": false,
            ],
            "status": ["state": .string(projectState.rawValue)],
        ]
    }

    /// Sets the project's state; leaving `running` fails every job that has not ended.
    public func setProjectState(_ state: ProjectState) {
        let wasRunning = projectState.runsJobs
        projectState = state
        guard wasRunning, !state.runsJobs else { return }
        for id in Array(jobs.keys) where jobs[id].map({ !$0.executionStatus.isTerminal }) == true {
            failForIncident(id, code: "internal_error", message: Self.projectPausedMessage)
        }
    }

    public func breakConnection(name: String, message: String) {
        brokenConnections[name] = message
        connectionTestFailures[name] = EmulatorError(
            status: .badRequest, code: "ConnectionTestFailed", message: message)
        for id in Array(jobs.keys)
        where jobs[id].map({ $0.connectionName == name && !$0.executionStatus.isTerminal }) == true {
            failForIncident(id, code: "could_not_connect_to_source", message: message)
        }
    }

    public func restoreConnection(name: String) {
        brokenConnections[name] = nil
        connectionTestFailures[name] = nil
    }

    /// A job just created in a paused project or on a broken connection fails at once.
    func failIfIncident(_ id: String) {
        guard let job = jobs[id], !job.executionStatus.isTerminal else { return }
        if !projectState.runsJobs {
            failForIncident(id, code: "internal_error", message: Self.projectPausedMessage)
        } else if let connection = job.connectionName, let message = brokenConnections[connection] {
            failForIncident(id, code: "could_not_connect_to_source", message: message)
        }
    }

    private func failForIncident(_ id: String, code: String, message: String) {
        guard var job = jobs[id] else { return }
        fail(&job, code: code, message: message)
        jobs[id] = job
        release(tableOf: job)
    }
}
