import ArgumentParser
import Warden

struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Clear a job's gave-up state so the warden heals it again.",
        discussion: """
            Leaves a request in the state directory; the running warden applies it at its next cycle
            (or at start-up if it is not running).
            """)

    @Argument(help: "The job's name in the configuration.")
    var job: String

    @OptionGroup var stateOptions: StateOptions

    func run() throws {
        do {
            try RetryInbox(stateDirectory: stateOptions.resolved).request(jobName: job)
            print("retry of \(job) requested; the warden applies it within one poll interval")
        } catch {
            throw fail(error)
        }
    }
}
