import ArgumentParser
import Warden

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the warden against an embedded Polaris emulator and watch it heal scripted faults.",
        discussion: "Needs no network, no systemd and no root. Ends by itself after --duration seconds.")

    @Option(help: "How long the demo runs, in seconds.")
    var duration: Int = 60

    @Option(help: "How many streaming jobs to declare (at least 6).")
    var jobs: Int = 6

    func run() async throws {
        print("demo: not wired yet")
    }
}
