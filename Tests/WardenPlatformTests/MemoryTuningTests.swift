import Testing
import WardenPlatform

/// The daemon's allocator setting: one malloc arena, unless the operator set the limit.
@Suite struct MemoryTuningTests {
    @Test func theOperatorsArenaLimitWins() {
        #expect(MemoryTuning.setsArenaLimit(environment: [:]))
        #expect(MemoryTuning.setsArenaLimit(environment: ["GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"]))
        #expect(!MemoryTuning.setsArenaLimit(environment: ["MALLOC_ARENA_MAX": "4"]))
        #expect(!MemoryTuning.setsArenaLimit(environment: ["GLIBC_TUNABLES": "glibc.malloc.arena_max=4"]))
        #expect(!MemoryTuning.applyDaemonDefaults(environment: ["MALLOC_ARENA_MAX": "4"]))
    }

    #if canImport(Glibc)
    @Test func glibcTakesTheLimit() {
        #expect(MemoryTuning.applyDaemonDefaults(environment: [:]))
    }
    #endif
}
