#ifndef CMEMORY_TUNING_H
#define CMEMORY_TUNING_H

/// The malloc arena limit the daemon set before `main` (1), or 0 when the operator's
/// MALLOC_ARENA_MAX or glibc.malloc.arena_max tunable was left in charge.
int warden_malloc_arena_limit(void);

/// The fixed mmap threshold (and trim threshold) the daemon set before `main`, in bytes, or 0
/// when the operator's MALLOC_MMAP_THRESHOLD_ or glibc.malloc.mmap_threshold was left in charge.
int warden_malloc_mmap_threshold(void);

#endif
