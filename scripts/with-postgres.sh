#!/usr/bin/env bash
# Runs CMD ARGS... with a private PostgreSQL 15 server (Debian's postgresql-15), for the
# `highAvailability` tests (Tests/WardenPostgresTests) and anything else that needs one.
#
# The server lives in a fresh temp directory (data, unix socket, log), listens on 127.0.0.1 on a
# free port only, offers TLS with a self-signed certificate, and runs with fsync off: it is
# thrown away afterwards. As root, initdb, pg_ctl and postgres run as the `postgres` user
# (runuser); otherwise as the current user. It never touches a cluster Debian's package may
# have created (its own data directory, port and socket directory). A role `warden` with a random password owns a database `warden`; TCP logins need
# that password (scram-sha-256).
#
# CMD sees:
#   WARDEN_TEST_POSTGRES_HOST / _PORT / _DATABASE / _USER / _PASSWORD   where to connect
#   WARDEN_TEST_POSTGRES_DATADIR                                         the data directory
#   WARDEN_TEST_POSTGRES_TLS=on    TLS offered, with a self-signed certificate (localhost, 127.0.0.1)
#   WARDEN_TEST_POSTGRES_CTL       a script: `$WARDEN_TEST_POSTGRES_CTL stop|start|restart|status`,
#                                  `freeze|thaw` (a silent server), `psql ARGS...` (superuser)
# CMD's exit code is propagated; the server is stopped and the temp directory removed on every
# exit path (success, failure, SIGINT, SIGTERM).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

PGBIN=${WARDEN_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
for tool in initdb pg_ctl postgres psql; do
    if [ ! -x "$PGBIN/$tool" ]; then
        echo "with-postgres: $PGBIN/$tool not found: install Debian's postgresql-15" \
            "(apt-get install postgresql-15; \`make test-deps\` does it)" >&2
        exit 1
    fi
done

if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "with-postgres: running as root but there is no \`postgres\` user (postgresql-15 creates it)" >&2
        exit 1
    fi
    AS_SERVER=(runuser -u postgres --)
else
    AS_SERVER=()
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/warden-postgres.XXXXXX")
chmod 0700 "$DIR"
CHILD=""
SERVER_STARTED=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
        kill -TERM "$CHILD" 2>/dev/null || true
        wait "$CHILD" 2>/dev/null || true
    fi
    if [ "$SERVER_STARTED" = 1 ] && [ -f "$DIR/data/postmaster.pid" ]; then
        # A test may have left it frozen (SIGSTOP): a stopped server would not see the stop.
        if [ -x "$DIR/pgctl.sh" ]; then "$DIR/pgctl.sh" thaw >/dev/null 2>&1 || true; fi
        # Immediate: the data directory is deleted next, nothing to flush.
        "${AS_SERVER[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf -- "$DIR"
    exit "$rc"
}
trap cleanup EXIT
# A signal ends CMD first (forwarded), then the EXIT trap stops the server.
on_signal() {
    local code=$1
    if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null || true; fi
    exit "$code"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

if [ -n "${AS_SERVER[*]}" ]; then chown postgres: "$DIR"; fi
mkdir_server() { "${AS_SERVER[@]}" mkdir -p "$@"; }
mkdir_server "$DIR/socket"

# A free loopback port: the kernel's pick for an ephemeral bind (python3), else a probe.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "with-postgres: no free port found" >&2
    return 1
}

PASSWORD=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')

"${AS_SERVER[@]}" "$PGBIN/initdb" -D "$DIR/data" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 || {
    echo "with-postgres: initdb failed:" >&2
    cat "$DIR/initdb.log" >&2
    exit 1
}

# Local (socket) logins are trusted: the socket directory is private to the server's user.
"${AS_SERVER[@]}" tee "$DIR/data/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 scram-sha-256
EOF

# TLS on (clients may still connect without): a throw-away self-signed certificate for
# localhost / 127.0.0.1, so the tests can connect with `tls: require` and see `verify-full`
# refuse it. openssl comes with postgresql-15 (through ssl-cert).
"${AS_SERVER[@]}" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$DIR/data/server.key" -out "$DIR/data/server.crt" >"$DIR/openssl.log" 2>&1 || {
    echo "with-postgres: openssl could not make the server's certificate:" >&2
    cat "$DIR/openssl.log" >&2
    exit 1
}
"${AS_SERVER[@]}" chmod 0600 "$DIR/data/server.key"

