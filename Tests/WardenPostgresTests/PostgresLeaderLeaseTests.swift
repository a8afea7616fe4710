import InMemoryLogging
import Logging
import Testing
import Warden

@testable import WardenPostgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Skipping the server tests without a server is fine on a laptop; under CI it would hide them.
@Test func postgresServerIsThereUnderCI() {
    guard TestServer.environment["CI"] == "true" else { return }
    #expect(
        TestServer.isAvailable,
        "CI=true but \(TestServer.variables.joined(separator: ", ")) are not all set: run the tests through scripts/with-postgres.sh"
    )
}

/// Leadership and fencing against a real PostgreSQL: the lease's rules are the database's
/// statements on its own clock, so only a real server can check them. Lease durations of a few
/// hundred milliseconds and sleeps past them: the database's real clock decides.
@Suite(
    .enabled(
        if: TestServer.isAvailable,
        "needs a PostgreSQL server: run through scripts/with-postgres.sh (make test does)"))
struct PostgresLeaderLeaseTests {
    // MARK: Acquiring and renewing

    @Test func firstAcquireGetsEpochOneAndTheHolder() async throws {
        try await withLease { lease in
            let standing = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            #expect(standing.holder == "a")
            #expect(standing.epoch == 1)
            #expect(
                standing.remaining > TestServer.longLease - .seconds(1) && standing.remaining <= TestServer.longLease)
        }
    }

    @Test func secondInstanceIsRefusedWhileTheLeaseRuns() async throws {
        try await withLeases(2) { leases in
            _ = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            let answer = try await leases[1].acquireOrRenew(instance: "b", duration: TestServer.longLease)
            #expect(answer.holder == "a")
            #expect(answer.epoch == 1)
            #expect(answer.remaining > .zero)
        }
    }

    @Test func renewByTheHolderKeepsTheEpochAndExtends() async throws {
        try await withLeases(2) { leases in
            let first = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            let renewed = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease * 2)
            #expect(renewed.holder == "a")
            #expect(renewed.epoch == first.epoch)
            // Ends later than the first lease could have: extended, by the database's clock.
            #expect(renewed.remaining > TestServer.longLease)
            let other = try await leases[1].acquireOrRenew(instance: "b", duration: TestServer.longLease)
            #expect(other.holder == "a")
            #expect(other.epoch == first.epoch)
        }
    }

    @Test func expiredLeaseIsTakenByAnotherWithTheNextEpoch() async throws {
        try await withLeases(2) { leases in
            let first = try await leases[0].acquireOrRenew(instance: "a", duration: .milliseconds(300))
            try await Task.sleep(for: .milliseconds(500))
            let taken = try await leases[1].acquireOrRenew(instance: "b", duration: TestServer.longLease)
            #expect(taken.holder == "b")
            #expect(taken.epoch == first.epoch + 1)
            #expect(taken.remaining > TestServer.longLease - .seconds(1))
        }
    }

    @Test func oldHolderCannotTakeItBackAfterATakeOver() async throws {
        try await withLeases(2) { leases in
            _ = try await leases[0].acquireOrRenew(instance: "a", duration: .milliseconds(300))
            try await Task.sleep(for: .milliseconds(500))
            let taken = try await leases[1].acquireOrRenew(instance: "b", duration: TestServer.longLease)
            let late = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            #expect(late.holder == "b")
            #expect(late.epoch == taken.epoch)
        }
    }

    @Test func holderRetakingItsOwnExpiredLeaseGetsTheNextEpoch() async throws {
        try await withLease { lease in
            let first = try await lease.acquireOrRenew(instance: "a", duration: .milliseconds(300))
            try await Task.sleep(for: .milliseconds(500))
            let again = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            #expect(again.holder == "a")
            #expect(again.epoch == first.epoch + 1)
        }
    }

    @Test func concurrentFirstAcquiresElectExactlyOne() async throws {
        try await withLeases(2) { leases in
            async let a = leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            async let b = leases[1].acquireOrRenew(instance: "b", duration: TestServer.longLease)
            let (answerA, answerB) = try await (a, b)
            #expect(answerA.holder == answerB.holder)
            #expect(answerA.epoch == 1 && answerB.epoch == 1)
            #expect(["a", "b"].contains(answerA.holder))
        }
    }

    // MARK: Fleet state and fencing

    @Test func loadFleetStateIsNilBeforeAnyStore() async throws {
        try await withLease { lease in
            let document = try await lease.loadFleetState()
            #expect(document == nil)
        }
    }

    @Test func holderStoresAndLoadsTheFleetState() async throws {
        try await withLeases(2) { leases in
            let standing = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            let document = Array("{\"intents\":[1,2,3]}".utf8) + [0, 255, 10]
            try await leases[0].storeFleetState(document, instance: "a", epoch: standing.epoch)
            #expect(try await leases[1].loadFleetState() == document)
            let newer = Array("{\"intents\":[]}".utf8)
            try await leases[0].storeFleetState(newer, instance: "a", epoch: standing.epoch)
            #expect(try await leases[1].loadFleetState() == newer)
        }
    }

    @Test func storeWithAStaleEpochIsFenced() async throws {
        try await withLeases(2) { leases in
            let old = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            try await leases[0].storeFleetState([1], instance: "a", epoch: old.epoch)
            // a ends it and takes it again (a new epoch), then writes with the old epoch.
            try await leases[0].release(instance: "a", epoch: old.epoch)
            let new = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            #expect(new.epoch == old.epoch + 1)
            await expectFenced { try await leases[0].storeFleetState([2], instance: "a", epoch: old.epoch) }
            #expect(try await leases[1].loadFleetState() == [1])
        }
    }

    @Test func storeByANonHolderIsFenced() async throws {
        try await withLeases(2) { leases in
            let standing = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            try await leases[0].storeFleetState([1], instance: "a", epoch: standing.epoch)
            await expectFenced { try await leases[1].storeFleetState([2], instance: "b", epoch: standing.epoch) }
            #expect(try await leases[1].loadFleetState() == [1])
        }
    }

    @Test func storeOnAnExpiredLeaseIsFenced() async throws {
        try await withLease { lease in
            let standing = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            try await lease.storeFleetState([1], instance: "a", epoch: standing.epoch)
            // Renewed for 300 ms only (shortened), then left to run out.
            let shortened = try await lease.acquireOrRenew(instance: "a", duration: .milliseconds(300))
            #expect(shortened.epoch == standing.epoch)
            #expect(shortened.remaining <= .milliseconds(300))
            try await Task.sleep(for: .milliseconds(500))
            await expectFenced { try await lease.storeFleetState([2], instance: "a", epoch: standing.epoch) }
            #expect(try await lease.loadFleetState() == [1])
        }
    }

    @Test func storeOnAScopeWithoutALeaseIsFenced() async throws {
        try await withLease { lease in
            await expectFenced { try await lease.storeFleetState([2], instance: "a", epoch: 1) }
            let document = try await lease.loadFleetState()
            #expect(document == nil)
        }
    }

    // MARK: Release

    @Test func releaseLetsAnotherTakeItAtOnce() async throws {
        try await withLeases(2) { leases in
            let standing = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            try await leases[0].release(instance: "a", epoch: standing.epoch)
            let taken = try await leases[1].acquireOrRenew(instance: "b", duration: TestServer.longLease)
            #expect(taken.holder == "b")
            #expect(taken.epoch == standing.epoch + 1)
            await expectFenced { try await leases[0].storeFleetState([1], instance: "a", epoch: standing.epoch) }
        }
    }

    /// A clean stop releases from a task that is already cancelled (the daemon's shutdown).
    @Test func releaseFromACancelledTaskStillReleases() async throws {
        try await withLeases(2) { leases in
            let standing = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            let stopping = Task {
                try? await Task.sleep(for: .seconds(60))
                #expect(Task.isCancelled)
                try await leases[0].release(instance: "a", epoch: standing.epoch)
            }
            stopping.cancel()
            try await stopping.value
            let taken = try await leases[1].acquireOrRenew(instance: "b", duration: TestServer.longLease)
            #expect(taken.holder == "b")
        }
    }

    @Test func releaseByAnotherOrAStaleEpochChangesNothing() async throws {
        try await withLeases(2) { leases in
            let standing = try await leases[0].acquireOrRenew(instance: "a", duration: TestServer.longLease)
            try await leases[1].release(instance: "b", epoch: standing.epoch)
            try await leases[0].release(instance: "a", epoch: standing.epoch + 1)
            let answer = try await leases[1].acquireOrRenew(instance: "b", duration: TestServer.longLease)
            #expect(answer.holder == "a")
            #expect(answer.epoch == standing.epoch)
            #expect(answer.remaining > TestServer.longLease / 2)
        }
    }

    // MARK: Schema

    @Test func prepareTwiceAndConcurrentlyRecordsTheSchemaVersion() async throws {
        try await withServer {
            let scope = TestServer.randomScope()
            let first = TestServer.makeLease(scope: scope)
            let second = TestServer.makeLease(scope: scope)
            async let one: Void = first.prepare()
            async let two: Void = second.prepare()
            _ = try await (one, two)
            try await first.prepare()
            try await second.prepare()
            let standing = try await first.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            #expect(standing.epoch == 1)
            await first.shutdown()
            await second.shutdown()
            let version = try TestServer.control("psql", "-tAc", "SELECT version FROM warden_schema")
            #expect(version.split(whereSeparator: \.isWhitespace) == ["\(LeaseSchema.currentVersion)"])
        }
    }

    /// Two wardens starting at once on a database never prepared: both migrate through the
    /// advisory lock (the second finds the work done), neither fails.
    @Test func concurrentPrepareOnAFreshDatabaseMigratesOnce() async throws {
        try await withServer {
            let database = "fresh_\(TestServer.randomScope().dropFirst(5))"
            try TestServer.control("psql", "-c", "CREATE DATABASE \(database) OWNER warden")
            var settings = TestServer.settings
            settings.database = database
            let first = TestServer.makeLease(settings: settings)
            let second = TestServer.makeLease(settings: settings)
            async let one: Void = first.prepare()
            async let two: Void = second.prepare()
            do {
                _ = try await (one, two)
                let standing = try await second.acquireOrRenew(instance: "b", duration: TestServer.longLease)
                #expect(standing.epoch == 1)
            } catch {
                Issue.record("concurrent prepare on a fresh database: \(error)")
            }
            await first.shutdown()
            await second.shutdown()
            let version = try TestServer.control("psql", "-tAc", "SELECT version FROM warden_schema", "-d", database)
            #expect(version.split(whereSeparator: \.isWhitespace) == ["\(LeaseSchema.currentVersion)"])
            try TestServer.control("psql", "-c", "DROP DATABASE \(database) WITH (FORCE)")
        }
    }

    // MARK: Refusals that retrying will not change

    @Test func wrongPasswordIsMisconfiguredAndTheErrorHidesIt() async throws {
        try await withServer {
            let wrong = "wrong-\(TestServer.randomScope())"
            let lease = TestServer.makeLease(password: wrong)
            defer { Task { await lease.shutdown() } }
            let detail = await expectMisconfigured("a wrong password") {
                _ = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            }
            guard let detail else { return }
            let error = CoordinationError.misconfigured(detail)
            for text in [error.description, String(reflecting: error)] {
                #expect(!text.contains(wrong))
                #expect(!text.contains(TestServer.password))
            }
            #expect(error.description.contains("28P01"))
        }
    }

    /// Everything the lease logs (down to trace) while it connects, fails to authenticate and
    /// stores a document: the password is never in it.
    @Test func passwordNeverReachesTheLogs() async throws {
        try await withServer {
            var captured = InMemoryLogHandler()
            captured.logLevel = .trace
            let logger = Logger(label: "capture", factory: { [captured] _ in captured })
            let scope = TestServer.randomScope()
            let lease = PostgresLeaderLease(
                settings: TestServer.settings, password: TestServer.password, scope: scope,
                operationTimeout: TestServer.patientTimeout, logger: logger)
            try await lease.prepare()
            let standing = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            try await lease.storeFleetState([1, 2, 3], instance: "a", epoch: standing.epoch)
            await lease.shutdown()
            let wrong = "wrong-\(TestServer.randomScope())"
            let refused = PostgresLeaderLease(
                settings: TestServer.settings, password: wrong, scope: scope,
                operationTimeout: TestServer.patientTimeout,
                logger: logger)
            _ = try? await refused.acquireOrRenew(instance: "b", duration: TestServer.longLease)
            await refused.shutdown()
            let lines = captured.entries.map { entry in
                "\(entry.level) \(entry.message) \(entry.metadata)"
                    + (entry.error.map { " \(String(reflecting: $0))" } ?? "")
            }
            #expect(!lines.isEmpty, "nothing was logged: the test would prove nothing")
            for line in lines {
                #expect(!line.contains(TestServer.password))
                #expect(!line.contains(wrong))
            }
        }
    }

    @Test func missingDatabaseIsMisconfigured() async throws {
        try await withServer {
            var settings = TestServer.settings
            settings.database = "no_such_database_\(Int.random(in: 0..<1_000_000))"
            let lease = TestServer.makeLease(settings: settings)
            defer { Task { await lease.shutdown() } }
            let detail = await expectMisconfigured("a missing database") { try await lease.prepare() }
            if let detail {
                #expect(!CoordinationError.misconfigured(detail).description.contains(TestServer.password))
            }
        }
    }
}

