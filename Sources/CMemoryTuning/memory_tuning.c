// glibc's allocator, set for a daemon whose work runs one actor at a time.
//
// By default glibc gives every new thread that allocates an arena of its own (up to eight per
// core), and each arena keeps the memory freed into it. The limit must be set before the first
// thread exists: a thread keeps the arena it was given, and Swift's and NIO's threads start
// before `run` does. Hence a constructor, which runs before `main` on the only thread there is.
// BENCHMARKS.md: a 10,000-job warden peaked at 74.5 MB set from `run`, 65.3 MB set here.

#include "cmemory_tuning.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static int arena_limit = 0;

int warden_malloc_arena_limit(void) { return arena_limit; }

__attribute__((constructor)) static void warden_limit_malloc_arenas(void) {
    // The operator's own setting wins; glibc applied it before this runs.
    if (getenv("MALLOC_ARENA_MAX") != NULL) return;
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (tunables != NULL && strstr(tunables, "glibc.malloc.arena_max") != NULL) return;
    if (mallopt(M_ARENA_MAX, 1) == 1) arena_limit = 1;
}
