import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Warden

/// `LeaderLease` on PostgreSQL: one row per Polaris project (`scope`) in `warden_lease`, the
/// fleet's shared state beside it in `warden_fleet_state`. Every decision is taken by a single
/// statement on the database's `now()`, never on this host's clock.
///
/// Connections: one `PostgresConnection`, opened on first use and dropped on any connection
/// error or missed deadline (the next call opens a new one), plus a short-lived one of its own
/// for `prepare()`'s transaction. Not `PostgresClient`: its pool needs a `run()` task, retries
/// connections on its own schedule, and a query leased from it against a silent peer cannot be
/// abandoned without closing the pool. The lease sends a few statements per lease period, so
/// one connection is plenty, and owning it makes both deadlines (close it, forget it) and
/// reconnects (a closed connection is replaced at the next call) direct. Nothing to run: the
/// daemon only calls `shutdown()` when it stops.
///
/// Every statement except `prepare()`'s is one implicit transaction, so concurrent calls can
/// share the connection (PostgresNIO queues them). Each call ends within `operationTimeout`,
/// connecting included, and is not cut short by the caller's cancellation (a clean stop's
/// `release` runs in a cancelled task).
public final class PostgresLeaderLease: LeaderLease {
    private let scope: String
    private let operationTimeout: Duration
    private let configuration: Result<PostgresConnection.Configuration, CoordinationError>
    private let logger: Logger
    private let driverLogger: Logger
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
        // PostgresNIO traces every message on the wire (the fleet state included) at .trace.
        var driverLogger = logger
        driverLogger.logLevel = max(logger.logLevel, .debug)
        self.driverLogger = driverLogger
        self.configuration = Self.connectionConfiguration(
            settings: settings, password: password, timeout: operationTimeout)
        self.slot = ConnectionSlot(
            configuration: configuration, logger: logger, driverLogger: driverLogger,
            closeTimeout: operationTimeout)
    }

    public func prepare() async throws(CoordinationError) {
        // A connection of its own: the migration is a multi-statement transaction, which must
        // not take in another call's statement.
        let admin = ConnectionSlot(
            configuration: configuration, logger: logger, driverLogger: driverLogger,
            closeTimeout: operationTimeout)
        let logger = self.logger
        let driverLogger = self.driverLogger
        do {
            try await bounded("prepare", slot: admin) {
                let connection = try await Self.connection(from: admin).connection
                try await LeaseSchema.migrate(on: connection, logger: logger, driverLogger: driverLogger)
            }
        } catch {
            // Not waited for: a connection to a silent peer may take a while to close.
            Task { await admin.shutdown() }
            throw error
        }
        await admin.shutdown()
    }

    public func acquireOrRenew(instance: String, duration: Duration) async throws(CoordinationError) -> LeaseStanding {
        let scope = self.scope
        let micros = duration.wholeMicroseconds
        return try await run("acquireOrRenew") { connection, driverLogger in
            // Always an update on conflict (a no-op one when the lease is someone else's and
            // running) so RETURNING answers with the row as it is after the statement. An
            // `INSERT … ON CONFLICT … WHERE` plus a fallback SELECT would read the fallback from
            // the statement's snapshot, which under READ COMMITTED can miss a row another warden
            // inserted meanwhile or show a version older than the one the conflict check saw.
            let rows = try await connection.query(
                """
                INSERT INTO warden_lease AS l (scope, holder, epoch, expires_at)
                VALUES (\(scope), \(instance), 1, now() + \(micros) * interval '1 microsecond')
                ON CONFLICT (scope) DO UPDATE SET
                    holder = CASE WHEN l.expires_at <= now() OR l.holder = excluded.holder
                        THEN excluded.holder ELSE l.holder END,
                    epoch = CASE WHEN l.expires_at <= now() THEN l.epoch + 1 ELSE l.epoch END,
                    expires_at = CASE WHEN l.expires_at <= now() OR l.holder = excluded.holder
                        THEN excluded.expires_at ELSE l.expires_at END
                RETURNING l.holder, l.epoch,
                    (extract(epoch FROM (l.expires_at - now())) * 1000000)::bigint
                """, logger: driverLogger)
            var standing: LeaseStanding?
            for try await (holder, epoch, remaining) in rows.decode((String, Int64, Int64).self) {
                standing = LeaseStanding(holder: holder, epoch: epoch, remaining: .microseconds(remaining))
            }
            guard let standing else { throw UnexpectedAnswer(detail: "no lease row returned") }
            return standing
        }
    }

    public func release(instance: String, epoch: Int64) async throws(CoordinationError) {
        let scope = self.scope
        try await run("release") { connection, driverLogger in
            try await connection.query(
                """
                UPDATE warden_lease SET expires_at = least(expires_at, now())
                WHERE scope = \(scope) AND holder = \(instance) AND epoch = \(epoch)
                """, logger: driverLogger)
        }
    }

    public func loadFleetState() async throws(CoordinationError) -> [UInt8]? {
        let scope = self.scope
        return try await run("loadFleetState") { connection, driverLogger in
            let rows = try await connection.query(
                "SELECT document FROM warden_fleet_state WHERE scope = \(scope)", logger: driverLogger)
            var document: [UInt8]?
            for try await buffer in rows.decode(ByteBuffer.self) {
                document = Array(buffer.readableBytesView)
            }
            return document
        }
    }

    public func storeFleetState(_ document: [UInt8], instance: String, epoch: Int64) async throws(CoordinationError) {
        let scope = self.scope
        let stored = try await run("storeFleetState") { connection, driverLogger in
            // One statement: the lease row is read FOR SHARE, so a take-over (an UPDATE of that
            // row) waits for this store to commit, and a store that waited on a take-over sees
            // the new holder/epoch and inserts nothing. The epoch check on conflict keeps an
            // older leader's document from replacing a newer one's.
            let rows = try await connection.query(
                """
                WITH lease AS (
                    SELECT epoch FROM warden_lease
                    WHERE scope = \(scope) AND holder = \(instance) AND epoch = \(epoch) AND expires_at > now()
                    FOR SHARE
                )
                INSERT INTO warden_fleet_state AS f (scope, epoch, document, updated_at)
                SELECT \(scope), lease.epoch, \(ByteBuffer(bytes: document)), now() FROM lease
                ON CONFLICT (scope) DO UPDATE SET
                    epoch = excluded.epoch, document = excluded.document, updated_at = excluded.updated_at
                WHERE f.epoch <= excluded.epoch
                RETURNING 1
                """, logger: driverLogger)
            var stored = false
            for try await _ in rows.decode(Int.self) { stored = true }
            return stored
        }
        guard stored else { throw .fenced }
    }

    public func shutdown() async {
        await slot.shutdown()
    }

    // MARK: - Running statements

    /// Runs `body` on the shared connection within `operationTimeout`. A connection that was
    /// already open may have died since the last call before we noticed (PostgreSQL restarted):
    /// when `body` fails on such a connection with a connection error, it is run once more on
    /// a fresh one. Every statement here can run twice safely (renewing twice, storing the same
    /// document twice, releasing twice end the same way as once).
    private func run<Value: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Value
    ) async throws(CoordinationError) -> Value {
        let slot = self.slot
        let driverLogger = self.driverLogger
        return try await bounded(operation, slot: slot) {
            var retried = false
            while true {
                let (connection, reused) = try await Self.connection(from: slot)
                do {
                    return try await body(connection, driverLogger)
                } catch {
                    if isServerAnswer(error) { throw error }
                    await slot.drop(connection, reason: "\(operation) failed")
                    guard reused, !retried, !Task.isCancelled else { throw error }
                    retried = true
                }
            }
        }
    }

    /// `work` within `operationTimeout`; on expiry `slot`'s connection is dropped (it may be a
    /// silent peer) and the call throws `.unreachable`. Every other error is classified.
    private func bounded<Value: Sendable>(
        _ operation: String, slot: ConnectionSlot, _ work: @escaping @Sendable () async throws -> Value
    ) async throws(CoordinationError) -> Value {
        let timeout = operationTimeout
        do {
            return try await withDeadline(
                timeout,
                onExpiry: { await slot.dropCurrent(reason: "\(operation) timed out") },
                work)
        } catch is DeadlineExpired {
            logger.debug("coordination call timed out", metadata: ["operation": "\(operation)"])
            throw .unreachable("\(operation) timed out after \(timeout.wholeMilliseconds) ms")
        } catch {
            throw coordinationError(error, operation: operation)
        }
    }

    private static func connection(from slot: ConnectionSlot) async throws -> (
        connection: PostgresConnection, reused: Bool
    ) {
        switch try await slot.checkout() {
        case .open(let connection): (connection, true)
        case .connecting(let attempt): (try await attempt.value, false)
        }
    }

    /// The connection settings. TLS `require` encrypts without checking the certificate;
    /// `verify-full` checks it against the system's trust roots and the host name (or, for an
    /// IP address, the certificate's IP SAN). Failures surface as `.misconfigured` at the first
    /// call, so `init` cannot fail.
    private static func connectionConfiguration(
        settings: PostgresSettings, password: String, timeout: Duration
    ) -> Result<PostgresConnection.Configuration, CoordinationError> {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch settings.tls {
            case .disable:
                tls = .disable
            case .require:
                var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
                tlsConfiguration.certificateVerification = .none
                tlsConfiguration.shutdownTimeout = TimeAmount(timeout)
                tls = .require(try NIOSSLContext(configuration: tlsConfiguration))
            case .verifyFull:
                var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
                tlsConfiguration.certificateVerification = .fullVerification
                tlsConfiguration.trustRoots = .default
                tlsConfiguration.shutdownTimeout = TimeAmount(timeout)
                tls = .require(try NIOSSLContext(configuration: tlsConfiguration))
            }
        } catch {
            return .failure(.misconfigured("TLS set-up failed: \(error)"))
        }
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: password,
            database: settings.database, tls: tls)
        configuration.options.connectTimeout = TimeAmount(timeout)
        configuration.options.additionalStartupParameters = [("application_name", "polaris-warden")]
        return .success(configuration)
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
