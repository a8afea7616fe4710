// libpq, loaded when a warden with `highAvailability` first connects (dlopen), not at
// start-up: linked normally, libpq5 and the ~25 libraries it needs (OpenSSL, Kerberos, LDAP,
// GnuTLS) were mapped into every warden and cost a single-host daemon 3.9 MB of idle RSS
// (BENCHMARKS.md). Each function WardenPostgres calls is defined here with libpq's own
// prototype and forwards to the loaded library; `warden_libpq_load` must succeed first.
#include "clibpq_loader.h"

#include <postgresql/libpq-fe.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static PGconn * (*p_PQconnectStartParams)(const char *const *keywords, const char *const *values, int expand_dbname);
static PostgresPollingStatusType (*p_PQconnectPoll)(PGconn *conn);
static void (*p_PQfinish)(PGconn *conn);
static ConnStatusType (*p_PQstatus)(const PGconn *conn);
static char * (*p_PQerrorMessage)(const PGconn *conn);
static int (*p_PQsocket)(const PGconn *conn);
static int (*p_PQconnectionNeedsPassword)(const PGconn *conn);
static int (*p_PQsetnonblocking)(PGconn *conn, int arg);
static PGVerbosity (*p_PQsetErrorVerbosity)(PGconn *conn, PGVerbosity verbosity);
static PQnoticeProcessor (*p_PQsetNoticeProcessor)(PGconn *conn, PQnoticeProcessor proc, void *arg);
static int (*p_PQsendQueryParams)(PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat);
static int (*p_PQflush)(PGconn *conn);
static int (*p_PQconsumeInput)(PGconn *conn);
static int (*p_PQisBusy)(PGconn *conn);
static PGresult * (*p_PQgetResult)(PGconn *conn);
static void (*p_PQclear)(PGresult *res);
static ExecStatusType (*p_PQresultStatus)(const PGresult *res);
static char * (*p_PQresultErrorMessage)(const PGresult *res);
static char * (*p_PQresultErrorField)(const PGresult *res, int fieldcode);
static int (*p_PQntuples)(const PGresult *res);
static int (*p_PQnfields)(const PGresult *res);
static int (*p_PQgetisnull)(const PGresult *res, int tup_num, int field_num);
static int (*p_PQgetlength)(const PGresult *res, int tup_num, int field_num);
static char * (*p_PQgetvalue)(const PGresult *res, int tup_num, int field_num);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];
static int loaded;

static int fail(char *error, size_t length, const char *what) {
    snprintf(error, length, "libpq.so.5 has no %s", what);
    return -1;
}

static int load_all(char *error, size_t length) {
    void *handle = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *reason = dlerror();
        snprintf(error, length, "%s", reason ? reason : "dlopen failed");
        return -1;
    }
    if (!(p_PQconnectStartParams = (PGconn * (*)(const char *const *keywords, const char *const *values, int expand_dbname))dlsym(handle, "PQconnectStartParams"))) return fail(error, length, "PQconnectStartParams");
    if (!(p_PQconnectPoll = (PostgresPollingStatusType (*)(PGconn *conn))dlsym(handle, "PQconnectPoll"))) return fail(error, length, "PQconnectPoll");
    if (!(p_PQfinish = (void (*)(PGconn *conn))dlsym(handle, "PQfinish"))) return fail(error, length, "PQfinish");
    if (!(p_PQstatus = (ConnStatusType (*)(const PGconn *conn))dlsym(handle, "PQstatus"))) return fail(error, length, "PQstatus");
    if (!(p_PQerrorMessage = (char * (*)(const PGconn *conn))dlsym(handle, "PQerrorMessage"))) return fail(error, length, "PQerrorMessage");
    if (!(p_PQsocket = (int (*)(const PGconn *conn))dlsym(handle, "PQsocket"))) return fail(error, length, "PQsocket");
    if (!(p_PQconnectionNeedsPassword = (int (*)(const PGconn *conn))dlsym(handle, "PQconnectionNeedsPassword"))) return fail(error, length, "PQconnectionNeedsPassword");
    if (!(p_PQsetnonblocking = (int (*)(PGconn *conn, int arg))dlsym(handle, "PQsetnonblocking"))) return fail(error, length, "PQsetnonblocking");
    if (!(p_PQsetErrorVerbosity = (PGVerbosity (*)(PGconn *conn, PGVerbosity verbosity))dlsym(handle, "PQsetErrorVerbosity"))) return fail(error, length, "PQsetErrorVerbosity");
    if (!(p_PQsetNoticeProcessor = (PQnoticeProcessor (*)(PGconn *conn, PQnoticeProcessor proc, void *arg))dlsym(handle, "PQsetNoticeProcessor"))) return fail(error, length, "PQsetNoticeProcessor");
    if (!(p_PQsendQueryParams = (int (*)(PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat))dlsym(handle, "PQsendQueryParams"))) return fail(error, length, "PQsendQueryParams");
    if (!(p_PQflush = (int (*)(PGconn *conn))dlsym(handle, "PQflush"))) return fail(error, length, "PQflush");
    if (!(p_PQconsumeInput = (int (*)(PGconn *conn))dlsym(handle, "PQconsumeInput"))) return fail(error, length, "PQconsumeInput");
    if (!(p_PQisBusy = (int (*)(PGconn *conn))dlsym(handle, "PQisBusy"))) return fail(error, length, "PQisBusy");
    if (!(p_PQgetResult = (PGresult * (*)(PGconn *conn))dlsym(handle, "PQgetResult"))) return fail(error, length, "PQgetResult");
    if (!(p_PQclear = (void (*)(PGresult *res))dlsym(handle, "PQclear"))) return fail(error, length, "PQclear");
    if (!(p_PQresultStatus = (ExecStatusType (*)(const PGresult *res))dlsym(handle, "PQresultStatus"))) return fail(error, length, "PQresultStatus");
    if (!(p_PQresultErrorMessage = (char * (*)(const PGresult *res))dlsym(handle, "PQresultErrorMessage"))) return fail(error, length, "PQresultErrorMessage");
    if (!(p_PQresultErrorField = (char * (*)(const PGresult *res, int fieldcode))dlsym(handle, "PQresultErrorField"))) return fail(error, length, "PQresultErrorField");
    if (!(p_PQntuples = (int (*)(const PGresult *res))dlsym(handle, "PQntuples"))) return fail(error, length, "PQntuples");
    if (!(p_PQnfields = (int (*)(const PGresult *res))dlsym(handle, "PQnfields"))) return fail(error, length, "PQnfields");
    if (!(p_PQgetisnull = (int (*)(const PGresult *res, int tup_num, int field_num))dlsym(handle, "PQgetisnull"))) return fail(error, length, "PQgetisnull");
    if (!(p_PQgetlength = (int (*)(const PGresult *res, int tup_num, int field_num))dlsym(handle, "PQgetlength"))) return fail(error, length, "PQgetlength");
    if (!(p_PQgetvalue = (char * (*)(const PGresult *res, int tup_num, int field_num))dlsym(handle, "PQgetvalue"))) return fail(error, length, "PQgetvalue");
    return 0;
}

