import Logging
import Warden

/// `LeaderLease` on PostgreSQL: one row per Polaris project (`scope`) in `warden_lease`, the
/// fleet's shared state beside it in `warden_fleet_state`. Every decision is taken by a single
/// statement on the database's `now()`, never on this host's clock.
///
/// The client is libpq (`PQConnection`, non-blocking with a deadline per call), not a Swift
/// driver: postgres-nio brings the whole of Foundation and ICU into the daemon.
///
/// Connections: one, opened on first use and closed on any connection error or missed
/// deadline (the next call opens a new one), plus a short-lived one of its own for
/// `prepare()`'s transaction; all of it on a serial queue of the lease's own (`ConnectionSlot`),
/// so calls run one after the other and libpq's waiting never blocks Swift's cooperative pool.
/// The lease sends a few statements per lease period, so one connection is plenty, and owning it
/// makes both deadlines (close it, forget it) and reconnects (a closed connection is replaced
/// at the next call) direct. Nothing to run: the daemon only calls `shutdown()` when it stops.
///
/// Every statement except `prepare()`'s is one implicit transaction. Each call ends within
/// `operationTimeout`, connecting included, and is not cut short by the caller's cancellation
/// (a clean stop's `release` runs in a cancelled task).
public final class PostgresLeaderLease: LeaderLease {
    private let scope: String
    private let operationTimeout: Duration
    private let logger: Logger
    private let slot: ConnectionSlot

    /// - Parameters:
    ///   - password: already resolved from `settings.password`; used for authentication only,
    ///     never logged nor put into an error.
    ///   - scope: the Polaris project id: one lease (and one fleet state) per project.
    ///   - operationTimeout: the longest any call may take, connecting included (the daemon
    ///     passes about a third of the lease); on expiry the call throws `.unreachable`.
    public init(
        settings: PostgresSettings, password: String, scope: String, operationTimeout: Duration, logger: Logger
    ) {
        self.scope = scope
        self.operationTimeout = operationTimeout
        var logger = logger
        logger[metadataKey: "postgres.host"] = "\(settings.host)"
        logger[metadataKey: "postgres.port"] = "\(settings.port)"
        logger[metadataKey: "postgres.database"] = "\(settings.database)"
        self.logger = logger
        self.slot = ConnectionSlot(
            parameters: ConnectionParameters(settings: settings, password: password, timeout: operationTimeout),
            logger: logger)
    }

    public func prepare() async throws(CoordinationError) {
        // A connection of its own: the migration is a multi-statement transaction, which an
        // error may leave open.
        let slot = self.slot
        let logger = self.logger
        try await bounded("prepare") { deadline in
            try await slot.withOwnConnection(deadline: deadline) { connection in
                try LeaseSchema.migrate(on: connection, deadline: deadline, logger: logger)
            }
        }
    }

    public func acquireOrRenew(instance: String, duration: Duration) async throws(CoordinationError) -> LeaseStanding {
        let scope = self.scope
        let micros = duration.wholeMicroseconds
        return try await run("acquireOrRenew") { connection, deadline in
            // Always an update on conflict (a no-op one when the lease is someone else's and
            // running) so RETURNING answers with the row as it is after the statement. An
            // `INSERT … ON CONFLICT … WHERE` plus a fallback SELECT would read the fallback from
            // the statement's snapshot, which under READ COMMITTED can miss a row another warden
            // inserted meanwhile or show a version older than the one the conflict check saw.
            let rows = try connection.execute(
                """
                INSERT INTO warden_lease AS l (scope, holder, epoch, expires_at)
                VALUES ($1, $2, 1, now() + $3 * interval '1 microsecond')
                ON CONFLICT (scope) DO UPDATE SET
                    holder = CASE WHEN l.expires_at <= now() OR l.holder = excluded.holder
                        THEN excluded.holder ELSE l.holder END,
                    epoch = CASE WHEN l.expires_at <= now() THEN l.epoch + 1 ELSE l.epoch END,
                    expires_at = CASE WHEN l.expires_at <= now() OR l.holder = excluded.holder
                        THEN excluded.expires_at ELSE l.expires_at END
                RETURNING l.holder, l.epoch,
                    (extract(epoch FROM (l.expires_at - now())) * 1000000)::bigint
                """, [.text(scope), .text(instance), .int64(micros)], deadline: deadline)
            guard let row = rows.last else { throw UnexpectedAnswer(detail: "no lease row returned") }
            guard let holder = row.text(0), let epoch = row.int64(1), let remaining = row.int64(2) else {
                throw UnexpectedAnswer(detail: "a lease row that is not (holder, epoch, remaining)")
            }
            return LeaseStanding(holder: holder, epoch: epoch, remaining: .microseconds(remaining))
        }
    }

