/// What one reconcile cycle saw for one desired job.
///
/// The cycle has already matched "our" Polaris job (the state file's id first, else adoption of
/// the newest non-terminal streaming job on the table) and computed drift, so the state machine
/// only judges; it never looks anything up.
public struct JobObservation: Hashable, Sendable {
    /// Our job; nil when no job of ours exists for the table.
    public var job: LiveJob?
    /// The job's echoed spec lacks or changes a field the desired spec sets (computed by the cycle;
    /// defaults Polaris fills in are not drift).
    public var specDrifted: Bool
    /// The result of a connection test the machine asked for with `.testConnection`, when one ran.
    public var connectionTest: ConnectionTestResult?
    /// The job's failure is charged to an incident (the project, a broken connection), not to
    /// the job: healing it consumes no crash-loop budget (`Incidents.attribute`).
    public var failureAttributed: Bool
    /// The job's rows stopped growing (`StallTracker`) and `stall.action` is `replace`, and it
    /// has not been replaced for this stall yet.
    public var replaceForStall: Bool

    public init(
        job: LiveJob?, specDrifted: Bool = false, connectionTest: ConnectionTestResult? = nil,
        failureAttributed: Bool = false, replaceForStall: Bool = false
    ) {
        self.job = job
        self.specDrifted = specDrifted
        self.connectionTest = connectionTest
        self.failureAttributed = failureAttributed
        self.replaceForStall = replaceForStall
    }
}
