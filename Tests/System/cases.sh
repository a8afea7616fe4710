# shellcheck shell=bash
# The system test cases of Tests/System/run.sh (sourced). Each case_* function runs against the
# one booted container and the host emulator, returns 0 on success, and on failure sets WHY.
# Jobs are named after their tables (job "alpha" writes table "alpha").

JOB_RECREATED_ID=cef755890f0d4e72aa1e95a4e2ff45f6   # WardenEvent.jobRecreated
CONFIG_REJECTED_ID=dda229acf13a4ea1b88d88c8613ba844 # WardenEvent.configRejected
JOB_GAVE_UP_ID=5841ee7f40ba4e5ba42c42ec2b45485c     # WardenEvent.jobGaveUp
UNIT=polaris-warden.service
# Instances of polaris-warden@.service: north (project $PROJECT_ID), south (project $PROJECT_B_ID,
# the second emulator), pager (the alerting case).
INSTANCES=(north south pager)

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

# --- template instances: helpers -----------------------------------------------------------
iprop() { cexec systemctl show -p "$2" --value "polaris-warden@$1.service"; }

# instance_events MARK INSTANCE EVENT: that instance unit's entries of EVENT after MARK.
instance_events() {
    cexec journalctl -q -u "polaris-warden@$2.service" -o json "EVENT=$3" \
        | jq -c --arg mark "$1" 'select((.__REALTIME_TIMESTAMP | tonumber) > ($mark | tonumber))'
}
has_instance_event() { [ -n "$(instance_events "$@")" ]; }
instance_status_matches() { grep -Eq "$2" <<<"$(iprop "$1" StatusText)"; }

# install_instance NAME KEYFILE: /etc/polaris-warden/NAME.json (from $WORK/share/NAME.json) and
# NAME.api-key (0600 root), as an operator would.
install_instance() {
    cexec install -m 0600 -o root -g root "$SHARE_IN/$2" "/etc/polaris-warden/$1.api-key" &&
        cexec install -m 0644 "$SHARE_IN/$1.json" "/etc/polaris-warden/$1.json"
}

