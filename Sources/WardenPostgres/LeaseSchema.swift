import Logging

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
    /// the caller either way: an error leaves the transaction to die with it), by `deadline`. A
    /// database already at `currentVersion` (every start but the first) is answered by one
    /// statement, without the transaction and its lock.
    static func migrate(on connection: PQConnection, deadline: ContinuousClock.Instant, logger: Logger) throws {
        if let found = try recordedVersion(on: connection, deadline: deadline) {
            guard found <= currentVersion else { throw SchemaTooNew(found: found, known: currentVersion) }
            if found == currentVersion { return }
        }
        _ = try connection.execute("BEGIN", deadline: deadline)
        _ = try connection.execute("SELECT pg_advisory_xact_lock($1)", [.int64(advisoryLockKey)], deadline: deadline)
        _ = try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS warden_schema (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                version integer NOT NULL,
                updated_at timestamptz NOT NULL
            )
            """, deadline: deadline)
        let found = try version(in: connection.execute("SELECT version FROM warden_schema", deadline: deadline)) ?? 0
        guard found <= currentVersion else {
            throw SchemaTooNew(found: found, known: currentVersion)
        }
        for version in (found + 1)..<(currentVersion + 1) {
            for statement in migrations[version - 1] {
                _ = try connection.execute(statement, deadline: deadline)
            }
            logger.info("coordination database schema migrated", metadata: ["version": "\(version)"])
        }
        if found < currentVersion {
            _ = try connection.execute(
                """
                INSERT INTO warden_schema (singleton, version, updated_at) VALUES (true, $1, now())
                ON CONFLICT (singleton) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at
                """, [.int64(Int64(currentVersion))], deadline: deadline)
        }
        _ = try connection.execute("COMMIT", deadline: deadline)
    }

    /// The version `warden_schema` records, nil when there is no such table (or no row) yet.
    private static func recordedVersion(on connection: PQConnection, deadline: ContinuousClock.Instant) throws -> Int? {
        do {
            return try version(in: connection.execute("SELECT version FROM warden_schema", deadline: deadline))
        } catch LibPQError.server(let state, _) where state == "42P01" {
            return nil  // undefined_table: a database never prepared
        }
    }

    /// The version in `SELECT version FROM warden_schema`'s answer (the last row's), nil when none.
    private static func version(in rows: [Row]) throws -> Int? {
        guard let row = rows.last else { return nil }
        guard let version = row.text(0).flatMap({ Int($0) }) else {
            throw UnexpectedAnswer(detail: "warden_schema.version is not a number")
        }
        return version
    }
}
