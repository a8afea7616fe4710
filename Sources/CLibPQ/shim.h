#ifndef POLARIS_WARDEN_CLIBPQ_SHIM_H
#define POLARIS_WARDEN_CLIBPQ_SHIM_H
// PostgreSQL's C client (Debian's libpq-dev; the runtime is libpq5, linked dynamically).
#include <libpq-fe.h>
#endif
