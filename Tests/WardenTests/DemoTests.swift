import Synchronization
import Testing
import WardenDemo

/// The demo (`make demo`, `polaris-warden-demo`), compressed in time: every scripted fault is healed, the job that
/// fails on every recreate ends in gave-up, as designed, the two incidents (a broken
/// connection, a paused project) are held without a single create and healed after they end,
/// and a silent stall (counters frozen, still running and ok) is reported, never early, and the
/// job replaced.
@Suite struct DemoTests {
    @Test func theDemoHealsEveryFaultAndGivesUpOnTheCrashLoop() async throws {
        var options = DemoRunner.Options()
        options.pollInterval = 0.5
        options.startDelay = 0.2
        // The script's last scene (the pause) starts at 20 polls, once every earlier fault is
        // resolved, and lasts 2.5 polls: 22 s leaves room for a busy machine.
        options.duration = 22
        options.jobs = 7
        let printed = Mutex("")
        let display = DemoDisplay(isTerminal: false) { text in printed.withLock { $0 += text } }
        let summary = try await DemoRunner.run(options: options, display: display)
        let rendered = summary.rendered()
        #expect(summary.jobs == 7)
        #expect(summary.faults.count == 10, "\(rendered)")
        #expect(summary.notInjected.isEmpty, "\(rendered)")
        #expect(summary.healed == 9, "\(rendered)")
        #expect(summary.gaveUp == 1)
        #expect(summary.unresolved == 0)
        #expect(summary.faults.compactMap(\.timeToRecover).allSatisfy { $0 >= 0 })
        #expect(summary.apiCalls > 0)

        let broken = summary.faults.first { $0.kind == "connection broken" }
        #expect(broken?.outcome == "healed after restore", "\(rendered)")
        #expect(broken?.job == "orders-kinesis (2 jobs)")
        #expect(broken?.writesWhileHeld == 0, "the warden holds the connection's jobs: \(rendered)")
        let paused = summary.faults.first { $0.kind == "project paused" }
        #expect(paused?.outcome == "healed after resume", "\(rendered)")
        // every job but the one that gave up was running when the project paused
        #expect(paused?.job == "(project: 6 jobs)", "\(rendered)")
        #expect(paused?.writesWhileHeld == 0, "the warden holds every job while paused: \(rendered)")

        let stall = summary.faults.first { $0.kind == "silent stall" }
        #expect(stall?.outcome == "stall reported, replaced", "\(rendered)")
        #expect(stall?.job == "wikipedia-kinesis")
        // afterSeconds is 3 polls (1.5 s): the warden may never call it stalled sooner.
        #expect((stall?.detectedAfter ?? 0) >= 1.5, "\(rendered)")
        // Only the frozen job was ever called stalled: every other job's rows kept growing.
        let stalledJobs = Set(display.seen.filter { $0.event == "job-stalled" }.map(\.job))
        #expect(stalledJobs == ["wikipedia-kinesis"], "\(rendered)")

        let output = printed.withLock { $0 }
        for event in [
            "job-gave-up", "job-stalled", "connection-broken", "connection-restored", "project-not-running",
            "project-running",
        ] {
            #expect(output.contains(event), "no \(event) event")
        }
        #expect(output.contains("demo summary"))
        #expect(!output.contains("pok_demo_"), "the demo's key stays out of the output")
    }
}
