# shellcheck shell=bash
# The system test cases of tests/system/run.sh (sourced). Each case_* function runs against the
# one booted container and the host emulator, returns 0 on success, and on failure sets WHY.
# Jobs are named after their tables (job "alpha" writes table "alpha").

JOB_RECREATED_ID=cef755890f0d4e72aa1e95a4e2ff45f6   # WardenEvent.jobRecreated
CONFIG_REJECTED_ID=dda229acf13a4ea1b88d88c8613ba844 # WardenEvent.configRejected
UNIT=polaris-warden.service

# why MESSAGE: records why the case failed (run.sh prints WHY) and returns 1.
# shellcheck disable=SC2034 # WHY is read by run.sh
why() { WHY="$*"; return 1; }

prop() { cexec systemctl show -p "$1" --value "$UNIT"; }

# A mark (the __REALTIME_TIMESTAMP of the newest journal entry) so a case reads only what
# happened after it. (journalctl --after-cursor combined with a field match returns nothing on
# systemd 252 in our tests (when the cursor's own entry does not match), so the time filter is applied in jq.)
journal_mark() { cexec journalctl -q -n 1 -o json | jq -r '.__REALTIME_TIMESTAMP'; }

# warden_events MARK EVENT: the unit's journal entries of that EVENT after MARK, as JSON lines.
warden_events() {
    cexec journalctl -q -u "$UNIT" -o json "EVENT=$2" \
        | jq -c --arg mark "$1" 'select((.__REALTIME_TIMESTAMP | tonumber) > ($mark | tonumber))'
}

has_event() { [ -n "$(warden_events "$1" "$2")" ]; }

# status_matches REGEX: the unit's current STATUS= text matches.
status_matches() { grep -Eq "$1" <<<"$(prop StatusText)"; }

# contains PATTERN COMMAND...: COMMAND's output contains PATTERN (a fixed string). Not a
# `COMMAND | grep -q` pipeline: grep exits at the first match, COMMAND may die of SIGPIPE and
# pipefail would make the pipeline fail.
contains() {
    local pattern=$1 out
    shift
    out=$("$@" 2>/dev/null)
    grep -qF -- "$pattern" <<<"$out"
}

# One non-terminal streaming job on each TABLE (and exactly one): the warden's core promise.
one_live_job_per_table() {
    local jobs table n
    jobs=$(live_jobs) || return 1
    for table in "$@"; do
        n=$(awk -v t="$table" '$1 == t' <<<"$jobs" | wc -l)
        [ "$n" -eq 1 ] || return 1
    done
}

running_job_per_table() {
    local jobs table
    jobs=$(live_jobs) || return 1
    for table in "$@"; do
        awk -v t="$table" '$1 == t && $3 == "running" { found = 1 } END { exit !found }' <<<"$jobs" || return 1
    done
}

live_job_id() { live_jobs | awk -v t="$1" '$1 == t { print $2; exit }'; }

# replaced TABLE OLD_ID: the table has a live job and it is not OLD_ID.
replaced() {
    local id
    id=$(live_job_id "$1")
    [ -n "$id" ] && [ "$id" != "$2" ]
}

# restarted NRESTARTS OLD_PID: the unit restarted since and runs a new main process.
restarted() {
    [ "$(prop NRestarts)" -gt "$1" ] && [ "$(prop ActiveState)" = active ] \
        && [ "$(prop MainPID)" != "$2" ] && [ "$(prop MainPID)" != 0 ]
}

# --- 0. the package installs as designed -------------------------------------------------
case_package_install() {
    cexec dpkg -i "$SHARE_IN/$(basename "$WARDEN_DEB")" >"$WORK/dpkg.log" 2>&1 \
        || why "dpkg -i failed: $(tail -n 5 "$WORK/dpkg.log")" || return 1
    [ "$(cexec systemctl is-enabled "$UNIT" 2>/dev/null)" = disabled ] \
        || why "unit is '$(cexec systemctl is-enabled "$UNIT")' after install, expected disabled" || return 1
    [ "$(prop ActiveState)" = inactive ] || why "unit is $(prop ActiveState) after install (must not start)" || return 1
    cexec test -x /usr/bin/polaris-warden || why "no /usr/bin/polaris-warden" || return 1
    cexec test -f /usr/lib/systemd/catalog/polaris-warden.catalog || why "no catalog installed" || return 1
    contains "$JOB_RECREATED_ID" cexec journalctl --list-catalog "$JOB_RECREATED_ID" \
        || why "catalog not compiled: journalctl --list-catalog lacks $JOB_RECREATED_ID" || return 1
    cexec test -f /usr/share/man/man8/polaris-warden.8.gz || why "no man page" || return 1
    cexec test -f /usr/share/doc/polaris-warden/example.json || why "no example.json in the docs" || return 1
    # The binary runs in a plain Debian system (static Swift stdlib, only libc/libstdc++/libsystemd).
    cexec polaris-warden check-config /etc/polaris-warden/config.json >"$WORK/check.log" 2>&1 \
        || why "check-config failed in the container: $(cat "$WORK/check.log")" || return 1
}

