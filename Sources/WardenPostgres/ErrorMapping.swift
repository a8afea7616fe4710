import NIOCore
import NIOSSL
import PostgresNIO
import Warden

/// The schema in the database is newer than the migrations this build knows.
struct SchemaTooNew: Error {
    var found: Int
    var known: Int
}

/// A statement's answer that cannot be read (a row missing or of the wrong shape).
struct UnexpectedAnswer: Error {
    var detail: String
}

/// How a failed call is reported: `.unreachable` when trying again later can help (no answer,
/// connection lost, server starting or shutting down), `.misconfigured` when it cannot
/// (authentication, a missing database, TLS refused or unverifiable, a schema newer than ours).
/// Messages are built from the server's primary message, the SQLSTATE and the network error:
/// never from the configuration (the password lives there) nor from bound values.
func coordinationError(_ error: any Error, operation: String) -> CoordinationError {
    switch error {
    case let error as CoordinationError:
        return error
    case let error as SchemaTooNew:
        return .misconfigured(
            "\(operation): the database's schema is version \(error.found), newer than this warden "
                + "knows (\(error.known)); upgrade polaris-warden")
    case let error as UnexpectedAnswer:
        return .unreachable("\(operation): unexpected answer: \(error.detail)")
    case is CancellationError:
        return .unreachable("\(operation): the connection attempt was abandoned (another call timed out on it)")
    case let error as PostgresTransactionError:
        let inner = error.beginError ?? error.closureError ?? error.commitError ?? error.rollbackError
        return inner.map { coordinationError($0, operation: operation) }
            ?? .unreachable("\(operation): transaction failed")
    case let error as PSQLError:
        return psqlError(error, operation: operation)
    default:
        return .unreachable("\(operation): \(error)")
    }
}

/// True when `error` is the server's answer to a statement (the connection is still good).
func isServerAnswer(_ error: any Error) -> Bool {
    guard let error = error as? PSQLError, error.code == .server else { return false }
    let state = error.serverInfo?[.sqlState] ?? ""
    return !(state.hasPrefix("08") || state.hasPrefix("57"))
}

private func psqlError(_ error: PSQLError, operation: String) -> CoordinationError {
    switch error.code {
    case .server:
        let state = error.serverInfo?[.sqlState] ?? "?????"
        let message = error.serverInfo?[.message] ?? "no message"
        let text = "\(operation): \(message) (SQLSTATE \(state))"
        // Classes 08 connection, 40 rolled back, 53 resources, 55 object state (lock not
        // available), 57 operator intervention (shutting down, starting up), 58 system, XX
        // internal: another attempt may succeed. Everything else (28 authentication, 3D no such
        // database, 42 privileges or a missing table, ...) needs an operator.
        let transient = ["08", "40", "53", "55", "57", "58", "XX"]
        return transient.contains(where: { state.hasPrefix($0) }) ? .unreachable(text) : .misconfigured(text)
    case .sslUnsupported:
        return .misconfigured("\(operation): the server does not offer TLS (tls: \"disable\" to connect without)")
    case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
        return .misconfigured("\(operation): authentication failed (\(error.code))")
    case .connectionError:
        if let underlying = error.underlying, isTLSVerificationFailure(underlying) {
            return .misconfigured("\(operation): TLS handshake failed: \(underlying)")
        }
        return .unreachable("\(operation): \(error.underlying.map { "\($0)" } ?? "connection failed")")
    default:
        // Connection closed or reset, unexpected bytes on the wire (not a PostgreSQL server?).
        return .unreachable("\(operation): connection failed (\(error.code))")
    }
}

private func isTLSVerificationFailure(_ error: any Error) -> Bool {
    if let error = error as? NIOSSLError, case .handshakeFailed = error { return true }
    return error is NIOSSLExtraError
}
