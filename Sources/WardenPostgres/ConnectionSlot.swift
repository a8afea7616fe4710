import Dispatch
import Logging
import Warden

/// The lease's one PostgreSQL connection and the serial queue every use of it runs on.
///
/// libpq blocks its thread while it waits for the server (up to the call's deadline, `poll(2)`
/// in `PQConnection`), so the work runs on a serial `DispatchQueue` of the slot's own: one of
/// libdispatch's overcommit threads, never one of Swift's cooperative pool (two threads on a
/// two-core host, which a silent server would otherwise stall). Serial also means one call at a
/// time on the connection, which libpq requires; calls run in the order they came, and since
/// every call's deadline is its start plus the same `operationTimeout` and each ends by its
/// own deadline, a call waiting behind another still ends by its own.
///
/// The connection is opened when first needed and closed (forgotten) on a connection error or
/// a missed deadline, so the next call opens a fresh one. Its state is only ever touched on
/// `queue` (hence `@unchecked Sendable`).
final class ConnectionSlot: @unchecked Sendable {
    private let queue = DispatchQueue(label: "polaris-warden.postgres")
    private let parameters: ConnectionParameters
    private let logger: Logger
    /// On `queue` only.
    private var connection: PQConnection?
    /// On `queue` only.
    private var isShutDown = false

    init(parameters: ConnectionParameters, logger: Logger) {
        self.parameters = parameters
        self.logger = logger
    }

    /// Runs `body` on the shared connection by `deadline`. A connection that was already open
    /// may have died since the last call before we noticed (PostgreSQL restarted): when `body`
    /// fails on such a connection with a connection error, it is run once more on a fresh one,
    /// within the same deadline. So `body` must be safe to run twice.
    func withConnection<Value: Sendable>(
        _ operation: String, deadline: ContinuousClock.Instant,
        _ body: @escaping @Sendable (PQConnection) throws -> Value
    ) async throws -> Value {
        try await onQueue { try self.runShared(operation, deadline: deadline, body) }
    }

    /// Runs `body` on a connection of its own (opened now, closed afterwards, whatever happens)
    /// by `deadline`: `prepare()`'s multi-statement transaction, which an error may leave open.
    func withOwnConnection<Value: Sendable>(
        deadline: ContinuousClock.Instant, _ body: @escaping @Sendable (PQConnection) throws -> Value
    ) async throws -> Value {
        try await onQueue {
            try Self.checkDeadline(deadline)
            let connection = try PQConnection.connect(self.parameters, deadline: deadline)
            defer { connection.finish() }
            return try body(connection)
        }
    }

    /// Closes the connection (after the calls already queued) and refuses every later call.
    func shutdown() async {
        _ = try? await onQueue {
            self.isShutDown = true
            self.drop(reason: "shutdown")
        }
    }

    // MARK: - On the queue

    private func runShared<Value>(
        _ operation: String, deadline: ContinuousClock.Instant, _ body: (PQConnection) throws -> Value
    ) throws -> Value {
        var retried = false
        while true {
            let (connection, reused) = try checkout(deadline: deadline)
            do {
                return try body(connection)
            } catch {
                if isServerAnswer(error) { throw error }
                let timedOut = (error as? LibPQError).map { if case .timedOut = $0 { true } else { false } } ?? false
                drop(reason: timedOut ? "\(operation) timed out" : "\(operation) failed: \(error)")
                guard reused, !retried, !timedOut else { throw error }
                retried = true
                logger.debug(
                    "the coordination database connection failed; trying again on a new one",
                    metadata: ["operation": "\(operation)"])
            }
        }
    }

    /// The open connection, or a new one (when there is none, or the open one was closed under
    /// us, e.g. by a PostgreSQL restart); `reused` tells which.
    private func checkout(deadline: ContinuousClock.Instant) throws -> (PQConnection, reused: Bool) {
        if isShutDown { throw CoordinationError.unreachable("the lease was shut down") }
        if let connection {
            if connection.isOpen { return (connection, true) }
            drop(reason: "closed by the server or the network")
        }
        // A call that waited past its deadline behind a stalled one (a host name lookup libpq
        // does synchronously) gives up at once: its caller has had its answer.
        try Self.checkDeadline(deadline)
        do {
            let fresh = try PQConnection.connect(parameters, deadline: deadline)
            logger.debug("connected to the coordination database")
            connection = fresh
            return (fresh, false)
        } catch {
            logger.debug("could not connect to the coordination database", metadata: ["error": "\(error)"])
            throw error
        }
    }

    private func drop(reason: String) {
        guard let connection else { return }
        logger.debug("closing the coordination database connection", metadata: ["reason": "\(reason)"])
        connection.finish()
        self.connection = nil
    }

    private static func checkDeadline(_ deadline: ContinuousClock.Instant) throws(LibPQError) {
        guard ContinuousClock.now < deadline else { throw .timedOut }
    }

    /// `work` on `queue`; its answer back to the caller.
    private func onQueue<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
