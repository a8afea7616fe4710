import Logging
import NIOCore
import PostgresNIO
import Warden

/// One PostgreSQL connection, opened when first needed and dropped (closed, forgotten) on a
/// connection error or a missed deadline, so the next call opens a fresh one. Callers that come
/// while it is being opened share that attempt. Each attempt has a generation: an attempt that
/// finishes after it was dropped closes its connection instead of installing it, and dropping
/// by connection never closes a newer one.
actor ConnectionSlot {
    /// What `checkout` hands out: an open connection, or the attempt to open one.
    enum Checkout: Sendable {
        case open(PostgresConnection)
        case connecting(Task<PostgresConnection, any Error>)
    }

    private enum State {
        case idle
        case connecting(generation: Int, task: Task<PostgresConnection, any Error>)
        case open(generation: Int, connection: PostgresConnection)
        case shutDown
    }

    private var state = State.idle
    private var generation = 0
    private let configuration: Result<PostgresConnection.Configuration, CoordinationError>
    private let logger: Logger
    private let driverLogger: Logger
    private let closeTimeout: Duration

    init(
        configuration: Result<PostgresConnection.Configuration, CoordinationError>, logger: Logger,
        driverLogger: Logger, closeTimeout: Duration
    ) {
        self.configuration = configuration
        self.logger = logger
        self.driverLogger = driverLogger
        self.closeTimeout = closeTimeout
    }

    deinit {
        // A PostgresConnection must be closed before it goes away.
        switch state {
        case .open(_, let connection): closeInBackground(connection)
        case .connecting(_, let task): task.cancel()
        case .idle, .shutDown: break
        }
    }

    /// The open connection, or the attempt to open one (started now when there is none, or when
    /// the open one was closed under us, e.g. by a PostgreSQL restart).
    func checkout() throws(CoordinationError) -> Checkout {
        switch state {
        case .shutDown:
            throw .unreachable("the lease was shut down")
        case .open(_, let connection) where !connection.isClosed:
            return .open(connection)
        case .open(_, let connection):
            logger.debug("coordination database connection closed; reconnecting")
            closeInBackground(connection)
            return .connecting(try startConnecting())
        case .connecting(_, let task):
            return .connecting(task)
        case .idle:
            return .connecting(try startConnecting())
        }
    }

    /// Drops `connection` if it is still the one in use (a newer one is left alone).
    func drop(_ connection: PostgresConnection, reason: String) {
        guard case .open(_, let current) = state, current === connection else {
            closeInBackground(connection)
            return
        }
        logger.debug("dropping the coordination database connection", metadata: ["reason": "\(reason)"])
        state = .idle
        closeInBackground(connection)
    }

    /// Drops whatever is in use or being opened (a missed deadline: it may be a silent peer).
    func dropCurrent(reason: String) {
        switch state {
        case .open(_, let connection):
            logger.debug("dropping the coordination database connection", metadata: ["reason": "\(reason)"])
            state = .idle
            closeInBackground(connection)
        case .connecting(_, let task):
            logger.debug("abandoning a connection attempt", metadata: ["reason": "\(reason)"])
            state = .idle
            task.cancel()
        case .idle, .shutDown:
            break
        }
    }

    /// Closes the connection (waiting at most `closeTimeout`) and refuses every later checkout.
    func shutdown() async {
        let previous = state
        state = .shutDown
        switch previous {
        case .open(_, let connection):
            closeInBackground(connection)
            let closed = connection.closeFuture
            _ = try? await withDeadline(closeTimeout, onExpiry: {}, { try await closed.get() })
        case .connecting(_, let task):
            task.cancel()
        case .idle, .shutDown:
            break
        }
    }

    private func startConnecting() throws(CoordinationError) -> Task<PostgresConnection, any Error> {
        let configuration = try self.configuration.get()
        generation += 1
        let attempt = generation
        let driverLogger = self.driverLogger
        let task = Task {
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    configuration: configuration, id: attempt, logger: driverLogger)
            } catch {
                self.attemptFailed(attempt)
                throw error
            }
            guard self.install(connection, attempt: attempt) else {
                closeInBackground(connection)
                throw CancellationError()
            }
            return connection
        }
        state = .connecting(generation: attempt, task: task)
        return task
    }

    private func install(_ connection: PostgresConnection, attempt: Int) -> Bool {
        guard case .connecting(let current, _) = state, current == attempt else { return false }
        logger.debug("connected to the coordination database")
        state = .open(generation: attempt, connection: connection)
        return true
    }

    private func attemptFailed(_ attempt: Int) {
        if case .connecting(let current, _) = state, current == attempt { state = .idle }
    }
}

/// Closes `connection` without waiting, keeping it alive until the channel has closed (it
/// asserts that it is closed when it goes away).
func closeInBackground(_ connection: PostgresConnection) {
    connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
}
