/// `highAvailability`: two or more wardens on one Polaris project, one acting (the leader,
/// chosen by a lease in PostgreSQL), the others standing by. Absent: a single host.
public struct HighAvailabilitySettings: Sendable, Hashable {
    public var postgres: PostgresSettings
    /// How long a lease lasts; renewed every third of it, and a leader stops writing when it has
    /// not renewed for two thirds of it.
    public var leaseSeconds: Double
    /// This warden's name in the lease (`instance`, default the host name).
    public var instance: String

    public init(postgres: PostgresSettings, leaseSeconds: Double = 10, instance: String) {
        self.postgres = postgres
        self.leaseSeconds = leaseSeconds
        self.instance = instance
    }

    public var lease: Duration { .milliseconds(Int64((leaseSeconds * 1000).rounded())) }
}

/// Where the coordination database is and how to reach it.
public struct PostgresSettings: Sendable, Hashable {
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP (loopback or a trusted network only).
        case disable
        /// Encrypted, the server's certificate not checked.
        case require
        /// Encrypted, the certificate checked against the system's CAs and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var database: String
    public var user: String
    /// Never inline: a systemd credential, a file or an environment variable.
    public var password: SecretSource
    public var tls: TLSMode

    public init(
        host: String, port: Int = 5432, database: String, user: String, password: SecretSource,
        tls: TLSMode = .verifyFull
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.tls = tls
    }
}
