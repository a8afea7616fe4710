import PolarisAPI

/// The part of a Polaris job the state machine judges.
public struct LiveJob: Hashable, Sendable {
    public var id: String
    public var executionStatus: ExecutionStatus
    public var health: JobHealth
    public var createdTimestamp: PolarisTimestamp?

    public init(
        id: String, executionStatus: ExecutionStatus, health: JobHealth = .ok,
        createdTimestamp: PolarisTimestamp? = nil
    ) {
        self.id = id
        self.executionStatus = executionStatus
        self.health = health
        self.createdTimestamp = createdTimestamp
    }

    public init(_ job: Job) {
        self.init(
            id: job.id, executionStatus: job.executionStatus, health: job.health,
            createdTimestamp: job.createdTimestamp)
    }
}
