import ArgumentParser
import Warden

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a config, its key, Polaris and the unit before enabling the warden (read-only).",
        discussion: """
            One pass/fail line per check, with the fix: the config is valid; the unit runs it and hands over
            the credential it names; the key file is readable by root only; the API answers and accepts the
            key; the project is running; each connection exists (or will be created) and its connection
            test passes; each job would be adopted or created (as `plan` says); the state directory is
            usable. Polaris sees only GET requests and connection tests. Run it as root. Exit status 1
            when a check fails.
            """)

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The configuration (default: /etc/polaris-warden/config.json, or /etc/polaris-warden/NAME.json with --instance).",
            valueName: "file"))
    var config: String?

    @OptionGroup var stateOptions: StateOptions

    @Flag(name: .long, help: "Print JSON instead of lines.")
    var json = false

    func run() async throws {
        let instance = stateOptions.instance.flatMap { try? WardenInstance($0) }
        let options = Doctor.Options(
            configPath: config ?? instance?.configPath ?? "/etc/polaris-warden/config.json", instance: instance,
            stateDirectory: stateOptions.resolved, environment: ProcessInfo.processInfo.environment)
        let checks = await Doctor.run(options)
        let failed = checks.filter { $0.status == .fail }.count
        if json {
            struct Report: Encodable {
                var ok: Bool
                var checks: [DoctorCheck]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(Report(ok: failed == 0, checks: checks))) ?? Data()
            print(String(decoding: data, as: UTF8.self))
        } else {
            for check in checks {
                print("\(check.status.rawValue.uppercased().padding(4))  \(check.name): \(check.detail)")
                if let fix = check.fix { print("      fix: \(fix)") }
            }
            print(failed == 0 ? "all \(checks.count) checks passed" : "\(failed) of \(checks.count) checks failed")
        }
        if failed > 0 { throw ExitCode.failure }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