# --- 8. two instances of the template, two projects ----------------------------------------
case_instances() {
    local mark old_n old_s new_n new_s event pid_n pid_s restarts_s jobs_b
    write_config "$WORK/share/north.json" n1 n2
    EMULATOR_PORT=$EMULATOR_B_PORT PROJECT_ID=$PROJECT_B_ID write_config "$WORK/share/south.json" s1 s2
    install_instance north api-key && install_instance south api-key-b || why "cannot install the instance files" || return 1
    mark=$(journal_mark)
    cexec systemctl start polaris-warden@north.service polaris-warden@south.service \
        || why "systemctl start of both instances failed: $(cexec systemctl status 'polaris-warden@*' --no-pager | tail -n 8)" \
        || return 1
    [ "$(iprop north ActiveState)" = active ] && [ "$(iprop south ActiveState)" = active ] \
        || why "instances not active: north $(iprop north ActiveState), south $(iprop south ActiveState)" || return 1
    wait_for 20 running_job_per_table n1 n2 || why "north's jobs do not run in project A: $(live_jobs | tr '\n' ';')" || return 1
    wait_for 20 on_b running_job_per_table s1 s2 \
        || why "south's jobs do not run in project B: $(on_b live_jobs | tr '\n' ';')" || return 1
    [ -z "$(on_b live_job_id n1)" ] && [ -z "$(live_job_id s1)" ] \
        || why "a job landed in the other instance's project" || return 1

    # Each heals its own: one job failed in each project at the same time.
    old_n=$(live_job_id n1)
    old_s=$(on_b live_job_id s1)
    emu POST "/_emulator/jobs/$old_n/fail" '{"code":"internal_error","message":"system test"}' >/dev/null \
        && on_b emu POST "/_emulator/jobs/$old_s/fail" '{"code":"internal_error","message":"system test"}' >/dev/null \
        || why "cannot fail the jobs" || return 1
    wait_for 20 replaced n1 "$old_n" || why "north did not recreate n1" || return 1
    wait_for 20 on_b replaced s1 "$old_s" || why "south did not recreate s1" || return 1
    new_n=$(live_job_id n1)
    new_s=$(on_b live_job_id s1)
    wait_for 10 has_instance_event "$mark" north job-recreated || why "no job-recreated from north" || return 1
    wait_for 10 has_instance_event "$mark" south job-recreated || why "no job-recreated from south" || return 1
    event=$(instance_events "$mark" north job-recreated | head -n 1)
    jq -e --arg new "$new_n" '.WARDEN_INSTANCE == "north" and .POLARIS_JOB == "n1" and .POLARIS_JOB_ID == $new
        and ._SYSTEMD_UNIT == "polaris-warden@north.service"' <<<"$event" >/dev/null \
        || why "north's job-recreated: $(jq -c '{WARDEN_INSTANCE, POLARIS_JOB, POLARIS_JOB_ID, _SYSTEMD_UNIT}' <<<"$event")" \
        || return 1
    event=$(instance_events "$mark" south job-recreated | head -n 1)
    jq -e --arg new "$new_s" '.WARDEN_INSTANCE == "south" and .POLARIS_JOB == "s1" and .POLARIS_JOB_ID == $new
        and ._SYSTEMD_UNIT == "polaris-warden@south.service"' <<<"$event" >/dev/null \
        || why "south's job-recreated: $(jq -c '{WARDEN_INSTANCE, POLARIS_JOB, POLARIS_JOB_ID, _SYSTEMD_UNIT}' <<<"$event")" \
        || return 1
    # Alerts tell projects apart by the field alone; the plain unit's entries carry none.
    [ "$(cexec journalctl -q -o json WARDEN_INSTANCE=north EVENT=job-recreated | jq -r .POLARIS_JOB | sort -u)" = n1 ] \
        || why "journalctl WARDEN_INSTANCE=north matches other instances' entries" || return 1
    [ "$(cexec journalctl -q -u "$UNIT" -o json | jq -c 'select(has("WARDEN_INSTANCE"))' | wc -l)" -eq 0 ] \
        || why "the plain unit's entries carry WARDEN_INSTANCE" || return 1

    # status --instance reads that instance's state directory.
    cexec polaris-warden status --instance north >"$WORK/status-north.txt" 2>&1 \
        || why "status --instance north failed: $(cat "$WORK/status-north.txt")" || return 1
    cexec polaris-warden status --instance south >"$WORK/status-south.txt" 2>&1 \
        || why "status --instance south failed: $(cat "$WORK/status-south.txt")" || return 1
    grep -q "^n1 .*$new_n" "$WORK/status-north.txt" && grep -q '^n2 ' "$WORK/status-north.txt" \
        && ! grep -q '^s1 ' "$WORK/status-north.txt" \
        || why "status --instance north: $(tr '\n' ';' <"$WORK/status-north.txt")" || return 1
    grep -q "^s1 .*$new_s" "$WORK/status-south.txt" && ! grep -q '^n1 ' "$WORK/status-south.txt" \
        || why "status --instance south: $(tr '\n' ';' <"$WORK/status-south.txt")" || return 1

    # Reloading north (a third job) leaves south alone: same process, no reload, same jobs.
    pid_n=$(iprop north MainPID)
    pid_s=$(iprop south MainPID)
    restarts_s=$(iprop south NRestarts)
    # Table and job id only: a job south just created may go pending -> running meanwhile.
    jobs_b=$(on_b live_jobs | cut -d' ' -f1,2 | sort)
    write_config "$WORK/share/north.json" n1 n2 n3
    cexec install -m 0644 "$SHARE_IN/north.json" /etc/polaris-warden/north.json
    mark=$(journal_mark)
    cexec systemctl reload polaris-warden@north.service || why "reload of north failed" || return 1
    wait_for 20 running_job_per_table n3 || why "n3 did not appear after north's reload" || return 1
    wait_for 10 has_instance_event "$mark" north reloaded || why "no reloaded event from north" || return 1
    wait_for 10 instance_status_matches north '^3 jobs' || why "north's STATUS: $(iprop north StatusText)" || return 1
    sleep 3 # more than one poll interval for south
    ! has_instance_event "$mark" south reloaded && ! has_instance_event "$mark" south config-loaded \
        || why "south reloaded when north did" || return 1
    [ "$(iprop north MainPID)" = "$pid_n" ] || why "north's main process changed on reload" || return 1
    [ "$(iprop south MainPID)" = "$pid_s" ] && [ "$(iprop south NRestarts)" = "$restarts_s" ] \
        || why "south restarted (MainPID $pid_s -> $(iprop south MainPID))" || return 1
    instance_status_matches south '^2 jobs' || why "south's STATUS: $(iprop south StatusText)" || return 1
    [ "$(on_b live_jobs | cut -d' ' -f1,2 | sort)" = "$jobs_b" ] \
        || why "south's project changed: before $(tr '\n' ';' <<<"$jobs_b"), now $(on_b live_jobs | tr '\n' ';')" \
        || return 1
    [ -z "$(on_b live_job_id n3)" ] || why "n3 was created in south's project" || return 1
}

