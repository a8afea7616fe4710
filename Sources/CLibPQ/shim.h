#ifndef POLARIS_WARDEN_CLIBPQ_SHIM_H
#define POLARIS_WARDEN_CLIBPQ_SHIM_H
// PostgreSQL's C client's declarations (Debian's libpq-dev). Not linked: CLibPQLoader loads
// libpq.so.5 (Debian's libpq5) with dlopen when a warden with highAvailability first connects.
#include <postgresql/libpq-fe.h>
#endif
