#if canImport(Glibc)
import Glibc
#endif

/// glibc's allocator, set for a daemon whose work runs one actor at a time.
///
/// By default glibc gives threads that allocate at once arenas of their own (up to eight per
/// core), and each arena keeps the memory freed into it: a 10,000-job warden peaked at 103 MB
/// RSS with them and 82 MB with one arena (BENCHMARKS.md), at no measurable CPU cost. An
/// operator's own `MALLOC_ARENA_MAX` or `glibc.malloc.arena_max` tunable wins.
public enum MemoryTuning {
    /// Whether the daemon sets the arena limit itself: not when the environment already does.
    public static func setsArenaLimit(environment: [String: String]) -> Bool {
        environment["MALLOC_ARENA_MAX"] == nil
            && !(environment["GLIBC_TUNABLES"] ?? "").contains("glibc.malloc.arena_max")
    }

    /// One malloc arena, unless `environment` sets the limit. Call it first thing: threads
    /// that already have an arena keep it. True when the limit was set here.
    @discardableResult
    public static func applyDaemonDefaults(environment: [String: String]) -> Bool {
        guard setsArenaLimit(environment: environment) else { return false }
        #if canImport(Glibc)
        // <malloc.h> is not part of the Glibc module: mallopt is looked up by name.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        return mallopt(arenaMaxParameter, 1) == 1
        #else
        return false
        #endif
    }

    /// `M_ARENA_MAX` in glibc's <malloc.h>.
    static let arenaMaxParameter: Int32 = -8
}