# gave_up_or_replaced MARK OLD_ID: pager gave up on p1 since MARK, or replaced OLD_ID.
gave_up_or_replaced() { has_instance_event "$1" pager job-gave-up || replaced p1 "$2"; }

# --- 9. rsyslog: the shipped drop-in hands exactly the job-gave-up event to the script -----
case_rsyslog_alert() {
    local alerts=/var/log/polaris-warden/alerts.jsonl mark i id n
    local dropin=/usr/share/doc/polaris-warden/examples/rsyslog/polaris-warden-alerts.conf
    cexec test -x /usr/libexec/polaris-warden/alert-handler || why "no /usr/libexec/polaris-warden/alert-handler" || return 1
    cexec test -f "$dropin" || why "no $dropin" || return 1
    cexec test -x /usr/sbin/rsyslogd || why "rsyslog is not in the rootfs (Tests/System/build-rootfs.sh)" || return 1
    # The operator's part (docs/alerting.md): copy the drop-in, (re)start rsyslog.
    cexec install -m 0644 "$dropin" /etc/rsyslog.d/60-polaris-warden-alerts.conf
    cexec rsyslogd -N1 >"$WORK/rsyslog-check.log" 2>&1 \
        || why "rsyslogd -N1 rejects the drop-in: $(tail -n 5 "$WORK/rsyslog-check.log")" || return 1
    # enable (not just start): the rootfs ships rsyslog disabled, and syslog.socket needs the
    # syslog.service alias that enabling creates.
    cexec systemctl enable --now rsyslog.service >"$WORK/rsyslog-start.log" 2>&1 \
        || why "rsyslog does not start: $(tail -n 3 "$WORK/rsyslog-start.log")" || return 1
    sleep 1 # imjournal opens the journal at its end

    # An instance whose crash-loop budget is 2 recreates: the third failure gives up.
    write_config "$WORK/share/pager.json" p1
    jq '.supervisor.recreate.maxAttempts = 2' "$WORK/share/pager.json" >"$WORK/share/pager.tmp" \
        && mv "$WORK/share/pager.tmp" "$WORK/share/pager.json"
    install_instance pager api-key || why "cannot install the pager instance" || return 1
    mark=$(journal_mark)
    cexec systemctl start polaris-warden@pager.service || why "polaris-warden@pager does not start" || return 1
    wait_for 20 running_job_per_table p1 || why "p1 never ran" || return 1
    # Fail p1 whenever it runs, until the warden gives up (the third failure).
    for i in 1 2 3 4 5; do
        has_instance_event "$mark" pager job-gave-up && break
        wait_for 20 running_job_per_table p1 || break
        id=$(live_job_id p1)
        emu POST "/_emulator/jobs/$id/fail" '{"code":"internal_error","message":"system test"}' >/dev/null \
            || why "cannot fail p1 ($id)" || return 1
        wait_for 20 gave_up_or_replaced "$mark" "$id"
    done
    wait_for 10 has_instance_event "$mark" pager job-gave-up || why "p1 was never given up ($i failures)" || return 1
    has_instance_event "$mark" pager job-recreated && has_instance_event "$mark" pager job-failed \
        || why "no job-recreated/job-failed before the give-up: the 'nothing routine' check would prove nothing" \
        || return 1

    wait_for 20 cexec test -s "$alerts" || why "the alert script received nothing" || return 1
    sleep 3 # a routine event forwarded by mistake would have arrived by now
    cexec cat "$alerts" >"$WORK/alerts.jsonl"
    n=$(wc -l <"$WORK/alerts.jsonl")
    [ "$n" -eq 1 ] || why "$n alerts, expected only job-gave-up: $(jq -c '{EVENT, POLARIS_JOB, WARDEN_INSTANCE}' "$WORK/alerts.jsonl" | tr '\n' ' ')" || return 1
    jq -e --arg id "$JOB_GAVE_UP_ID" '.MESSAGE_ID == $id and .EVENT == "job-gave-up" and .PRIORITY == "2"
        and .POLARIS_JOB == "p1" and .POLARIS_TABLE == "p1" and .WARDEN_INSTANCE == "pager"
        and ._SYSTEMD_UNIT == "polaris-warden@pager.service" and .ALERT_SEVERITY == "page"
        and (.WARDEN_ATTEMPT | tonumber) >= 2 and (.MESSAGE | length) > 0' "$WORK/alerts.jsonl" >/dev/null \
        || why "the alert lacks fields: $(cat "$WORK/alerts.jsonl")" || return 1
    log "alert: $(jq -c '{EVENT, POLARIS_JOB, WARDEN_INSTANCE, ALERT_SEVERITY, MESSAGE}' "$WORK/alerts.jsonl")"
}

