import Warden
import WardenPlatform

/// The lease's contract (`LeaderLease`) kept in memory and judged on one shared clock: the
/// engine the warden-side HA tests run against. The PostgreSQL lease is tested against a real
/// server in WardenPostgresTests and, with real wardens, by the HA system tests.
actor MemoryLeaderLease: LeaderLease {
    private let clock: any WallClock
    private var holder: String?
    private var epoch: Int64 = 0
    private var expiresAt = WallInstant(sinceEpoch: .zero)
    private var document: [UInt8]?
    /// While true every call fails as an unreachable database would.
    var unreachable = false
    private(set) var stores = 0

    init(clock: any WallClock) { self.clock = clock }

    func setUnreachable(_ value: Bool) { unreachable = value }

    func prepare() async throws(CoordinationError) {
        if unreachable { throw .unreachable("test: down") }
    }

    func acquireOrRenew(instance: String, duration: Duration) async throws(CoordinationError) -> LeaseStanding {
        if unreachable { throw .unreachable("test: down") }
        let now = clock.now
        if holder == nil || expiresAt <= now {
            holder = instance
            epoch += 1
            expiresAt = now.advanced(by: duration)
        } else if holder == instance {
            expiresAt = now.advanced(by: duration)
        }
        return LeaseStanding(holder: holder!, epoch: epoch, remaining: now.duration(to: expiresAt))
    }

    func release(instance: String, epoch: Int64) async throws(CoordinationError) {
        if unreachable { throw .unreachable("test: down") }
        if holder == instance, self.epoch == epoch { expiresAt = clock.now }
    }

    func loadFleetState() async throws(CoordinationError) -> [UInt8]? {
        if unreachable { throw .unreachable("test: down") }
        return document
    }

    func storeFleetState(_ document: [UInt8], instance: String, epoch: Int64) async throws(CoordinationError) {
        if unreachable { throw .unreachable("test: down") }
        guard holder == instance, self.epoch == epoch, clock.now < expiresAt else { throw .fenced }
        self.document = document
        stores += 1
    }

    func shutdown() async {}
}
