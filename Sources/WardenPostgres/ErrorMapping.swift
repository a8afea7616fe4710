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
/// Messages are built from the server's primary message, the SQLSTATE and libpq's own text:
/// never from the connection parameters (the password is one) nor from bound values.
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
    case let error as LibPQError:
        return libpqError(error, operation: operation)
    default:
        return .unreachable("\(operation): \(error)")
    }
}

/// True when `error` is the server's answer to a statement (the connection is still good).
func isServerAnswer(_ error: any Error) -> Bool {
    guard case .server(let state, _) = error as? LibPQError else { return false }
    return !(state.hasPrefix("08") || state.hasPrefix("57"))
}

private func libpqError(_ error: LibPQError, operation: String) -> CoordinationError {
    switch error {
    case .timedOut:
        return .unreachable("\(operation) timed out")
    case .server(let state, let message), .connect(let state?, let message, _):
        return bySQLState(state, "\(operation): \(message) (SQLSTATE \(state))")
    case .connectionLost(let message):
        return .unreachable("\(operation): connection lost: \(message)")
    case .unavailable(let reason):
        return .misconfigured("\(operation): libpq (Debian's libpq5) cannot be loaded: \(reason)")
    case .connect(nil, let message, let needsPassword):
        return connectFailure(message, needsPassword: needsPassword, operation: operation)
    }
}

/// Classes 08 connection, 40 rolled back, 53 resources (too many connections), 55 object state
/// (lock not available), 57 operator intervention (shutting down, starting up), 58 system, XX
/// internal: another attempt may succeed. Everything else (28 authentication, 3D no such
/// database, 42 privileges or a missing table, ...) needs an operator.
private func bySQLState(_ state: String, _ text: String) -> CoordinationError {
    let transient = ["08", "40", "53", "55", "57", "58", "XX"]
    return transient.contains(where: { state.hasPrefix($0) }) ? .unreachable(text) : .misconfigured(text)
}

/// A connection attempt that failed without the server's refusal (no SQLSTATE), classified
/// from libpq's message. libpq's messages are English here: it translates only when the
/// program set a locale (setlocale), which the daemon never does.
private func connectFailure(_ message: String, needsPassword: Bool, operation: String) -> CoordinationError {
    if needsPassword {
        return .misconfigured("\(operation): the server asks for a password and none was given")
    }
    let lowered = message.lowercased()
    if lowered.contains("server does not support ssl") {
        return .misconfigured("\(operation): the server does not offer TLS (tls: \"disable\" to connect without)")
    }
    // The handshake refused (SSL_ERROR_SSL: "SSL error: certificate verify failed", a protocol
    // mismatch), the certificate's name, a missing trust-root file. Not "SSL SYSCALL error":
    // the socket failed under the handshake.
    if lowered.contains("ssl error:") || lowered.contains("certificate") {
        return .misconfigured("\(operation): TLS handshake failed: \(message)")
    }
    if lowered.contains("authentication") || lowered.contains("password") {
        return .misconfigured("\(operation): authentication failed: \(message)")
    }
    // Refused, unreachable, reset, a name that does not resolve (yet).
    return .unreachable("\(operation): \(message)")
}
