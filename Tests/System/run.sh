#!/usr/bin/env bash
# System tests of the Debian package under a real systemd (docs/packaging.md, `make system-test`).
#
#   Tests/System/run.sh [--rootfs DIR] WARDEN_DEB EMULATOR_DEB
#
# Boots a cached Debian bookworm rootfs with systemd-nspawn (PID 1 = systemd), installs the
# polaris-warden .deb there, runs polaris-emulator (from the polaris-emulator .deb) on the
# host's 127.0.0.1 with a random API key, and checks the unit's systemd contract case by case.
# Prints PASS/FAIL per case and "N passed, N failed". Exit 0 only when nothing failed.
# Without root or the tools it says why and skips (exit 0), except under CI=true (exit 1).
# KEEP_WORK=1 keeps the scratch directory (logs, journal dump); SYSTEM_TEST_NSPAWN_ARGS adds
# systemd-nspawn options (debugging).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
ROOTFS="$repo/.build-rootfs/bookworm"
while [ $# -gt 0 ]; do
    case "$1" in
        --rootfs) ROOTFS=$2; shift 2 ;;
        -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
        *) break ;;
    esac
done
WARDEN_DEB=${1:-}
EMULATOR_DEB=${2:-}

# shellcheck source=Tests/System/lib.sh
. "$here/lib.sh"
# shellcheck source=Tests/System/cases.sh
. "$here/cases.sh"

skip() {
    log "SKIP: $*"
    if [ "${CI:-}" = true ]; then
        log "CI=true: a skipped system test counts as a failure"
        exit 1
    fi
    exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root (systemd-nspawn, unshare, cgroups, debootstrap)"
for tool in systemd-nspawn debootstrap unshare nsenter curl jq dpkg-deb awk; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing (make system-test-deps installs it)"
done
[ -n "$(cgroup_roots)" ] || skip "no cgroup hierarchy under /sys/fs/cgroup"
if [ ! -f "$WARDEN_DEB" ] || [ ! -f "$EMULATOR_DEB" ]; then
    log "usage: run.sh [--rootfs DIR] WARDEN_DEB EMULATOR_DEB (build them with make deb)"
    exit 2
fi
WARDEN_DEB=$(realpath "$WARDEN_DEB")
EMULATOR_DEB=$(realpath "$EMULATOR_DEB")

T_TOTAL=$(now)
"$here/build-rootfs.sh" "$ROOTFS" || { log "cannot build the rootfs"; exit 1; }

WORK=$(mktemp -d /tmp/polaris-system-test.XXXXXX)
SHARE_IN=/opt/polaris-system-test   # $WORK/share, bind-mounted read-only into the container
mkdir -p "$WORK/share"
chmod 0700 "$WORK"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_container
    stop_emulator
    stop_emulator_b
    remove_cgroups
    if [ "${KEEP_WORK:-}" = 1 ]; then log "kept $WORK"; else rm -rf --one-file-system "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

PROJECT_ID=5d6c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a
# A second Polaris project (a second emulator) for the template unit's instances.
PROJECT_B_ID=8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5f6e

# write_config FILE JOB...: a warden config for the host emulator, one job (and table) per name.
write_config() {
    local file=$1
    shift
    jq -n --arg url "http://127.0.0.1:$EMULATOR_PORT" --arg project "$PROJECT_ID" \
        --args '$ARGS.positional as $names | {
        polaris: { url: $url, projectId: $project,
                   auth: { type: "apiKey", credential: "polaris-api-key" },
                   requestTimeoutSeconds: 2, maxRequestsPerSecond: 50 },
        supervisor: { pollIntervalSeconds: 2,
                      recreate: { maxAttempts: 10, windowSeconds: 600,
                                  backoffInitialSeconds: 1, backoffMaxSeconds: 4 } },
        connections: [ { type: "kinesis", name: "system-test", stream: "system-test",
                         awsEndpoint: "kinesis.us-east-1.amazonaws.com",
                         awsAssumedRoleArn: "arn:aws:iam::012345678901:role/system-test" } ],
        jobs: [ $names[] | { name: ., spec: {
            type: "streaming",
            source: { type: "connection", connectionName: "system-test",
                      formatSettings: { format: "nd-json" },
                      inputSchema: [ { name: "timestamp", dataType: "string" } ] },
            target: { type: "table", tableName: . },
            mappings: [ { columnName: "__time", expression: "TIME_PARSE(\"timestamp\")" } ],
            createTableIfNotExists: true } } ] }' "$@" >"$file"
}