    public func release(instance: String, epoch: Int64) async throws(CoordinationError) {
        let scope = self.scope
        try await run("release") { connection, deadline in
            _ = try connection.execute(
                """
                UPDATE warden_lease SET expires_at = least(expires_at, now())
                WHERE scope = $1 AND holder = $2 AND epoch = $3
                """, [.text(scope), .text(instance), .int64(epoch)], deadline: deadline)
        }
    }

    public func loadFleetState() async throws(CoordinationError) -> [UInt8]? {
        let scope = self.scope
        return try await run("loadFleetState") { connection, deadline in
            // Binary results: the document's bytes as they are (not bytea's text form).
            let rows = try connection.execute(
                "SELECT document FROM warden_fleet_state WHERE scope = $1", [.text(scope)], binaryResults: true,
                deadline: deadline)
            return rows.last?.bytes(0)
        }
    }

    public func storeFleetState(_ document: [UInt8], instance: String, epoch: Int64) async throws(CoordinationError) {
        let scope = self.scope
        let stored = try await run("storeFleetState") { connection, deadline in
            // One statement: the lease row is read FOR SHARE, so a take-over (an UPDATE of that
            // row) waits for this store to commit, and a store that waited on a take-over sees
            // the new holder/epoch and inserts nothing. The epoch check on conflict keeps an
            // older leader's document from replacing a newer one's.
            let rows = try connection.execute(
                """
                WITH lease AS (
                    SELECT epoch FROM warden_lease
                    WHERE scope = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()
                    FOR SHARE
                )
                INSERT INTO warden_fleet_state AS f (scope, epoch, document, updated_at)
                SELECT $1, lease.epoch, $4, now() FROM lease
                ON CONFLICT (scope) DO UPDATE SET
                    epoch = excluded.epoch, document = excluded.document, updated_at = excluded.updated_at
                WHERE f.epoch <= excluded.epoch
                RETURNING 1
                """, [.text(scope), .text(instance), .int64(epoch), .bytes(document)], deadline: deadline)
            return !rows.isEmpty
        }
        guard stored else { throw .fenced }
    }

    public func shutdown() async {
        await slot.shutdown()
    }

    // MARK: - Running statements

    /// Runs `body` on the shared connection within `operationTimeout` (`ConnectionSlot`: once
    /// more on a fresh connection when a reused one turns out dead). Every statement here can
    /// run twice safely (renewing twice, storing the same document twice, releasing twice end
    /// the same way as once).
    private func run<Value: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PQConnection, ContinuousClock.Instant) throws -> Value
    ) async throws(CoordinationError) -> Value {
        let slot = self.slot
        return try await bounded(operation) { deadline in
            try await slot.withConnection(operation, deadline: deadline) { connection in
                try body(connection, deadline)
            }
        }
    }

    /// `work` by the deadline `operationTimeout` from now; on expiry the call throws
    /// `.unreachable`. Every other error is classified.
    private func bounded<Value: Sendable>(
        _ operation: String, _ work: @escaping @Sendable (ContinuousClock.Instant) async throws -> Value
    ) async throws(CoordinationError) -> Value {
        let timeout = operationTimeout
        let deadline = ContinuousClock.now + timeout
        do {
            return try await withDeadline(deadline) { try await work(deadline) }
        } catch {
            if error is DeadlineExpired || isTimeout(error) {
                logger.debug("coordination call timed out", metadata: ["operation": "\(operation)"])
                throw .unreachable("\(operation) timed out after \(timeout.wholeMilliseconds) ms")
            }
            throw coordinationError(error, operation: operation)
        }
    }

    private func isTimeout(_ error: any Error) -> Bool {
        guard case .timedOut = error as? LibPQError else { return false }
        return true
    }
}

extension Duration {
    fileprivate var wholeMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    fileprivate var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