/// The three `tls` modes against the test server's self-signed certificate.
@Suite(
    .enabled(
        if: TestServer.isAvailable && TestServer.environment["WARDEN_TEST_POSTGRES_TLS"] == "on",
        "needs a PostgreSQL server with TLS: run through scripts/with-postgres.sh (make test does)"))
struct PostgresTLSTests {
    @Test func requireEncryptsWithoutCheckingTheCertificate() async throws {
        try await withServer {
            var settings = TestServer.settings
            settings.tls = .require
            let lease = TestServer.makeLease(settings: settings)
            try await lease.prepare()
            let standing = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            #expect(standing.epoch == 1)
            // The lease's connection is open now: the server lists it as encrypted.
            let encrypted = try TestServer.control(
                "psql", "-tAc",
                """
                SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
                WHERE ssl AND application_name = 'polaris-warden'
                """)
            #expect(Int(encrypted.split(whereSeparator: \.isWhitespace).first ?? "") ?? 0 >= 1)
            await lease.shutdown()
        }
    }

    @Test func verifyFullRefusesAnUntrustedCertificate() async throws {
        try await withServer {
            var settings = TestServer.settings
            settings.tls = .verifyFull
            let lease = TestServer.makeLease(settings: settings)
            defer { Task { await lease.shutdown() } }
            let detail = await expectMisconfigured("a self-signed certificate under verify-full") {
                _ = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            }
            if let detail { #expect(detail.contains("TLS")) }
        }
    }
}

/// The server taken down, frozen or altered: each test holds it alone (`ServerAccess`), so the
/// shared tests never see the outage.
@Suite(
    .serialized,
    .enabled(
        if: TestServer.isAvailable,
        "needs a PostgreSQL server: run through scripts/with-postgres.sh (make test does)"))
struct PostgresOutageTests {
    @Test func nextCallAfterARestartSucceeds() async throws {
        try await withLease(exclusive: true) { lease in
            let before = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            try await lease.storeFleetState([7], instance: "a", epoch: before.epoch)
            try TestServer.control("restart")
            let after = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            #expect(after.holder == "a")
            #expect(after.epoch == before.epoch)
            #expect(try await lease.loadFleetState() == [7])
        }
    }