# --- set-up --------------------------------------------------------------------------------
log "emulator: extracting $(basename "$EMULATOR_DEB")"
dpkg-deb -x "$EMULATOR_DEB" "$WORK/emulator-root" || exit 1
# A random key, only ever in files (mode 0600), never in argv or the environment.
(umask 077; printf 'pok_system_test_%s\n' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$WORK/api-key")
cp "$WORK/api-key" "$WORK/share/api-key"
chmod 0600 "$WORK/share/api-key"
start_emulator "$WORK/emulator-root/usr/bin/polaris-emulator" "$WORK/api-key" "$PROJECT_ID" "$WORK/emulator.log" \
    || exit 1
log "emulator: pid $EMULATOR_PID on 127.0.0.1:$EMULATOR_PORT"
(umask 077; printf 'pok_system_test_b_%s\n' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$WORK/api-key-b")
cp "$WORK/api-key-b" "$WORK/share/api-key-b"
chmod 0600 "$WORK/share/api-key-b"
start_emulator_b "$WORK/emulator-root/usr/bin/polaris-emulator" "$WORK/api-key-b" "$PROJECT_B_ID" \
    "$WORK/emulator-b.log" || exit 1
log "emulator (second project): pid $EMULATOR_B_PID on 127.0.0.1:$EMULATOR_B_PORT"

cp "$WARDEN_DEB" "$WORK/share/"
write_config "$WORK/share/config.json" alpha beta gamma
cat >"$WORK/share/10-system-test.conf" <<'CONF'
# System test: a short watchdog interval so the watchdog case takes seconds.
[Service]
WatchdogSec=4s
CONF

T_BOOT=$(now)
# shellcheck disable=SC2086 # SYSTEM_TEST_NSPAWN_ARGS: extra nspawn options, for debugging
boot_container "$ROOTFS" "$WORK/nspawn.log" --bind-ro="$WORK/share:$SHARE_IN" ${SYSTEM_TEST_NSPAWN_ARGS:-} || exit 1
log "container: booted in $(elapsed "$T_BOOT") s (nspawn pid $NSPAWN_PID, PID 1 = $CONTAINER_PID)"

# The operator's part (README "Configure"): key file 0600 root, config, plus the test drop-in.
cexec install -d -m 0755 /etc/polaris-warden /etc/systemd/system/polaris-warden.service.d
cexec install -m 0600 -o root -g root "$SHARE_IN/api-key" /etc/polaris-warden/api-key
cexec install -m 0644 "$SHARE_IN/config.json" /etc/polaris-warden/config.json
cexec install -m 0644 "$SHARE_IN/10-system-test.conf" /etc/systemd/system/polaris-warden.service.d/

# --- the cases -------------------------------------------------------------------------------
PASSED=0
FAILED=0
run_case() {
    local name=$1 fn=$2 t0
    WHY=""
    t0=$(now)
    if "$fn"; then
        echo "PASS: $name ($(elapsed "$t0") s)"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL: $name: ${WHY:-failed} ($(elapsed "$t0") s)"
        FAILED=$((FAILED + 1))
        {
            echo "--- systemctl status polaris-warden"
            cexec systemctl status "$UNIT" --no-pager -n 0 2>&1
            echo "--- journalctl -u polaris-warden (last 25)"
            cexec journalctl -u "$UNIT" --no-pager -n 25 2>&1
            echo "--- emulator: live jobs"
            live_jobs 2>&1
        } | sed 's/^/    /' >&2
    fi
}

run_case "0 package installs disabled, catalog compiled" case_package_install
cexec systemctl daemon-reload   # the test drop-in
run_case "1 start returns after READY=1, STATUS names the jobs" case_start_ready
run_case "2 failed job recreated, catalogued job-recreated event" case_recreate
run_case "3 reload rejects a broken config, applies a fixed one" case_reload
run_case "4 watchdog restarts a stopped main process" case_watchdog
run_case "5 Polaris outage: no restart, STATUS says so, recovery" case_outage
run_case "6 stop: STOPPING, quick exit, jobs keep running" case_stop
run_case "7 the API key is nowhere in the journal or systemctl show" case_no_key_leak
run_case "8 two template instances, two projects: each heals its own, reload one only" case_instances
run_case "9 rsyslog hands exactly the job-gave-up event to the alert script" case_rsyslog_alert
run_case "10 package upgrade restarts the running service and instances" case_upgrade
run_case "11 package removal stops the service and instances, jobs keep running" case_remove

log "total $(elapsed "$T_TOTAL") s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
