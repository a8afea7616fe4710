#!/usr/bin/env bash
# Runs CMD ARGS... with a private systemd-journald listening on /run/systemd/journal/socket, so
# the journal tests can log through the native protocol and read their entries back.
#
# As root with /lib/systemd/systemd-journald present: CMD runs inside a private mount namespace
# (unshare --mount --propagation private) where /run/systemd and /run/log are fresh tmpfs mounts,
# so the host's journal and /run stay untouched. The journal files go to a temp directory that
# is bind-mounted to /run/log/journal and exported as POLARIS_TEST_JOURNAL_DIR (the same path is
# readable from inside the namespace). journald runs with Storage=volatile and no rate limit.
# Otherwise CMD runs directly, without POLARIS_TEST_JOURNAL_DIR: the journal tests then skip,
# and fail under CI=true. CMD's exit code is propagated; journald is stopped by its own pid and
# the temp directory removed on every exit path.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

JOURNALD=/lib/systemd/systemd-journald

if [ "$(id -u)" != 0 ] || [ ! -x "$JOURNALD" ] || ! command -v unshare >/dev/null; then
    echo "with-test-journald: not root or no $JOURNALD: running without a private journald (journal tests will skip)" >&2
    exec "$@"
fi

if [ "${WITH_TEST_JOURNALD_INNER:-}" != 1 ]; then
    DIR=$(mktemp -d /tmp/polaris-warden-journal.XXXXXX)
    chmod 0755 "$DIR"
    mkdir -p "$DIR/journal"
    cleanup() { rm -rf -- "$DIR"; }
    trap cleanup EXIT
    # The namespace needs existing mount points; on a host without systemd they may be missing.
    mkdir -p /run/systemd /run/log
    rc=0
    WITH_TEST_JOURNALD_INNER=1 POLARIS_TEST_JOURNAL_DIR="$DIR/journal" \
        unshare --mount --propagation private -- "$(realpath "$0")" "$@" || rc=$?
    exit "$rc"
fi

# Inside the private mount namespace from here on.
unset WITH_TEST_JOURNALD_INNER
JOURNAL_DIR=${POLARIS_TEST_JOURNAL_DIR:?}
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
mount -t tmpfs -o mode=0755 tmpfs /run/log
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/log/journal
mount --bind "$JOURNAL_DIR" /run/log/journal
printf '[Journal]\nStorage=volatile\nReadKMSG=no\nRateLimitBurst=0\nAudit=no\nForwardToSyslog=no\nForwardToWall=no\n' \
    >/run/systemd/journald.conf.d/test.conf

"$JOURNALD" </dev/null >"$JOURNAL_DIR/../journald.log" 2>&1 &
JPID=$!
stop_journald() {
    if kill -0 "$JPID" 2>/dev/null; then
        kill -TERM "$JPID" 2>/dev/null || true
        wait "$JPID" 2>/dev/null || true
    fi
}
trap stop_journald EXIT

for _ in $(seq 1 200); do
    [ -S /run/systemd/journal/socket ] && break
    if ! kill -0 "$JPID" 2>/dev/null; then
        echo "with-test-journald: systemd-journald exited during start-up:" >&2
        cat "$JOURNAL_DIR/../journald.log" >&2 || true
        exit 1
    fi
    sleep 0.05
done
if [ ! -S /run/systemd/journal/socket ]; then
    echo "with-test-journald: journald socket did not appear within 10 s" >&2
    exit 1
fi
echo "with-test-journald: private journald pid $JPID, journal in $JOURNAL_DIR" >&2

rc=0
"$@" || rc=$?
stop_journald
trap - EXIT
exit "$rc"
