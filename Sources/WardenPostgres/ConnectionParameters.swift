import Warden

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libpq's connection parameters as keyword/value pairs (`PQconnectStartParams`), never a
/// connection string: nothing that could be logged ever holds the password. The type prints
/// and reflects without its values.
struct ConnectionParameters: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The system's trust roots (Debian's ca-certificates) for `verify-full`. libpq 15, the
    /// version Debian 12 ships, has no `sslrootcert=system` (16 added it): without a file it
    /// would look for ~/.postgresql/root.crt.
    static let systemTrustRoots = "/etc/ssl/certs/ca-certificates.crt"

    private let pairs: [(String, String)]

    /// TLS `require` encrypts without checking the certificate; `verify-full` checks it against
    /// the system's trust roots and the host name (or, for an IP address, the certificate's IP
    /// SAN). A failure surfaces as `.misconfigured` at the first call.
    ///
    /// Parameters not given here fall back to libpq's defaults and `PG*` environment variables
    /// (a client certificate in ~/.postgresql/postgresql.crt is offered; a root certificate in
    /// ~/.postgresql/root.crt makes `require` verify the chain): the daemon's service user has
    /// neither.
    init(settings: PostgresSettings, password: String, timeout: Duration) {
        var pairs: [(String, String)] = [
            ("host", settings.host),
            ("port", "\(settings.port)"),
            ("dbname", settings.database),
            ("user", settings.user),
            ("password", password),
            ("application_name", "polaris-warden"),
            ("client_encoding", "UTF8"),
            // No GSSAPI encryption attempt (Debian's libpq would try one whenever a Kerberos
            // credential cache exists): TLS or plain TCP, as `tls` says.
            ("gssencmode", "disable"),
            // A backstop only: libpq enforces it in its blocking connect, not in the
            // PQconnectPoll loop PQConnection drives with the call's own deadline. Whole
            // seconds, at least 2 (libpq's minimum).
            ("connect_timeout", "\(max(2, timeout.components.seconds + 1))"),
            // An idle connection (between renewals) through a NAT or a firewall that forgets
            // idle flows, and a peer that vanished: found out by the kernel.
            ("keepalives", "1"),
            ("keepalives_idle", "30"),
            ("keepalives_interval", "10"),
            ("keepalives_count", "3"),
        ]
        switch settings.tls {
        case .disable:
            pairs.append(("sslmode", "disable"))
        case .require:
            pairs.append(("sslmode", "require"))
        case .verifyFull:
            pairs.append(("sslmode", "verify-full"))
            pairs.append(("sslrootcert", Self.systemTrustRoots))
        }
        self.pairs = pairs
    }

    /// `body` with NULL-terminated C arrays of the keywords and values (valid only during it).
    func withKeywordsAndValues<Result>(
        _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> Result
    ) -> Result {
        let keywords = pairs.map { strdup($0.0) } + [nil]
        let values = pairs.map { strdup($0.1) } + [nil]
        defer {
            for pointer in keywords + values { free(pointer) }
        }
        let constKeywords = keywords.map { $0.map { UnsafePointer($0) } }
        let constValues = values.map { $0.map { UnsafePointer($0) } }
        return constKeywords.withUnsafeBufferPointer { keywords in
            constValues.withUnsafeBufferPointer { values in
                body(keywords.baseAddress!, values.baseAddress!)
            }
        }
    }

    var description: String {
        "ConnectionParameters(\(pairs.map(\.0).joined(separator: ", ")))"
    }

    var debugDescription: String { description }

    var customMirror: Mirror { Mirror(self, children: [:]) }
}
