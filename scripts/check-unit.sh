#!/usr/bin/env bash
# Static gates for a systemd unit file (docs/systemd-notes.md §6):
#   1. `systemd-analyze verify` must print nothing (it exits 0 on parse warnings, so any output fails);
#   2. `systemd-analyze security --offline=true --threshold=15` must pass (exposure <= 1.5).
# Both leave a stamp in /run/systemd, so they run inside `unshare -m` with a tmpfs there.
#
# verify also checks that ExecStart's binary exists, and /usr/bin/polaris-warden is not
# installed on a build machine: verify therefore runs on a copy of the unit whose ExecStart
# points at a stand-in (/bin/true), same arguments. Every other line is verified as written;
# `security` runs on the unit exactly as shipped. The man page of Documentation=man:… is not
# installed before the package is, so verify runs with --man=no.
#
# A template (NAME@.service) is verified as an instance of it (NAME@check.service), so the
# specifiers (%i) are expanded in every path, and its security is scored as shipped.
#
# Needs root (mount namespace); skips otherwise, but fails when CI=true.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 UNIT-FILE" >&2
    exit 2
fi
UNIT=$1
[ -f "$UNIT" ] || { echo "check-unit: $UNIT: no such file" >&2; exit 2; }
UNIT=$(realpath "$UNIT")
NAME=$(basename "$UNIT")

if [ "$(id -u)" != 0 ] || ! command -v systemd-analyze >/dev/null || ! command -v unshare >/dev/null; then
    msg="check-unit: needs root, unshare and systemd-analyze (private mount namespace for /run/systemd)"
    if [ "${CI:-}" = true ]; then
        echo "$msg: FAILING because CI=true" >&2
        exit 1
    fi
    echo "$msg: skipped" >&2
    exit 0
fi

if [ "${CHECK_UNIT_INNER:-}" != 1 ]; then
    mkdir -p /run/systemd
    CHECK_UNIT_INNER=1 exec unshare --mount --propagation private -- "$(realpath "$0")" "$UNIT"
fi

# Inside the private mount namespace from here on.
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
WORK=$(mktemp -d /tmp/check-unit.XXXXXX)
trap 'rm -rf -- "$WORK"' EXIT

status=0

# Gate 1: verify, on a copy whose ExecStart binary exists on this machine.
case "$NAME" in
    *@.*) NAME=${NAME/@./@check.} ;;   # a template: verify the instance "check"
esac
cp "$UNIT" "$WORK/$NAME"
exec_path=$(sed -nE 's#^ExecStart=[-@:+!]*([^ ]+).*#\1#p' "$UNIT" | head -n1)
if [ -n "$exec_path" ] && [ ! -x "$exec_path" ]; then
    echo "check-unit: $exec_path is not installed here: verifying with ExecStart=/bin/true (same arguments)"
    sed -E "s#^(ExecStart=[-@:+!]*)${exec_path}( |\$)#\1/bin/true\2#" "$UNIT" >"$WORK/$NAME"
fi
verify_output=$(cd "$WORK" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$WORK/$NAME" 2>&1) || {
    echo "check-unit: systemd-analyze verify failed" >&2
    status=1
}
if [ -n "$verify_output" ]; then
    echo "check-unit: systemd-analyze verify printed output (treated as failure):" >&2
    printf '%s\n' "$verify_output" >&2
    status=1
else
    echo "check-unit: verify clean"
fi

# Gate 2: security exposure of the unit as shipped.
security_rc=0
security_output=$(systemd-analyze security --offline=true --threshold=15 --no-pager "$UNIT" 2>&1) || security_rc=$?
exposure=$(printf '%s\n' "$security_output" | sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p' | tail -n1)
if [ -z "$exposure" ]; then
    echo "check-unit: could not read the exposure score:" >&2
    printf '%s\n' "$security_output" >&2
    exit 1
fi
echo "check-unit: exposure $exposure (threshold 1.5)"
if [ "$security_rc" -ne 0 ] || awk -v e="$exposure" 'BEGIN { exit !(e > 1.5) }'; then
    echo "check-unit: systemd-analyze security failed (exposure $exposure > 1.5 or error):" >&2
    printf '%s\n' "$security_output" | grep -E '✗|Overall' >&2 || printf '%s\n' "$security_output" >&2
    status=1
fi
exit "$status"
