#ifndef POLARIS_WARDEN_CLIBPQ_LOADER_H
#define POLARIS_WARDEN_CLIBPQ_LOADER_H
// Loads libpq.so.5 once (thread-safe); 0 on success, else -1 with `*error` saying why (static
// storage). Until it succeeded, no libpq function may be called.
int warden_libpq_load(const char **error);
#endif