static void load_once(void) {
    loaded = load_all(load_error, sizeof load_error) == 0;
}

int warden_libpq_load(const char **error) {
    pthread_once(&once, load_once);
    if (error) *error = loaded ? 0 : load_error;
    return loaded ? 0 : -1;
}

PGconn * PQconnectStartParams(const char *const *keywords, const char *const *values, int expand_dbname) { return p_PQconnectStartParams(keywords, values, expand_dbname); }
PostgresPollingStatusType PQconnectPoll(PGconn *conn) { return p_PQconnectPoll(conn); }
void PQfinish(PGconn *conn) { p_PQfinish(conn); }
ConnStatusType PQstatus(const PGconn *conn) { return p_PQstatus(conn); }
char * PQerrorMessage(const PGconn *conn) { return p_PQerrorMessage(conn); }
int PQsocket(const PGconn *conn) { return p_PQsocket(conn); }
int PQconnectionNeedsPassword(const PGconn *conn) { return p_PQconnectionNeedsPassword(conn); }
int PQsetnonblocking(PGconn *conn, int arg) { return p_PQsetnonblocking(conn, arg); }
PGVerbosity PQsetErrorVerbosity(PGconn *conn, PGVerbosity verbosity) { return p_PQsetErrorVerbosity(conn, verbosity); }
PQnoticeProcessor PQsetNoticeProcessor(PGconn *conn, PQnoticeProcessor proc, void *arg) { return p_PQsetNoticeProcessor(conn, proc, arg); }
int PQsendQueryParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat) { return p_PQsendQueryParams(conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat); }
int PQflush(PGconn *conn) { return p_PQflush(conn); }
int PQconsumeInput(PGconn *conn) { return p_PQconsumeInput(conn); }
int PQisBusy(PGconn *conn) { return p_PQisBusy(conn); }
PGresult * PQgetResult(PGconn *conn) { return p_PQgetResult(conn); }
void PQclear(PGresult *res) { p_PQclear(res); }
ExecStatusType PQresultStatus(const PGresult *res) { return p_PQresultStatus(res); }
char * PQresultErrorMessage(const PGresult *res) { return p_PQresultErrorMessage(res); }
char * PQresultErrorField(const PGresult *res, int fieldcode) { return p_PQresultErrorField(res, fieldcode); }
int PQntuples(const PGresult *res) { return p_PQntuples(res); }
int PQnfields(const PGresult *res) { return p_PQnfields(res); }
int PQgetisnull(const PGresult *res, int tup_num, int field_num) { return p_PQgetisnull(res, tup_num, field_num); }
int PQgetlength(const PGresult *res, int tup_num, int field_num) { return p_PQgetlength(res, tup_num, field_num); }
char * PQgetvalue(const PGresult *res, int tup_num, int field_num) { return p_PQgetvalue(res, tup_num, field_num); }
