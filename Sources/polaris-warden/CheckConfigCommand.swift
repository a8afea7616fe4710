import ArgumentParser
import Warden

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and print every problem with its JSON path.",
        discussion: "Exit code 0 when valid, 78 (EX_CONFIG) when not. Reads nothing else: no credential, no network.")

    @Argument(help: "The configuration file.")
    var path: String

    func run() throws {
        do {
            let config = try ConfigLoader.load(path: path)
            print("\(path): ok (\(config.connections.count) connections, \(config.jobs.count) jobs)")
        } catch {
            throw fail(error)
        }
    }
}
