/// Leadership between wardens that watch one Polaris project (`highAvailability` in the config).
///
/// The engine behind it (PostgreSQL today, `WardenPostgres.PostgresLeaderLease`) is the only
/// judge of time: every answer is computed on its clock, never on a warden's. Another engine
/// (etcd, …) is another conformance; the supervisor only ever sees this protocol.
public protocol LeaderLease: Sendable {
    /// Creates or migrates what the lease needs (versioned, idempotent, safe when two wardens
    /// start at once).
    func prepare() async throws(CoordinationError)

    /// One attempt to take the lease for `instance` (when it is free or expired) or to extend it
    /// (when `instance` holds it), for `duration` from the engine's now. Taking it bumps the
    /// epoch; extending a lease that has not expired keeps it. Answers who holds it afterwards.
    func acquireOrRenew(instance: String, duration: Duration) async throws(CoordinationError) -> LeaseStanding

    /// Ends `instance`'s lease at `epoch` now (a clean stop), so a standby need not wait for it
    /// to expire. Does nothing when `instance` no longer holds it at that epoch.
    func release(instance: String, epoch: Int64) async throws(CoordinationError)

    /// The fleet's shared state (what `storeFleetState` last stored), nil when none yet.
    func loadFleetState() async throws(CoordinationError) -> [UInt8]?

    /// Stores the fleet's shared state in one transaction that first checks, on the engine's
    /// clock, that `instance` holds the lease at `epoch` and that it has not expired; throws
    /// `.fenced` (and stores nothing) otherwise. A warden records its write intents this way
    /// before it writes to Polaris, so a stale leader cannot write.
    func storeFleetState(_ document: [UInt8], instance: String, epoch: Int64) async throws(CoordinationError)

    /// Closes connections; the lease is left to expire unless `release` was called.
    func shutdown() async
}

/// Who holds the lease, as the engine answered one `acquireOrRenew`.
public struct LeaseStanding: Sendable, Hashable {
    public var holder: String
    /// Bumped each time the lease changes hands (or is taken again after it expired).
    public var epoch: Int64
    /// What was left of the lease when the engine answered, by its clock.
    public var remaining: Duration

    public init(holder: String, epoch: Int64, remaining: Duration) {
        self.holder = holder
        self.epoch = epoch
        self.remaining = remaining
    }
}

/// Why a lease operation did not succeed.
public enum CoordinationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No answer in time, connection refused or lost: try again at the next renewal.
    case unreachable(String)
    /// A fenced store was refused: not the holder at that epoch, or the lease has expired.
    case fenced
    /// An answer that retrying will not change (authentication, missing database, a schema
    /// newer than this warden knows).
    case misconfigured(String)

    public var description: String {
        switch self {
        case .unreachable(let detail): "coordination database unreachable: \(detail)"
        case .fenced: "not the leader (lease lost or expired)"
        case .misconfigured(let detail): "coordination database: \(detail)"
        }
    }
}