PORT=""
for attempt in 1 2 3; do
    PORT=$(free_port)
    "${AS_SERVER[@]}" tee "$DIR/data/postgresql.auto.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR/socket'
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'
ssl = on
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = '32MB'
max_connections = 50
EOF
    # In a subshell without our inherited descriptors (see close_inherited in pgctl.sh below).
    if (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-"; fi
        done
        exec "${AS_SERVER[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w -t 60 start
    ) >/dev/null 2>&1; then
        SERVER_STARTED=1
        break
    fi
    echo "with-postgres: server did not start on port $PORT (attempt $attempt):" >&2
    tail -n 20 "$DIR/postgres.log" >&2 || true
done
if [ "$SERVER_STARTED" != 1 ]; then
    exit 1
fi

# The password goes through stdin, never through a command line (visible in ps).
"${AS_SERVER[@]}" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR/socket" -p "$PORT" -U postgres -d postgres \
    >/dev/null <<EOF
CREATE ROLE warden LOGIN PASSWORD '$PASSWORD';
CREATE DATABASE warden OWNER warden;
EOF

# The tests' handle on the server: stop, start (same settings) and restart, waiting for each;
# freeze/thaw (SIGSTOP/SIGCONT the postmaster and its children: connections stay open and no
# byte comes back, as behind a severed proxy); psql ARGS... as the superuser on the database.
CTL="$DIR/pgctl.sh"
{
    echo '#!/usr/bin/env bash'
    echo 'set -euo pipefail'
    printf 'AS_SERVER=(%s)\n' "${AS_SERVER[*]}"
    printf 'PGBIN=%q; DATA=%q; LOG=%q; SOCKET=%q; PORT=%q\n' \
        "$PGBIN" "$DIR/data" "$DIR/postgres.log" "$DIR/socket" "$PORT"
    cat <<'EOF'
# pg_ctl start leaves the postmaster running with every descriptor pg_ctl had beyond 0-2.
# Foundation's Process (the tests run this script with it) learns that its child exited when a
# socket it passed down closes: a postmaster holding it would make it wait forever. So start
# and restart close every inherited descriptor first (255: bash's own, close-on-exec).
close_inherited() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-"; fi
    done
}
server_pids() {
    local postmaster
    postmaster=$(head -n 1 "$DATA/postmaster.pid")
    echo "$postmaster"
    ps -o pid= --ppid "$postmaster"
}
case "${1:-}" in
    stop) exec "${AS_SERVER[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop ;;
    start) close_inherited; exec "${AS_SERVER[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 start ;;
    restart)
        close_inherited
        exec "${AS_SERVER[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -m fast -w -t 30 restart
        ;;
    status) exec "${AS_SERVER[@]}" "$PGBIN/pg_ctl" -D "$DATA" status ;;
    freeze) for pid in $(server_pids); do kill -STOP "$pid"; done ;;
    thaw) for pid in $(server_pids | tac); do kill -CONT "$pid"; done ;;
    psql)
        shift
        exec "${AS_SERVER[@]}" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET" -p "$PORT" -U postgres -d warden "$@"
        ;;
    *) echo "usage: $0 stop|start|restart|status|freeze|thaw|psql ARGS..." >&2; exit 2 ;;
esac
EOF
} >"$CTL"
chmod 0755 "$CTL"

echo "with-postgres: PostgreSQL 15 on 127.0.0.1:$PORT, data in $DIR/data" >&2

rc=0
# In the background so a signal to this script reaches CMD (forwarded) without waiting for it;
# stdin handed on explicitly (a background job's stdin would be /dev/null).
WARDEN_TEST_POSTGRES_HOST=127.0.0.1 \
    WARDEN_TEST_POSTGRES_PORT="$PORT" \
    WARDEN_TEST_POSTGRES_DATABASE=warden \
    WARDEN_TEST_POSTGRES_USER=warden \
    WARDEN_TEST_POSTGRES_PASSWORD="$PASSWORD" \
    WARDEN_TEST_POSTGRES_DATADIR="$DIR/data" \
    WARDEN_TEST_POSTGRES_TLS=on \
    WARDEN_TEST_POSTGRES_CTL="$CTL" \
    "$@" <&0 &
CHILD=$!
wait "$CHILD" || rc=$?
CHILD=""
exit "$rc"
