#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where one job stands, for `STATUS=`, `polaris-warden status` and the demo table.
public enum JobPhase: Hashable, Sendable {
    /// No job exists: a create is due or in flight.
    case creating
    /// The job is `pending`, or was just created or resumed and not seen running yet.
    case starting
    /// `running`/`idle` and not unhealthy (warnings other than the ones below included).
    case running
    /// `error` health below `unhealthyThreshold`, or `lost_connection_to_source` being counted
    /// or tested.
    case unhealthy
    /// The connection test failed: a source or IAM problem the warden cannot fix.
    case sourceUnreachable
    /// Stale offsets reported and not being reset (`autoResetOffsets` off, or reset once already).
    case offsetsStale
    /// Spec drift reported and left alone (`onSpecDrift: report`).
    case drifted
    /// A healing write went out; waiting for its effect.
    case recovering
    /// A write is due but waits for the backoff to end.
    case backingOff(until: Date)
    /// `suspended`, left alone (`onSuspended: leave`).
    case suspendedLeft
    /// `canceled`, left alone (`onCanceled: leave`).
    case canceledLeft
    /// Polaris reports `unknown`, not yet for `unknownTimeoutSeconds`.
    case statusUnknown
    /// An `executionStatus` this version does not know: nothing is written.
    case unrecognized(String)
    /// The crash-loop budget is exhausted: no writes until `retry`, a spec change or the window passing.
    case gaveUp(since: Date)

    /// The group `STATUS=` counts the job in (`StatusLine.groupOrder`).
    public var statusGroup: String {
        switch self {
        case .running: "running"
        case .drifted: "drifted"
        case .creating, .starting: "starting"
        case .recovering, .backingOff: "recovering"
        case .unhealthy, .sourceUnreachable, .offsetsStale: "unhealthy"
        case .suspendedLeft, .canceledLeft: "left"
        case .statusUnknown, .unrecognized: "unknown"
        case .gaveUp: "gave up"
        }
    }

    /// A short note for a job that needs attention (`retry in 40s`), nil when there is none.
    public func statusNote(now: Date) -> String? {
        switch self {
        case .backingOff(let until):
            let seconds = Int(until.timeIntervalSince(now).rounded(.up))
            return seconds > 0 ? "retry in \(seconds)s" : "retrying"
        case .gaveUp(let since):
            let minutes = max(0, Int(now.timeIntervalSince(since) / 60))
            return "gave up \(minutes)m ago"
        case .sourceUnreachable: return "source unreachable"
        case .offsetsStale: return "offsets stale"
        case .drifted: return "spec drifted"
        case .suspendedLeft: return "suspended"
        case .canceledLeft: return "canceled"
        case .unrecognized(let status): return "status \(status)"
        default: return nil
        }
    }
}

extension JobPhase: Codable {
    private enum CodingKeys: String, CodingKey { case name, date, status }

    private var name: String {
        switch self {
        case .creating: "creating"
        case .starting: "starting"
        case .running: "running"
        case .unhealthy: "unhealthy"
        case .sourceUnreachable: "sourceUnreachable"
        case .offsetsStale: "offsetsStale"
        case .drifted: "drifted"
        case .recovering: "recovering"
        case .backingOff: "backingOff"
        case .suspendedLeft: "suspendedLeft"
        case .canceledLeft: "canceledLeft"
        case .statusUnknown: "statusUnknown"
        case .unrecognized: "unrecognized"
        case .gaveUp: "gaveUp"
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .name)
        let date = try container.decodeIfPresent(Date.self, forKey: .date) ?? Date(timeIntervalSince1970: 0)
        switch name {
        case "creating": self = .creating
        case "starting": self = .starting
        case "running": self = .running
        case "unhealthy": self = .unhealthy
        case "sourceUnreachable": self = .sourceUnreachable
        case "offsetsStale": self = .offsetsStale
        case "drifted": self = .drifted
        case "recovering": self = .recovering
        case "backingOff": self = .backingOff(until: date)
        case "suspendedLeft": self = .suspendedLeft
        case "canceledLeft": self = .canceledLeft
        case "statusUnknown": self = .statusUnknown
        case "unrecognized": self = .unrecognized(try container.decodeIfPresent(String.self, forKey: .status) ?? "")
        case "gaveUp": self = .gaveUp(since: date)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .name, in: container, debugDescription: "unknown phase \(name)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        switch self {
        case .backingOff(let until): try container.encode(until, forKey: .date)
        case .gaveUp(let since): try container.encode(since, forKey: .date)
        case .unrecognized(let status): try container.encode(status, forKey: .status)
        default: break
        }
    }
}