# --- 1. start returns after READY=1; STATUS names the job count --------------------------
case_start_ready() {
    # Slow the first job listing by 1.5 s: READY=1 comes after the first reconcile pass, so
    # `systemctl start` must block at least that long and find the jobs created when it returns.
    emu POST /_emulator/faults '{"count":1,"method":"GET","pathPrefix":"/jobs","delayMilliseconds":1500}' >/dev/null \
        || why "cannot arm the delay fault" || return 1
    local t0 took
    t0=$(now)
    cexec systemctl start "$UNIT" || why "systemctl start failed: $(cexec systemctl status "$UNIT" | tail -n 5)" || return 1
    took=$(elapsed "$t0")
    [ "$(prop ActiveState)" = active ] || why "ActiveState $(prop ActiveState) right after start" || return 1
    awk -v t="$took" 'BEGIN { exit !(t >= 1.4) }' \
        || why "systemctl start returned after ${took}s, before the first (delayed) reconcile pass" || return 1
    [ "$(live_jobs | wc -l)" -ge 3 ] \
        || why "start returned before the first pass created the jobs: $(live_jobs | tr '\n' ';')" || return 1
    local status
    status=$(cexec systemctl status "$UNIT" --no-pager 2>/dev/null)
    grep -Eq '^ *Status: "3 jobs' <<<"$status" || why "no STATUS naming 3 jobs in systemctl status: $(grep Status: <<<"$status")" || return 1
    log "start took ${took}s; $(grep 'Status:' <<<"$status" | sed 's/^ *//')"
}

# --- 2. a failed job is recreated, with a catalogued journal event ------------------------
case_recreate() {
    local mark old new
    wait_for 15 running_job_per_table alpha || why "alpha never ran: $(live_jobs | tr '\n' ';')" || return 1
    old=$(live_job_id alpha)
    mark=$(journal_mark)
    emu POST "/_emulator/jobs/$old/fail" '{"code":"internal_error","message":"system test"}' >/dev/null \
        || why "cannot fail job $old" || return 1
    wait_for 20 replaced alpha "$old" || why "job alpha ($old) was not recreated within 20 s" || return 1
    new=$(live_job_id alpha)
    wait_for 10 has_event "$mark" job-recreated || why "no job-recreated event in the journal" || return 1
    local event
    event=$(warden_events "$mark" job-recreated | head -n 1)
    jq -e --arg id "$JOB_RECREATED_ID" --arg new "$new" '
        .MESSAGE_ID == $id and .POLARIS_JOB == "alpha" and .POLARIS_TABLE == "alpha"
        and .POLARIS_JOB_ID == $new and ._SYSTEMD_UNIT == "polaris-warden.service"' <<<"$event" >/dev/null \
        || why "job-recreated fields wrong: $(jq -c '{MESSAGE_ID, POLARIS_JOB, POLARIS_JOB_ID, POLARIS_TABLE, _SYSTEMD_UNIT}' <<<"$event") (new job $new)" \
        || return 1
    contains 'Subject: polaris-warden recreated a streaming job' \
        cexec journalctl -x -q -u "$UNIT" EVENT=job-recreated --no-pager \
        || why "journalctl -x does not show the catalog text of job-recreated" || return 1
}

