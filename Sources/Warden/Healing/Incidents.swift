import PolarisAPI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Whom a failed job's failure is charged to. Only a job's own failures push it toward
/// `gave-up`: a paused project or a broken connection fails every job on it, and recreating
/// them cannot help until the incident ends (`docs/operations.md`, "Incidents").
public enum FailureAttribution: Hashable, Sendable, Codable {
    /// The job broke by itself: its recreate consumes the crash-loop budget.
    case job
    /// The project was not `running` when the job failed (or was seen failed).
    case project
    /// The job's connection failed its test when the job failed with a source-connection code.
    case connection(String)
}

/// Correlated incidents the warden tracks above single jobs: the project not running and
/// connections whose test fails. Pure (clock passed in); the supervisor asks Polaris and feeds
/// the answers in.
public struct Incidents: Hashable, Sendable {
    /// Health codes of a job that failed because it could not read its source: the connection
    /// (role, stream, endpoint) is suspect, so it is tested once for all its jobs.
    public static let sourceConnectionCodes: Set<String> = ["could_not_connect_to_source", "lost_connection_to_source"]

    /// A project check is due when at least this many jobs newly failed in one cycle...
    public static let massFailureMinimum = 3
    /// ...and they are at least this share of the declared jobs.
    public static let massFailureShare = 0.25

    /// Re-tests of a broken connection back off from one poll interval, doubling, up to this.
    public static let maximumRecheckSeconds = 300.0
    /// A held project is asked again after one poll interval, then every this many: one cheap
    /// GET, and the jobs are healed within a few polls of the project running again.
    public static let projectRecheckPolls = 2.0

    public struct Hold: Hashable, Sendable {
        /// The project state or the connection test's message, as Polaris said it.
        public var detail: String
        public var since: Date
        public var nextCheck: Date
        public var backoffSeconds: Double
    }

    /// Set while the project is not `running`.
    public private(set) var project: Hold?
    /// Connections whose test failed, by name.
    public private(set) var brokenConnections: [String: Hold] = [:]
    /// Polaris job ids whose failure was attributed to an incident: their recreate is free of
    /// budget even after the incident ended.
    public private(set) var attributed: [String: FailureAttribution] = [:]

    public init() {}

    public var projectHeld: Bool { project != nil }

    /// Asked for every declared job every cycle: no lookup while no connection is broken.
    public func isBroken(_ connection: String) -> Bool {
        !brokenConnections.isEmpty && brokenConnections[connection] != nil
    }

    /// True when the project should be asked for its state now.
    public func projectCheckDue(now: Date, firstCycle: Bool, newlyFailed: Int, declaredJobs: Int, createFailed: Bool)
        -> Bool
    {
        if let project { return now >= project.nextCheck }
        if firstCycle || createFailed { return true }
        return Self.isMassFailure(newlyFailed: newlyFailed, declaredJobs: declaredJobs)
    }

    /// "Many jobs newly failed": at least `massFailureMinimum`, and at least `massFailureShare`
    /// of the declared jobs.
    public static func isMassFailure(newlyFailed: Int, declaredJobs: Int) -> Bool {
        newlyFailed >= massFailureMinimum && Double(newlyFailed) >= massFailureShare * Double(declaredJobs)
    }

    /// Records the project's state. Returns whether the hold began (true), ended (false) or
    /// neither (nil), so the caller logs exactly one event per change.
    public mutating func projectState(_ state: ProjectState, now: Date, poll: Double) -> Bool? {
        if state.runsJobs {
            guard project != nil else { return nil }
            project = nil
            return false
        }
        if var hold = project {
            hold.detail = state.rawValue
            hold.backoffSeconds = min(hold.backoffSeconds * 2, poll * Self.projectRecheckPolls)
            hold.nextCheck = now.addingTimeInterval(hold.backoffSeconds)
            project = hold
            return nil
        }
        project = Hold(
            detail: state.rawValue, since: now, nextCheck: now.addingTimeInterval(poll), backoffSeconds: poll)
        return true
    }

    /// True when `connection` should be tested now: it is broken and its retest is due, or one
    /// of its jobs newly failed with a source-connection code.
    public func connectionTestDue(_ connection: String, now: Date, newSourceFailure: Bool) -> Bool {
        if let hold = brokenConnections[connection] { return now >= hold.nextCheck }
        return newSourceFailure
    }

    /// Records a connection test: nil message = passed. Returns whether the connection broke
    /// (true), was restored (false) or neither (nil).
    public mutating func connectionTest(_ connection: String, failure message: String?, now: Date, poll: Double)
        -> Bool?
    {
        guard let message else {
            return brokenConnections.removeValue(forKey: connection) == nil ? nil : false
        }
        if var hold = brokenConnections[connection] {
            hold.detail = message
            hold.backoffSeconds = min(hold.backoffSeconds * 2, Self.maximumRecheckSeconds)
            hold.nextCheck = now.addingTimeInterval(hold.backoffSeconds)
            brokenConnections[connection] = hold
            return nil
        }
        brokenConnections[connection] = Hold(
            detail: message, since: now, nextCheck: now.addingTimeInterval(poll), backoffSeconds: poll)
        return true
    }

    /// Whom the failure of `job` (on `connection`) is charged to, given the incidents now. A
    /// failure attributed once stays attributed for that Polaris job.
    public mutating func attribute(_ job: LiveJob, connection: String) -> FailureAttribution {
        guard job.executionStatus == .failed || job.executionStatus == .canceled else { return .job }
        if let known = attributed[job.id] { return known }
        let attribution: FailureAttribution
        if project != nil {
            attribution = .project
        } else if isBroken(connection), let code = job.health.code, Self.sourceConnectionCodes.contains(code) {
            attribution = .connection(connection)
        } else {
            return .job
        }
        attributed[job.id] = attribution
        return attribution
    }

    /// Forgets attributions of jobs no longer listed (recreated, deleted).
    public mutating func keepAttributions(forJobIDs listed: Set<String>) {
        keepAttributions { listed.contains($0) }
    }

    /// As `keepAttributions(forJobIDs:)`, asking `isListed` per attributed job id (none are,
    /// most cycles), so the caller builds no set of every listed id.
    public mutating func keepAttributions(where isListed: (String) -> Bool) {
        guard !attributed.isEmpty else { return }
        attributed = attributed.filter { isListed($0.key) }
    }
}
