import Synchronization
import Testing
import WardenDemo

/// `polaris-warden demo`, compressed in time: every scripted fault is healed, and the job that
/// fails on every recreate ends in gave-up, as designed.
@Suite struct DemoTests {
    @Test func theDemoHealsEveryFaultAndGivesUpOnTheCrashLoop() async throws {
        var options = DemoRunner.Options()
        options.pollInterval = 0.5
        options.startDelay = 0.2
        options.duration = 18
        options.jobs = 7
        let printed = Mutex("")
        let display = DemoDisplay(isTerminal: false) { text in printed.withLock { $0 += text } }
        let summary = try await DemoRunner.run(options: options, display: display)
        #expect(summary.jobs == 7)
        #expect(summary.faults.count == 7, "\(summary.rendered())")
        #expect(summary.healed == 6, "\(summary.rendered())")
        #expect(summary.gaveUp == 1)
        #expect(summary.unresolved == 0)
        #expect(summary.faults.compactMap(\.timeToRecover).allSatisfy { $0 >= 0 })
        #expect(summary.apiCalls > 0)
        let output = printed.withLock { $0 }
        #expect(output.contains("job-gave-up"))
        #expect(output.contains("demo summary"))
        #expect(!output.contains("pok_demo_"), "the demo's key stays out of the output")
    }
}