# --- 3. reload: a broken config is rejected, a fixed one takes effect --------------------
case_reload() {
    local mark pid
    pid=$(prop MainPID)
    mark=$(journal_mark)
    # Broken: a fourth job without its table name. The old config (3 jobs) must stay in force.
    write_config "$WORK/share/config.json" alpha beta gamma delta
    jq 'del(.jobs[3].spec.target.tableName)' "$WORK/share/config.json" >"$WORK/share/broken.json"
    cexec install -m 0644 "$SHARE_IN/broken.json" /etc/polaris-warden/config.json
    cexec systemctl reload "$UNIT" || why "systemctl reload failed" || return 1
    wait_for 15 has_event "$mark" config-rejected || why "no config-rejected event after the broken reload" || return 1
    local event
    event=$(warden_events "$mark" config-rejected | head -n 1)
    jq -e --arg id "$CONFIG_REJECTED_ID" '.MESSAGE_ID == $id and (.MESSAGE | contains("jobs[3].spec.target.tableName"))' \
        <<<"$event" >/dev/null || why "config-rejected lacks the JSON path: $(jq -r .MESSAGE <<<"$event")" || return 1
    [ "$(prop ActiveState)" = active ] || why "unit $(prop ActiveState) after a rejected reload" || return 1
    [ "$(prop MainPID)" = "$pid" ] || why "the main process changed on a rejected reload" || return 1
    sleep 5 # two poll intervals under the old config
    [ -z "$(live_job_id delta)" ] || why "the rejected config was applied: job delta exists" || return 1
    status_matches '^3 jobs' || why "STATUS after the rejected reload: $(prop StatusText)" || return 1

    mark=$(journal_mark)
    cexec install -m 0644 "$SHARE_IN/config.json" /etc/polaris-warden/config.json
    cexec systemctl reload "$UNIT" || why "systemctl reload (fixed config) failed" || return 1
    wait_for 20 running_job_per_table delta || why "job delta did not appear after the fixed reload" || return 1
    has_event "$mark" reloaded || why "no reloaded event after the fixed reload" || return 1
    wait_for 10 status_matches '^4 jobs' || why "STATUS does not name 4 jobs: $(prop StatusText)" || return 1
    [ "$(prop MainPID)" = "$pid" ] || why "the main process changed on reload" || return 1
}

# --- 4. watchdog: a stopped main process is killed and restarted -------------------------
case_watchdog() {
    local restarts pid t0 took
    restarts=$(prop NRestarts)
    pid=$(prop MainPID)
    [ "$(prop WatchdogUSec)" = 4s ] || why "drop-in not applied: WatchdogUSec=$(prop WatchdogUSec)" || return 1
    cexec kill -STOP "$pid" || why "cannot SIGSTOP $pid" || return 1
    t0=$(now)
    wait_for 14 restarted "$restarts" "$pid" || why "not restarted within WatchdogSec + 10 s (NRestarts $(prop NRestarts), $(prop ActiveState)/$(prop SubState))" || return 1
    took=$(elapsed "$t0")
    log "watchdog restart after ${took}s (NRestarts $restarts -> $(prop NRestarts))"
    contains 'Watchdog timeout' cexec journalctl -q -u "$UNIT" --no-pager \
        || why "systemd did not log a watchdog timeout" || return 1
    # After the restart the warden adopts its jobs: still exactly one live job per table.
    sleep 5
    one_live_job_per_table alpha beta gamma delta \
        || why "not exactly one live job per table after the restart: $(live_jobs | tr '\n' ';')" || return 1
}

# --- 5. a Polaris outage is not a hang: no restart, STATUS says so, automatic recovery ----
case_outage() {
    local restarts pid mark
    restarts=$(prop NRestarts)
    pid=$(prop MainPID)
    mark=$(journal_mark)
    # 503 for every Polaris request for 10 s, then the emulator frozen (SIGSTOP: requests hang
    # until the client's timeout) for 8 s: 4.5 watchdog intervals of outage in all.
    emu POST /_emulator/faults '{"count":1000000,"pathPrefix":"/","status":503}' >/dev/null \
        || why "cannot arm the 503 fault" || return 1
    wait_for 10 status_matches 'API unreachable' \
        || { emu DELETE /_emulator/faults >/dev/null; why "STATUS never said the API is unreachable: $(prop StatusText)"; return 1; }
    log "during the 503s: $(prop StatusText)"
    sleep 4
    emu DELETE /_emulator/faults >/dev/null
    kill -STOP "$EMULATOR_PID"
    sleep 8
    local status_frozen
    status_frozen=$(prop StatusText)
    kill -CONT "$EMULATOR_PID"
    log "emulator frozen: $status_frozen"
    [ "$(prop NRestarts)" = "$restarts" ] && [ "$(prop MainPID)" = "$pid" ] \
        || why "the outage restarted the warden (NRestarts $restarts -> $(prop NRestarts))" || return 1
    [ "$(prop ActiveState)" = active ] || why "unit $(prop ActiveState) during the outage" || return 1
    has_event "$mark" api-unreachable || why "no api-unreachable event" || return 1
    wait_for 20 status_matches 'API ok' \
        || why "no automatic recovery: STATUS $(prop StatusText)" || return 1
    has_event "$mark" api-recovered || why "no api-recovered event" || return 1
    [ "$(prop NRestarts)" = "$restarts" ] || why "restarted after the outage" || return 1
    one_live_job_per_table alpha beta gamma delta \
        || why "not one live job per table after the outage: $(live_jobs | tr '\n' ';')" || return 1
}

