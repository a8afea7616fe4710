import Logging
import TestSupport
import Testing
import Warden
import WardenPostgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The private PostgreSQL that `scripts/with-postgres.sh` (run by `make test`) starts and
/// describes in `WARDEN_TEST_POSTGRES_*`.
enum TestServer {
    static let environment = ProcessInfo.processInfo.environment
    static let variables = ["HOST", "PORT", "DATABASE", "USER", "PASSWORD", "CTL"].map {
        "WARDEN_TEST_POSTGRES_\($0)"
    }

    /// What a call may take beyond its deadline in these tests: the whole test run on two cores
    /// keeps the cooperative pool busy for seconds at a time (processes waited for, CPU-bound
    /// suites; seen: 4 s per await), and the deadline's timer and the caller wait for a thread
    /// like everything else. A hang, the failure these bounds catch, is unbounded.
    static let schedulingSlack = Duration.seconds(20)

    /// The deadline of calls that are expected to succeed: far above a healthy answer (ms), so
    /// a starved test run does not turn them into timeouts.
    static let patientTimeout = Duration.seconds(60)

    /// Leases that must still run when the test's next statement arrives, however late.
    static let longLease = Duration.seconds(120)

    static var isAvailable: Bool { variables.allSatisfy { environment[$0] != nil } }

    static var password: String { environment["WARDEN_TEST_POSTGRES_PASSWORD"] ?? "" }

    static var settings: PostgresSettings {
        PostgresSettings(
            host: environment["WARDEN_TEST_POSTGRES_HOST"] ?? "127.0.0.1",
            port: Int(environment["WARDEN_TEST_POSTGRES_PORT"] ?? "") ?? 5432,
            database: environment["WARDEN_TEST_POSTGRES_DATABASE"] ?? "warden",
            user: environment["WARDEN_TEST_POSTGRES_USER"] ?? "warden",
            password: .env("WARDEN_TEST_POSTGRES_PASSWORD"),
            tls: .disable)
    }

    /// A scope of its own per test, so tests never see each other's lease.
    static func randomScope() -> String {
        "test-\(String(UInt64.random(in: .min ... .max), radix: 16))"
    }

    static let logger: Logger = {
        var logger = Logger(label: "WardenPostgresTests")
        logger.logLevel = .warning
        return logger
    }()

    static func makeLease(
        scope: String = randomScope(), settings: PostgresSettings = settings, password: String = password,
        timeout: Duration = patientTimeout
    ) -> PostgresLeaderLease {
        PostgresLeaderLease(
            settings: settings, password: password, scope: scope, operationTimeout: timeout, logger: logger)
    }

    /// `$WARDEN_TEST_POSTGRES_CTL ARGS...` (stop, start, restart, freeze, thaw, psql ...): its
    /// output, or an issue when it fails.
    @discardableResult
    static func control(_ arguments: String...) throws -> String {
        let result = try runProcess(environment["WARDEN_TEST_POSTGRES_CTL"] ?? "false", arguments)
        if result.status != 0 {
            Issue.record("WARDEN_TEST_POSTGRES_CTL \(arguments.joined(separator: " ")) failed: \(result.output)")
        }
        return result.output
    }

    /// `control` for clean-ups: a failure (say, starting a server that already runs) is ignored.
    static func controlQuietly(_ arguments: String...) {
        _ = try? runProcess(environment["WARDEN_TEST_POSTGRES_CTL"] ?? "false", arguments)
    }
}

/// Tests that stop, freeze or alter the shared server take it alone; every other test shares
/// it (and runs in parallel with the others). A readers-writer lock, first come first served.
actor ServerAccess {
    static let shared = ServerAccess()

    private var readers = 0
    private var writer = false
    private var queue: [(exclusive: Bool, continuation: CheckedContinuation<Void, Never>)] = []

    func acquire(exclusive: Bool) async {
        if queue.isEmpty, exclusive ? (!writer && readers == 0) : !writer {
            grant(exclusive: exclusive)
            return
        }
        await withCheckedContinuation { queue.append((exclusive, $0)) }
    }

    func release(exclusive: Bool) {
        if exclusive { writer = false } else { readers -= 1 }
        while let next = queue.first {
            let free = next.exclusive ? (!writer && readers == 0) : !writer
            guard free else { break }
            queue.removeFirst()
            grant(exclusive: next.exclusive)
            next.continuation.resume()
        }
    }

    private func grant(exclusive: Bool) {
        if exclusive { writer = true } else { readers += 1 }
    }
}

