import Foundation

/// A finished child process: its exit status and stdout and stderr together.
public struct FinishedProcess: Sendable {
    public var status: Int32
    public var output: String
}

/// Runs `executable` with `arguments` to completion (environment: ours plus `environment`).
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:]
) throws -> FinishedProcess {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return FinishedProcess(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
}