# --- 6. stop: STOPPING, a quick clean exit, the jobs keep running ------------------------
case_stop() {
    local mark t0 took
    mark=$(journal_mark)
    t0=$(now)
    cexec systemctl stop "$UNIT" || why "systemctl stop failed" || return 1
    took=$(elapsed "$t0")
    awk -v t="$took" 'BEGIN { exit !(t < 5) }' || why "stop took ${took}s" || return 1
    [ "$(prop ActiveState)" = inactive ] || why "unit $(prop ActiveState) after stop" || return 1
    [ "$(prop Result)" = success ] && [ "$(prop ExecMainStatus)" = 0 ] \
        || why "unclean exit: Result=$(prop Result) ExecMainStatus=$(prop ExecMainStatus)" || return 1
    has_event "$mark" stopping || why "no stopping event" || return 1
    log "stop took ${took}s"
    running_job_per_table alpha beta gamma delta \
        || why "jobs did not keep running after stop: $(live_jobs | tr '\n' ';')" || return 1
}

# --- 7. the API key never leaks ------------------------------------------------------------
case_no_key_leak() {
    local key
    key=$(cat "$WORK/api-key")
    cexec journalctl -b -o json --no-pager >"$WORK/journal.json"
    [ -s "$WORK/journal.json" ] || why "empty journal" || return 1
    ! grep -qF "$key" "$WORK/journal.json" || why "the API key is in the journal" || return 1
    cexec systemctl show "$UNIT" >"$WORK/show.txt"
    ! grep -qF "$key" "$WORK/show.txt" || why "the API key is in systemctl show" || return 1
    ! grep -qF "$key" "$WORK/emulator.log" || why "the API key is in the emulator's log" || return 1
    cexec sh -c 'cat /var/lib/private/polaris-warden/state.json' >"$WORK/state.json" 2>/dev/null
    [ -s "$WORK/state.json" ] || why "no state file under /var/lib/private/polaris-warden" || return 1
    ! grep -qF "$key" "$WORK/state.json" || why "the API key is in the state file" || return 1
}

# --- 8. an upgrade restarts a running service with the new binary ------------------------
case_upgrade() {
    cexec systemctl start "$UNIT" || why "systemctl start failed" || return 1
    local pid restarts
    pid=$(prop MainPID)
    restarts=$(prop NRestarts)
    # Reinstalling the same version runs postinst configure with the old version, as an upgrade.
    cexec dpkg -i "$SHARE_IN/$(basename "$WARDEN_DEB")" >"$WORK/dpkg-upgrade.log" 2>&1 \
        || why "dpkg -i over the installed package failed: $(tail -n 5 "$WORK/dpkg-upgrade.log")" || return 1
    [ "$(prop ActiveState)" = active ] || why "unit $(prop ActiveState) after the upgrade" || return 1
    [ "$(prop MainPID)" != "$pid" ] || why "the running service was not restarted by the upgrade" || return 1
    [ "$(prop NRestarts)" = "$restarts" ] || why "the upgrade counted as a failure restart" || return 1
    ! contains 'changed on disk' cexec systemctl status "$UNIT" --no-pager \
        || why "unit file not reloaded after the upgrade" || return 1
    [ "$(cexec systemctl is-enabled "$UNIT" 2>/dev/null)" = disabled ] \
        || why "the upgrade enabled the unit" || return 1
}

# --- 9. removal stops the service; the jobs keep running --------------------------------
case_remove() {
    cexec dpkg -r polaris-warden >"$WORK/dpkg-remove.log" 2>&1 \
        || why "dpkg -r failed: $(tail -n 5 "$WORK/dpkg-remove.log")" || return 1
    ! cexec test -e /usr/bin/polaris-warden || why "binary still there after dpkg -r" || return 1
    [ "$(prop ActiveState)" != active ] || why "the service still runs after dpkg -r" || return 1
    ! contains "$JOB_RECREATED_ID" cexec journalctl --list-catalog "$JOB_RECREATED_ID" \
        || why "the catalog entries remain compiled after dpkg -r" || return 1
    cexec test -f /etc/polaris-warden/config.json || why "dpkg -r removed the admin's config" || return 1
    running_job_per_table alpha beta gamma delta \
        || why "jobs did not keep running after dpkg -r: $(live_jobs | tr '\n' ';')" || return 1
}