    @Test func stoppedServerIsUnreachableUntilItStartsAgain() async throws {
        try await withLease(exclusive: true) { lease in
            let before = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            try TestServer.control("stop")
            defer { TestServer.controlQuietly("start") }
            // Refused at once: no need to wait for the (long) deadline.
            let elapsed = await expectUnreachable("stopped server") {
                _ = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            }
            #expect(elapsed < TestServer.schedulingSlack)
            try TestServer.control("start")
            let after = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            #expect(after.epoch == before.epoch)
        }
    }

    /// Connections stay open and nothing comes back (the server's processes stopped): the
    /// call on the open connection and the next one's connection attempt both end by the
    /// deadline, and once the server answers again the lease works on a new connection.
    @Test func silentServerTimesOutThenRecovers() async throws {
        try await withServer(exclusive: true) {
            let lease = TestServer.makeLease(timeout: .milliseconds(600))
            try await eventually { try await lease.prepare() }
            let before = try await eventually {
                try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            }
            try TestServer.control("freeze")
            defer { TestServer.controlQuietly("thaw") }
            for attempt in ["on the open connection", "on a new connection"] {
                let elapsed = await expectUnreachable(attempt) {
                    _ = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
                }
                #expect(
                    elapsed >= Duration.milliseconds(500) && elapsed < .milliseconds(600) + TestServer.schedulingSlack,
                    "\(attempt): \(elapsed)")
            }
            try TestServer.control("thaw")
            let after = try await eventually {
                try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            }
            #expect(after.holder == "a")
            #expect(after.epoch == before.epoch)
            await lease.shutdown()
        }
    }