# --- 10. an upgrade restarts a running service (and instances) with the new binary -------
case_upgrade() {
    cexec systemctl start "$UNIT" || why "systemctl start failed" || return 1
    local pid restarts instance
    local -A instance_pids=()
    pid=$(prop MainPID)
    restarts=$(prop NRestarts)
    for instance in "${INSTANCES[@]}"; do
        [ "$(iprop "$instance" ActiveState)" = active ] && instance_pids[$instance]=$(iprop "$instance" MainPID)
    done
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
    [ "${#instance_pids[@]}" -gt 0 ] || why "no template instance was running before the upgrade" || return 1
    for instance in "${!instance_pids[@]}"; do
        [ "$(iprop "$instance" ActiveState)" = active ] \
            && [ "$(iprop "$instance" MainPID)" != "${instance_pids[$instance]}" ] \
            || why "polaris-warden@$instance was not restarted by the upgrade" || return 1
    done
}

# --- 11. removal stops the service and its instances; the jobs keep running -------------
case_remove() {
    cexec dpkg -r polaris-warden >"$WORK/dpkg-remove.log" 2>&1 \
        || why "dpkg -r failed: $(tail -n 5 "$WORK/dpkg-remove.log")" || return 1
    ! cexec test -e /usr/bin/polaris-warden || why "binary still there after dpkg -r" || return 1
    [ "$(prop ActiveState)" != active ] || why "the service still runs after dpkg -r" || return 1
    local instance
    for instance in "${INSTANCES[@]}"; do
        [ "$(iprop "$instance" ActiveState)" != active ] \
            || why "polaris-warden@$instance still runs after dpkg -r" || return 1
    done
    ! contains "$JOB_RECREATED_ID" cexec journalctl --list-catalog "$JOB_RECREATED_ID" \
        || why "the catalog entries remain compiled after dpkg -r" || return 1
    cexec test -f /etc/polaris-warden/config.json || why "dpkg -r removed the admin's config" || return 1
    running_job_per_table alpha beta gamma delta \
        || why "jobs did not keep running after dpkg -r: $(live_jobs | tr '\n' ';')" || return 1
}
