import Logging
import ServiceLifecycle
import WardenPlatform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the supervisor asks before it writes to Polaris when wardens share a project. The
/// single-host warden has none and always writes.
public protocol WriteAuthority: Sendable {
    /// Cheap and local: false once this warden is not (or may no longer be) the leader.
    /// Asked before every write.
    func mayWrite() async -> Bool
    /// Records `state` (with its create intents) where the fleet shares it, fenced by the
    /// lease: throws when this warden does not hold it. Called before a batch of writes is sent.
    func record(_ state: WardenState) async throws(CoordinationError)
}

/// Keeps this warden's place in the leader lease (`highAvailability`): renews every third of the
/// lease as leader, tries to take it as often as standby, and is the `WriteAuthority` the
/// supervisor asks. The decisions are `Leadership`'s; this actor does the I/O and logs the events.
public actor Coordinator: WriteAuthority {
    private let lease: any LeaderLease
    private var leadership: Leadership
    private let clock: any WallClock
    private let logger: Logger
    private let metrics: WardenMetrics?
    /// How often a standby tries to take the lease: a third of it, or the poll interval if
    /// shorter, so a takeover comes within the lease plus two polls of the leader's death.
    private let standbyAttemptInterval: Duration
    private var roleChanged: (@Sendable () -> Void)?
    private var joinWaiters: [CheckedContinuation<Void, Never>] = []
    /// True after the first answer or failure (the daemon is READY then, whichever it was).
    public private(set) var joined = false

    public init(
        lease: any LeaderLease, instance: String, leaseDuration: Duration, pollInterval: Duration,
        clock: any WallClock, logger: Logger, metrics: WardenMetrics? = nil
    ) {
        self.lease = lease
        self.instance = instance
        // The lease names this process, not only the instance: two wardens that share a name
        // (hosts cloned with one host name, a copied config) never both lead, and a restarted
        // warden waits for its previous lease to expire instead of renewing it blindly.
        let token = String(UInt32.random(in: .min ... .max), radix: 16)
        self.leadership = Leadership(
            instance: instance + "#" + String(repeating: "0", count: 8 - token.count) + token, lease: leaseDuration)
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        self.standbyAttemptInterval = min(leaseDuration / 3, pollInterval)
    }

    public var role: Leadership.Role { leadership.role }
    public var term: Int { leadership.term }
    /// This warden's name (`highAvailability.instance`); the lease holds it with a per-process token.
    public let instance: String
    /// The name in the lease: `instance#token`, unique to this process.
    public var holder: String { leadership.instance }
    public var summary: String {
        apply(leadership.tick(at: clock.now))
        return leadership.summary
    }

    /// Called (off the actor) whenever the role changes: the loop wakes and acts at once.
    public func onRoleChange(_ handler: @escaping @Sendable () -> Void) {
        roleChanged = handler
    }

    /// Returns after the first answer or failure, or at `deadline`.
    public func waitUntilJoined(deadline: Duration) async {
        if joined { return }
        let clock = self.clock
        let timer = Task {
            try? await clock.sleep(until: clock.now.advanced(by: deadline), tolerance: nil)
            await self.resumeJoinWaiters()
        }
        await withCheckedContinuation { joinWaiters.append($0) }
        timer.cancel()
    }

    private func resumeJoinWaiters() {
        let waiters = joinWaiters
        joinWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    // MARK: WriteAuthority

    public func mayWrite() -> Bool {
        apply(leadership.tick(at: clock.now))
        return leadership.mayWrite(at: clock.now)
    }

    public func record(_ state: WardenState) async throws(CoordinationError) {
        guard mayWrite(), case .leader(let epoch) = leadership.role else { throw .fenced }
        let document: [UInt8]
        do {
            document = try StateStore.encode(state)
        } catch {
            throw .misconfigured("cannot encode the fleet state: \(error)")
        }
        do {
            try await lease.storeFleetState(document, instance: leadership.instance, epoch: epoch)
        } catch .fenced {
            apply(leadership.fenced())
            throw .fenced
        }
    }

    /// The fleet's state as the last leader stored it; nil when none was stored yet.
    public func loadFleetState() async throws(CoordinationError) -> WardenState? {
        guard let bytes = try await lease.loadFleetState() else { return nil }
        do {
            return try StateStore.decode(bytes)
        } catch {
            throw .misconfigured("the fleet state in the database does not decode: \(error)")
        }
    }

    // MARK: The renewal loop

    /// Prepares the schema (retrying while the database is unreachable), then renews or tries
    /// to take the lease until cancelled or shut down; a leader releases it on the way out.
    public func run() async {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await lease.prepare()
                break
            } catch {
                apply(leadership.failed(error, at: clock.now))
                markJoined()
                if !(await sleep(for: standbyAttemptInterval)) { return await resign() }
            }
        }
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let next = await renewOnce()
            if !(await sleep(until: next)) { break }
        }
        await resign()
    }

    /// One acquire-or-renew; returns when the next one is due (a third of the lease after this
    /// one was sent for a leader, the standby interval otherwise).
    @discardableResult
    func renewOnce() async -> WallInstant {
        let sentAt = clock.now
        do {
            let standing = try await lease.acquireOrRenew(instance: leadership.instance, duration: leadership.lease)
            apply(leadership.answered(standing, sentAt: sentAt))
        } catch {
            apply(leadership.failed(error, at: clock.now))
        }
        markJoined()
        return sentAt.advanced(by: leadership.isLeader ? leadership.renewInterval : standbyAttemptInterval)
    }

    /// A clean stop: a leader releases the lease so a standby takes over at once.
    public func resign() async {
        guard case .leader(let epoch) = leadership.role else {
            await lease.shutdown()
            return
        }
        do {
            try await lease.release(instance: leadership.instance, epoch: epoch)
            apply([.lost(epoch: epoch, reason: "stopping: lease released")])
        } catch {
            logger.warning("could not release the lease (it expires by itself): \(error)")
        }
        await lease.shutdown()
    }

    private func markJoined() {
        guard !joined else { return }
        joined = true
        resumeJoinWaiters()
    }

    private func sleep(for duration: Duration) async -> Bool {
        await sleep(until: clock.now.advanced(by: duration))
    }

    /// False when shut down or cancelled while sleeping.
    private func sleep(until deadline: WallInstant) async -> Bool {
        let clock = self.clock
        let completed: Bool? = await cancelWhenGracefulShutdown {
            do {
                try await clock.sleep(until: deadline, tolerance: nil)
                return true
            } catch {
                return false
            }
        }
        return completed == true && !Task.isShuttingDownGracefully
    }

    /// Logs the events, updates the role metric, wakes the loop on a role change.
    private func apply(_ events: [Leadership.Event]) {
        guard !events.isEmpty else { return }
        let metadata: Logger.Metadata = ["WARDEN_HA_INSTANCE": "\(instance)"]
        var roleChange = false
        for event in events {
            switch event {
            case .acquired(let epoch):
                roleChange = true
                logger.log(
                    event: .leaderAcquired, "\(instance) is the leader (epoch \(epoch)): acting on the jobs",
                    metadata: metadata.merging(["WARDEN_HA_EPOCH": "\(epoch)"]) { $1 })
            case .lost(let epoch, let reason):
                roleChange = true
                logger.log(
                    event: .leaderLost, "\(instance) is no longer the leader (epoch \(epoch)): \(reason)",
                    metadata: metadata.merging(["WARDEN_HA_EPOCH": "\(epoch)"]) { $1 })
            case .standby(let holder, let epoch):
                let leader = Leadership.displayName(holder)
                roleChange = true
                logger.log(
                    event: .standby, "\(instance) stands by (leader \(leader), epoch \(epoch))",
                    metadata: metadata.merging(["WARDEN_HA_LEADER": "\(leader)", "WARDEN_HA_EPOCH": "\(epoch)"]) {
                        $1
                    })
            case .unreachable(let detail):
                logger.log(
                    event: .coordinationUnreachable, "\(detail); a leader stops writing at its self-fence deadline",
                    metadata: metadata)
            case .reachable:
                logger.notice("coordination database reachable again", metadata: metadata)
            }
        }
        metrics?.leadership(isLeader: leadership.isLeader)
        if roleChange { roleChanged?() }
    }
}

/// The `Coordinator`'s renewal loop as a `Service` in the daemon's group, started before the
/// reconcile loop and stopped after it (the loop's last cycle still may write; then the lease
/// is released).
public struct CoordinatorService: Service {
    public let coordinator: Coordinator

    public init(coordinator: Coordinator) {
        self.coordinator = coordinator
    }

    public func run() async throws {
        await coordinator.run()
    }
}
