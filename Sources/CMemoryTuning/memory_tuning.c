// glibc's allocator, set for a daemon whose work runs one actor at a time.
//
// By default glibc gives every new thread that allocates an arena of its own (up to eight per
// core), and each arena keeps the memory freed into it. The limit must be set before the first
// thread exists: a thread keeps the arena it was given, and Swift's and NIO's threads start
// before `run` does. Hence a constructor, which runs before `main` on the only thread there is.
//
// A fixed mmap threshold: blocks of 128 kB and more (list pages, the index's tables as they
// grow) are mapped on their own and returned when freed. glibc's default threshold rises to the
// largest block freed so far (up to 32 MB), after which such blocks stay in the heap.
//
// BENCHMARKS.md: a 10,000-job warden peaked at 74.5 MB with the arena limit set in `run`,
// 65.3 MB set here, and about 58 MB with the fixed threshold too.

#include "cmemory_tuning.h"

#if defined(__GLIBC__) || defined(__linux__)
#include <features.h>
#endif

#if defined(__GLIBC__)
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#endif

enum { warden_mmap_threshold = 128 * 1024 };

static int arena_limit = 0;
static int mmap_threshold = 0;

int warden_malloc_arena_limit(void) { return arena_limit; }

int warden_malloc_mmap_threshold(void) { return mmap_threshold; }

// glibc only (the daemon's platform); elsewhere the allocator is left as it is.
#if defined(__GLIBC__)

/// The operator's own setting wins (glibc applied it before this runs): the environment
/// variable or the tunable.
static int operator_sets(const char *variable, const char *tunable) {
    if (getenv(variable) != NULL) return 1;
    const char *tunables = getenv("GLIBC_TUNABLES");
    return tunables != NULL && strstr(tunables, tunable) != NULL;
}

__attribute__((constructor)) static void warden_tune_malloc(void) {
    if (!operator_sets("MALLOC_ARENA_MAX", "glibc.malloc.arena_max")) {
        if (mallopt(M_ARENA_MAX, 1) == 1) arena_limit = 1;
    }
    if (!operator_sets("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold")
        && !operator_sets("MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold")) {
        if (mallopt(M_MMAP_THRESHOLD, warden_mmap_threshold) == 1
            && mallopt(M_TRIM_THRESHOLD, warden_mmap_threshold) == 1) {
            mmap_threshold = warden_mmap_threshold;
        }
    }
}

#endif
