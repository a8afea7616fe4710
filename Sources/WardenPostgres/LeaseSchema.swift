import Logging
import PostgresNIO

/// The tables the lease needs, as numbered migrations. `warden_schema` records the version the
/// database is at; `prepare()` runs the missing migrations in one transaction that first takes
/// an advisory lock, so two wardens starting at once migrate one after the other (the second
/// finds nothing to do), and a database at a newer version than `migrations.count` is refused.
enum LeaseSchema {
    /// `pg_advisory_xact_lock` key: "polarisw" in ASCII, unlikely to collide with another
    /// application's key in a shared database.
    static let advisoryLockKey: Int64 = 0x706F_6C61_7269_7377

    /// Migration n (1-based) brings the schema from version n-1 to n. Never edit a shipped one:
    /// append.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE warden_lease (
                scope text PRIMARY KEY,
                holder text NOT NULL,
                epoch bigint NOT NULL CHECK (epoch > 0),
                expires_at timestamptz NOT NULL
            )
            """,
            """
            CREATE TABLE warden_fleet_state (
                scope text PRIMARY KEY,
                epoch bigint NOT NULL,
                document bytea NOT NULL,
                updated_at timestamptz NOT NULL
            )
            """,
        ]
    ]

    static var currentVersion: Int { migrations.count }

    /// Brings the database to `currentVersion` on `connection` (which is closed afterwards by
    /// the caller either way: an error leaves the transaction to die with it). A database
    /// already at `currentVersion` (every start but the first) is answered by one statement,
    /// without the transaction and its lock.
    static func migrate(on connection: PostgresConnection, logger: Logger, driverLogger: Logger) async throws {
        if let found = try await recordedVersion(on: connection, driverLogger: driverLogger) {
            guard found <= currentVersion else { throw SchemaTooNew(found: found, known: currentVersion) }
            if found == currentVersion { return }
        }
        try await connection.query("BEGIN", logger: driverLogger)
        try await connection.query("SELECT pg_advisory_xact_lock(\(advisoryLockKey))", logger: driverLogger)
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS warden_schema (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                version integer NOT NULL,
                updated_at timestamptz NOT NULL
            )
            """, logger: driverLogger)
        var found = 0
        for try await version in try await connection.query(
            "SELECT version FROM warden_schema", logger: driverLogger
        ).decode(Int.self) {
            found = version
        }
        guard found <= currentVersion else {
            throw SchemaTooNew(found: found, known: currentVersion)
        }
        for version in (found + 1)..<(currentVersion + 1) {
            for statement in migrations[version - 1] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: driverLogger)
            }
            logger.info("coordination database schema migrated", metadata: ["version": "\(version)"])
        }
        if found < currentVersion {
            try await connection.query(
                """
                INSERT INTO warden_schema (singleton, version, updated_at) VALUES (true, \(currentVersion), now())
                ON CONFLICT (singleton) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at
                """, logger: driverLogger)
        }
        try await connection.query("COMMIT", logger: driverLogger)
    }

    /// The version `warden_schema` records, nil when there is no such table (or no row) yet.
    private static func recordedVersion(on connection: PostgresConnection, driverLogger: Logger) async throws -> Int? {
        do {
            var found: Int?
            for try await version in try await connection.query(
                "SELECT version FROM warden_schema", logger: driverLogger
            ).decode(Int.self) {
                found = version
            }
            return found
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P01" {
            return nil  // undefined_table: a database never prepared
        }
    }
}