/// Runs `body` holding the server (shared, or alone when `exclusive`).
func withServer<Value>(exclusive: Bool = false, _ body: () async throws -> Value) async throws -> Value {
    await ServerAccess.shared.acquire(exclusive: exclusive)
    do {
        let value = try await body()
        await ServerAccess.shared.release(exclusive: exclusive)
        return value
    } catch {
        await ServerAccess.shared.release(exclusive: exclusive)
        throw error
    }
}

/// Runs `body` with `count` prepared leases on one fresh scope (as many wardens), shutting
/// them down afterwards.
func withLeases(
    _ count: Int, exclusive: Bool = false, timeout: Duration = TestServer.patientTimeout,
    _ body: ([PostgresLeaderLease]) async throws -> Void
) async throws {
    try await withServer(exclusive: exclusive) {
        let scope = TestServer.randomScope()
        let leases = (0..<count).map { _ in TestServer.makeLease(scope: scope, timeout: timeout) }
        do {
            for lease in leases { try await lease.prepare() }
            try await body(leases)
        } catch {
            for lease in leases { await lease.shutdown() }
            throw error
        }
        for lease in leases { await lease.shutdown() }
    }
}

/// `withLeases` with one lease.
func withLease(
    exclusive: Bool = false, timeout: Duration = TestServer.patientTimeout,
    _ body: (PostgresLeaderLease) async throws -> Void
) async throws {
    try await withLeases(1, exclusive: exclusive, timeout: timeout) { try await body($0[0]) }
}

/// A call that should succeed on a lease with a short deadline: tried again (up to five times)
/// when it misses the deadline, which a starved test run can make it do although the server
/// answers. Any other error is thrown at once.
func eventually<Value>(_ body: () async throws -> Value) async throws -> Value {
    var attempt = 1
    while true {
        do {
            return try await body()
        } catch let error as CoordinationError {
            guard case .unreachable = error, attempt < 5 else { throw error }
            attempt += 1
        }
    }
}

/// Asserts that `body` throws `.unreachable`, and returns how long it took.
@discardableResult
func expectUnreachable(
    _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    do {
        try await body()
        Issue.record("\(what): expected .unreachable, it succeeded", sourceLocation: sourceLocation)
    } catch {
        guard case .unreachable = error as? CoordinationError else {
            Issue.record("\(what): expected .unreachable, got \(error)", sourceLocation: sourceLocation)
            return clock.now - start
        }
    }
    return clock.now - start
}

/// Asserts that `body` throws `.misconfigured`, and returns its detail (nil when it did not).
@discardableResult
func expectMisconfigured(
    _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> String? {
    do {
        try await body()
        Issue.record("\(what): expected .misconfigured, it succeeded", sourceLocation: sourceLocation)
    } catch {
        guard case .misconfigured(let detail) = error as? CoordinationError else {
            Issue.record("\(what): expected .misconfigured, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
        return detail
    }
    return nil
}

/// A TCP socket on 127.0.0.1 that, when listening, never accepts and never answers (the kernel
/// still completes handshakes into the backlog): a database behind a severed proxy. Closed
/// without listening, its port refuses connections.
final class LoopbackSocket {
    let descriptor: Int32
    let port: Int

    init(listening: Bool) throws {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw SocketFailure(step: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && getsockname(descriptor, address, &length) == 0
            }
        }
        guard bound, !listening || listen(descriptor, 16) == 0 else {
            _ = closeDescriptor(descriptor)
            throw SocketFailure(step: "bind/listen")
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = closeDescriptor(descriptor) }

    struct SocketFailure: Error { var step: String }
}

private func closeDescriptor(_ descriptor: Int32) -> Int32 {
    close(descriptor)
}
