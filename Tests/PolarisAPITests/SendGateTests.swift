import Foundation
import PolarisAPI
import PolarisEmulator
import Synchronization
import Testing
import WardenPlatform

/// The send gate (`PolarisClient.gated(by:)`): asked right before every attempt of a write
/// leaves the client — after the rate limiter and after each retry's wait — so a warden that
/// lost its lease while a write waited (`highAvailability`) does not send it.
@Suite struct SendGateTests {
    final class Gate: Sendable {
        let open = Atomic<Bool>(true)
        let asked = Atomic<Int>(0)
        var check: @Sendable () async -> Bool {
            {
                self.asked.add(1, ordering: .relaxed)
                return self.open.load(ordering: .relaxed)
            }
        }
    }

    @Test func aClosedGateStopsWritesButNotReads() async throws {
        let gate = Gate()
        gate.open.store(false, ordering: .relaxed)
        try await ClientIntegrationTests.withEmulator { emulator, plain in
            let client = plain.gated(by: gate.check)
            let listed = try await client.listConnections()
            #expect(listed.isEmpty, "reads are never gated")
            let error = await #expect(throws: PolarisError.self) {
                try await client.createConnection(ClientIntegrationTests.kinesis)
            }
            #expect(error?.isNotSent == true)
            #expect(error?.description.contains("not sent") == true)
            #expect(await emulator.requestLog().filter { $0.method != "GET" }.isEmpty, "nothing reached Polaris")
            #expect(gate.asked.load(ordering: .relaxed) == 1)
        }
    }

    @Test func aGateThatClosesWhileACreateWaitsForItsRetryStopsTheRetry() async throws {
        let gate = Gate()
        let clock = ManualClock()
        try await ClientIntegrationTests.withEmulator(clock: clock) { emulator, plain in
            let client = plain.gated(by: gate.check)
            _ = try await plain.createConnection(ClientIntegrationTests.kinesis)
            _ = try await emulator.inject(
                .status(429, retryAfter: .seconds(5), count: 1, method: "POST", pathPattern: "/jobs$"))
            await emulator.resetRequestLog()
            let create = Task { try await client.createJob(ClientIntegrationTests.spec(table: "t1")) }
            #expect(await clock.waitForSleepers(1), "waiting out Retry-After")
            gate.open.store(false, ordering: .relaxed)
            clock.advance(by: .seconds(5))
            let result = await create.result
            guard case .failure(let error as PolarisError) = result else {
                Issue.record("the retry was sent: \(result)")
                return
            }
            #expect(error.isNotSent)
            #expect(await emulator.requestLog().filter { $0.method == "POST" }.map(\.status) == [429])
            #expect(await emulator.jobs(onTable: "t1").isEmpty)
        }
    }

    @Test func anOpenGateIsAskedBeforeEveryAttempt() async throws {
        let gate = Gate()
        try await ClientIntegrationTests.withEmulator { emulator, plain in
            let client = plain.gated(by: gate.check)
            _ = try await emulator.inject(.status(429, count: 1, method: "POST", pathPattern: "/connections$"))
            _ = try await client.createConnection(ClientIntegrationTests.kinesis)
            #expect(gate.asked.load(ordering: .relaxed) == 2, "the first attempt and the retry")
            #expect(client.reconfigured(client.configuration).isGated, "a reconfigured client keeps its gate")
        }
    }
}
