// libFuzzer target: the warden's config loader (`ConfigLoader.parse(bytes, source:)`).
// Built by fuzz/run.sh together with Sources/Warden/Config/*.swift and the PolarisAPI models;
// every input must end in a config or a ConfigError, never a crash, hang or runaway memory.
import PolarisAPI

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let config = try ConfigLoader.parse(bytes, source: "fuzz.json")
        // A loaded config keeps its invariants (unique names, one job per table).
        precondition(Set(config.jobs.map(\.name)).count == config.jobs.count, "duplicate job names loaded")
        precondition(Set(config.jobs.map(\.table)).count == config.jobs.count, "two jobs on one table loaded")
    } catch {
        // Rendering the problems must not crash either.
        _ = error.description
    }
    return 0
}
