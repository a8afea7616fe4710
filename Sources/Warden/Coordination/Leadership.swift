import WardenPlatform

/// Where this warden stands in the leader lease and what follows from it: whether it may write,
/// and the events to log. Pure: `Coordinator` feeds it the engine's answers and the clock.
///
/// Self-fencing: a lease taken or renewed by a request sent at `t` runs until at least
/// `t + lease` on the engine's clock, so the leader stops writing at `t + 2/3 lease` when no
/// renewal has succeeded since — a third of the lease before any other warden can take over,
/// whatever the network or the database did meanwhile.
public struct Leadership: Sendable {
    public enum Role: Sendable, Hashable {
        /// No answer from the engine yet (or the last one was a refused write).
        case joining
        /// Holds the lease at `epoch`.
        case leader(epoch: Int64)
        /// Another warden holds the lease.
        case standby(leader: String, epoch: Int64)
        /// The engine does not answer; not writing.
        case unreachable

        public var isLeader: Bool {
            if case .leader = self { return true }
            return false
        }
    }

    /// What changed, for the journal (each a catalogued event).
    public enum Event: Sendable, Hashable {
        /// `leader-acquired`: this warden now acts.
        case acquired(epoch: Int64)
        /// `leader-lost`: this warden stopped acting.
        case lost(epoch: Int64, reason: String)
        /// `standby`: another warden acts (logged when the leader or its epoch changes).
        case standby(leader: String, epoch: Int64)
        /// `coordination-unreachable`: the engine stopped answering (once per outage).
        case unreachable(detail: String)
        /// The engine answers again after an outage.
        case reachable
    }

    public let instance: String
    public let lease: Duration
    public private(set) var role: Role = .joining
    /// Counts the times this warden became leader: the loop takes the fleet's state over once per term.
    public private(set) var term = 0
    /// When the request of the last renewal that kept or took the lease was sent.
    private var renewedAt: WallInstant?
    private var unreachable = false

    public init(instance: String, lease: Duration) {
        self.instance = instance
        self.lease = lease
    }

    /// How often the leader renews: three tries before it fences itself.
    public var renewInterval: Duration { lease / 3 }
    /// How long after its last successful renewal a leader keeps writing.
    public var selfFenceAfter: Duration { lease * 2 / 3 }

    /// True only for a leader whose last renewal was sent less than `selfFenceAfter` ago.
    public func mayWrite(at now: WallInstant) -> Bool {
        guard case .leader = role, let renewedAt else { return false }
        return renewedAt.duration(to: now) < selfFenceAfter
    }

    /// The engine answered an acquire-or-renew sent at `sentAt`.
    public mutating func answered(_ standing: LeaseStanding, sentAt: WallInstant) -> [Event] {
        var events: [Event] = []
        if unreachable {
            unreachable = false
            events.append(.reachable)
        }
        if standing.holder == instance {
            if role != .leader(epoch: standing.epoch) {
                term += 1
                events.append(.acquired(epoch: standing.epoch))
            }
            role = .leader(epoch: standing.epoch)
            renewedAt = sentAt
        } else {
            if case .leader(let epoch) = role {
                events.append(
                    .lost(epoch: epoch, reason: "\(standing.holder) holds the lease (epoch \(standing.epoch))"))
            }
            let next = Role.standby(leader: standing.holder, epoch: standing.epoch)
            if role != next { events.append(.standby(leader: standing.holder, epoch: standing.epoch)) }
            role = next
            renewedAt = nil
        }
        return events
    }

    /// An acquire-or-renew failed at `now`. A leader keeps its role (and its writes) until the
    /// self-fence deadline; anyone else is no longer sure who leads.
    public mutating func failed(_ error: CoordinationError, at now: WallInstant) -> [Event] {
        var events: [Event] = []
        if !unreachable {
            unreachable = true
            events.append(.unreachable(detail: error.description))
        }
        if case .leader = role {
            return events + tick(at: now)
        }
        role = .unreachable
        return events
    }

    /// Time passed: a leader past its self-fence deadline stops acting.
    public mutating func tick(at now: WallInstant) -> [Event] {
        guard case .leader(let epoch) = role, !mayWrite(at: now) else { return [] }
        role = unreachable ? .unreachable : .joining
        renewedAt = nil
        let seconds = selfFenceAfter.inSeconds
        return [
            .lost(
                epoch: epoch,
                reason: "lease not renewed for \(Int(seconds.rounded())) s: stopped writing before it can expire")
        ]
    }

    /// The engine refused a fenced write: the lease is no longer ours at this epoch.
    public mutating func fenced() -> [Event] {
        guard case .leader(let epoch) = role else { return [] }
        role = .joining
        renewedAt = nil
        return [.lost(epoch: epoch, reason: "the database refused a write: the lease is no longer ours")]
    }

    /// STATUS= and `status` text for this role.
    public var summary: String {
        switch role {
        case .joining: "joining (waiting for the lease)"
        case .leader(let epoch): "leader (epoch \(epoch))"
        case .standby(let leader, let epoch): "standby (leader \(Self.displayName(leader)), epoch \(epoch))"
        case .unreachable: "coordination database unreachable; not writing"
        }
    }

    public var isLeader: Bool { role.isLeader }

    /// A lease holder as people know it: the instance name without the per-process token
    /// (`warden-a#1f2e3d4c` → `warden-a`) that `Coordinator` adds.
    public static func displayName(_ holder: String) -> String {
        guard let hash = holder.lastIndex(of: "#") else { return holder }
        let token = holder[holder.index(after: hash)...]
        guard token.count == 8, token.allSatisfy(\.isHexDigit) else { return holder }
        return String(holder[..<hash])
    }
}