    @Test func tlsRequiredFromAServerWithoutTLSIsMisconfigured() async throws {
        guard TestServer.environment["WARDEN_TEST_POSTGRES_TLS"] == "on" else { return }
        try await withServer(exclusive: true) {
            try await setServerTLS(on: false)
            var settings = TestServer.settings
            settings.tls = .require
            let lease = TestServer.makeLease(settings: settings)
            await expectMisconfigured("tls: require against a server without TLS (no fall back to plain text)") {
                _ = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
            }
            await lease.shutdown()
            try await setServerTLS(on: true)
        }
    }

    /// Turns the server's TLS off or on (a reload), waiting until new connections see it.
    private func setServerTLS(on: Bool) async throws {
        try TestServer.control("psql", "-c", "ALTER SYSTEM SET ssl = \(on ? "on" : "off")")
        try TestServer.control("psql", "-c", "SELECT pg_reload_conf()")
        for _ in 0..<100 {
            let shown = try TestServer.control("psql", "-tAc", "SHOW ssl")
            if shown.split(whereSeparator: \.isWhitespace) == [on ? "on" : "off"] { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the server's ssl setting did not become \(on ? "on" : "off")")
    }

    @Test func newerSchemaIsMisconfigured() async throws {
        try await withLease(exclusive: true) { lease in
            let known = LeaseSchema.currentVersion
            try TestServer.control("psql", "-c", "UPDATE warden_schema SET version = \(known + 1)")
            defer { TestServer.controlQuietly("psql", "-c", "UPDATE warden_schema SET version = \(known)") }
            let detail = await expectMisconfigured("a schema newer than this build") { try await lease.prepare() }
            if let detail { #expect(detail.contains("version \(known + 1)")) }
        }
    }
}

/// Servers that are not there or never answer: no PostgreSQL needed.
struct PostgresUnreachableTests {
    @Test func closedPortIsUnreachable() async throws {
        let socket = try LoopbackSocket(listening: false)
        let port = socket.port
        socket.close()
        var settings = TestServer.settings
        settings.host = "127.0.0.1"
        settings.port = port
        let lease = TestServer.makeLease(settings: settings, password: "unused", timeout: .seconds(2))
        let elapsed = await expectUnreachable("closed port") {
            _ = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
        }
        #expect(elapsed < .seconds(2) + TestServer.schedulingSlack)
        await lease.shutdown()
    }

    /// A listener that accepts at the TCP level and never says a word: the connection attempt
    /// must end by the deadline, every time.
    @Test func serverThatNeverAnswersIsUnreachableByTheDeadline() async throws {
        let socket = try LoopbackSocket(listening: true)
        defer { socket.close() }
        var settings = TestServer.settings
        settings.host = "127.0.0.1"
        settings.port = socket.port
        let lease = TestServer.makeLease(settings: settings, password: "unused", timeout: .milliseconds(500))
        for operation in ["prepare", "acquireOrRenew", "storeFleetState"] {
            let elapsed = await expectUnreachable(operation) {
                switch operation {
                case "prepare": try await lease.prepare()
                case "acquireOrRenew": _ = try await lease.acquireOrRenew(instance: "a", duration: TestServer.longLease)
                default: try await lease.storeFleetState([1], instance: "a", epoch: 1)
                }
            }
            #expect(
                elapsed >= Duration.milliseconds(450) && elapsed < .milliseconds(500) + TestServer.schedulingSlack,
                "\(operation): \(elapsed)")
        }
        await lease.shutdown()
    }
}

/// Asserts that `body` throws `.fenced`.
func expectFenced(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected .fenced, the store succeeded", sourceLocation: sourceLocation)
    } catch {
        #expect(error as? CoordinationError == .fenced, sourceLocation: sourceLocation)
    }
}
