import ArgumentParser
import WardenDemo

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `polaris-warden-demo` (`make demo`): the scripted demo, a development executable of its own so
/// the emulator and its HTTP server stay out of the `polaris-warden` binary the .deb ships.
@main
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polaris-warden-demo",
        abstract: "Run the warden against an embedded Polaris emulator and watch it heal scripted faults.",
        discussion: """
            Starts a Polaris emulator in this process, declares realistic Kinesis connections and streaming
            jobs, runs the real warden against it and injects faults: a failed job, a canceled job, a suspended
            job, a job stuck in error health, a 503 burst, a 429 with Retry-After, a job that silently stops
            ingesting (running, health ok, no new rows), a broken connection, a paused project, and a job that
            fails every time it is recreated until the warden gives up on it. Needs no network, no systemd and
            no root. From the source tree: make demo (swift run polaris-warden-demo).
            """)

    @Option(help: "How long the demo runs, in seconds.")
    var duration: Double = 60

    @Option(help: "How many streaming jobs to declare (at least 6).")
    var jobs: Int = 6

    @Option(help: "The warden's poll interval, in seconds.")
    var pollInterval: Double = 2

    func validate() throws {
        guard duration >= 5 else { throw ValidationError("--duration must be at least 5 seconds") }
        guard jobs >= 6, jobs <= 10_000 else { throw ValidationError("--jobs must be between 6 and 10000") }
        guard pollInterval >= 0.2 else { throw ValidationError("--poll-interval must be at least 0.2 seconds") }
    }

    func run() async throws {
        var options = DemoRunner.Options()
        options.duration = duration
        options.jobs = jobs
        options.pollInterval = pollInterval
        let display = DemoDisplay(isTerminal: isatty(STDOUT_FILENO) == 1) { text in
            var text = text
            text.withUTF8 { buffer in _ = write(STDOUT_FILENO, buffer.baseAddress, buffer.count) }
        }
        let summary = try await DemoRunner.run(options: options, display: display)
        if summary.unresolved > 0 { throw ExitCode.failure }
    }
}
