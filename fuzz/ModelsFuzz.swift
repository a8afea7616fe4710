// libFuzzer target: the Polaris API response decoders (JSONDecoder of Job, JobList, Connection,
// ConnectionList, PolarisErrorBody, JobHealth) and PolarisTimestamp parsing. Built by
// fuzz/run.sh with Sources/PolarisAPI/Models/*.swift compiled into the same module.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModels(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    let decoder = JSONDecoder()
    if let job = try? decoder.decode(Job.self, from: bytes) {
        // What we decoded must encode again (the emulator and client round-trip jobs).
        _ = try? JSONEncoder().encode(job)
        _ = job.targetTable
        _ = job.connectionName
    }
    if let list = try? decoder.decode(JobList.self, from: bytes) { _ = try? JSONEncoder().encode(list) }
    if let connection = try? decoder.decode(Connection.self, from: bytes) {
        _ = try? JSONEncoder().encode(connection)
    }
    _ = try? decoder.decode(ConnectionList.self, from: bytes)
    _ = try? decoder.decode(PolarisErrorBody.self, from: bytes)
    if let health = try? decoder.decode(JobHealth.self, from: bytes) { _ = try? JSONEncoder().encode(health) }
    _ = try? decoder.decode(JSONValue.self, from: bytes)
    // Timestamps: the raw input as text, and as a JSON string value.
    let text = String(decoding: bytes, as: UTF8.self)
    if let stamp = PolarisTimestamp(text) { _ = stamp.text }
    _ = try? decoder.decode(PolarisTimestamp.self, from: bytes)
    return 0
}
