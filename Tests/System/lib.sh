# shellcheck shell=bash
# Helpers of Tests/System/run.sh: the booted container, the host emulator, waiting, cleanup.
# Sourced, not run. Every process, mount and cgroup made here is recorded (pid or path) and
# removed by cleanup, which run.sh calls from its EXIT trap.

CONTAINER_NAME=${CONTAINER_NAME:-polaris-systest}
NSPAWN_PID=""      # systemd-nspawn (inside its own `unshare -m`)
CONTAINER_PID=""   # PID 1 of the container, seen from the host
EMULATOR_PID=""    # polaris-emulator on the host
EMULATOR_PORT=""
EMULATOR_B_PID=""  # a second polaris-emulator: a second Polaris project
EMULATOR_B_PORT=""
CGROUP_NAME=""     # <hierarchy>/$CGROUP_NAME holds nspawn and the container
CGROUP_ROOTS=()    # the cgroup hierarchies we made $CGROUP_NAME in

log() { printf 'system-test: %s\n' "$*" >&2; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# gone PID: the process has exited (bash reaps its background children as they exit).
gone() { ! kill -0 "$1" 2>/dev/null; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.25 s until it succeeds; 1 on timeout.
wait_for() {
    local deadline
    deadline=$(awk -v t="$1" -v n="$(now)" 'BEGIN { printf "%.3f", n + t }')
    shift
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        awk -v d="$deadline" -v n="$(now)" 'BEGIN { exit !(n >= d) }' && return 1
        sleep 0.25
    done
}

# --- the container -----------------------------------------------------------------------

# cexec COMMAND...: runs COMMAND inside the container (all its namespaces, its root), with a
# clean environment so nothing from the host (PATH to the Swift toolchain, HOME, ...) leaks in.
cexec() {
    nsenter -t "$CONTAINER_PID" -m -u -i -n -p -r -w -- \
        /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 \
        TERM=dumb "$@"
}

# The cgroup hierarchies nspawn looks at: v1 name=systemd and the unified one (hybrid), or the
# single cgroup2 tree (unified host).
cgroup_roots() {
    if [ -d /sys/fs/cgroup/systemd ] && [ -f /sys/fs/cgroup/systemd/cgroup.procs ]; then
        echo /sys/fs/cgroup/systemd
        [ -f /sys/fs/cgroup/unified/cgroup.procs ] && echo /sys/fs/cgroup/unified
    elif [ -f /sys/fs/cgroup/cgroup.procs ]; then
        echo /sys/fs/cgroup
    fi
}

# boot_container ROOTFS LOG BIND...: boots ROOTFS with systemd as PID 1 and returns once
# `systemctl is-system-running` says running (or degraded). systemd-notes.md §5:
# its own cgroup first, `unshare -m` with a tmpfs on /run/systemd, --register=no --keep-unit,
# --volatile=overlay so ROOTFS stays pristine.
boot_container() {
    local rootfs=$1 logfile=$2
    shift 2
    local binds=("$@") root
    CGROUP_NAME="polaris-systest-$$"
    mapfile -t CGROUP_ROOTS < <(cgroup_roots)
    [ "${#CGROUP_ROOTS[@]}" -gt 0 ] || { log "no cgroup hierarchy found"; return 1; }
    for root in "${CGROUP_ROOTS[@]}"; do mkdir -p "$root/$CGROUP_NAME"; done
    (
        # This subshell (and so nspawn, which it becomes) moves into the new cgroup; the
        # test shell itself stays where it was.
        for root in "${CGROUP_ROOTS[@]}"; do echo "$BASHPID" >"$root/$CGROUP_NAME/cgroup.procs"; done
        exec unshare --mount --propagation private -- /bin/bash -c '
            mount -t tmpfs -o mode=0755 tmpfs /run/systemd || exit 1
            exec "$@"' nspawn \
            systemd-nspawn --boot --volatile=overlay -D "$rootfs" --machine="$CONTAINER_NAME" \
            --register=no --keep-unit --console=read-only --quiet "${binds[@]}"
    ) </dev/null >"$logfile" 2>&1 &
    NSPAWN_PID=$!
    # PID 1 of the container: nspawn's child in another pid namespace.
    local child children deadline=$((SECONDS + 30))
    while [ -z "$CONTAINER_PID" ]; do
        kill -0 "$NSPAWN_PID" 2>/dev/null || { log "systemd-nspawn exited:"; tail -n 20 "$logfile" >&2; return 1; }
        children=$(cat /proc/"$NSPAWN_PID"/task/*/children 2>/dev/null)
        for child in $children; do
            if [ "$(readlink /proc/"$child"/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] \
                && [ "$(cat /proc/"$child"/comm 2>/dev/null)" = systemd ]; then
                CONTAINER_PID=$child
            fi
        done
        [ "$SECONDS" -lt "$deadline" ] || { log "no container PID 1 after 30 s"; return 1; }
        [ -n "$CONTAINER_PID" ] || sleep 0.1
    done
    # systemctl cannot connect until PID 1 has set up its private socket: poll.
    local state="" deadline=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$deadline" ]; do
        state=$(cexec systemctl is-system-running 2>/dev/null)
        case "$state" in running | degraded | maintenance | stopping) break ;; esac
        kill -0 "$NSPAWN_PID" 2>/dev/null || break
        sleep 0.1
    done
    case "$state" in
        running) return 0 ;;
        degraded)
            log "container is degraded:"
            cexec systemctl --failed --no-legend >&2
            return 0
            ;;
        *) log "container did not boot (state: ${state:-none})"; tail -n 30 "$logfile" >&2; return 1 ;;
    esac
}

# Stops the container cleanly (SIGTERM to nspawn: the container shuts down), then by force.
stop_container() {
    [ -n "$NSPAWN_PID" ] || return 0
    if kill -0 "$NSPAWN_PID" 2>/dev/null; then
        kill -TERM "$NSPAWN_PID" 2>/dev/null
        wait_for 20 gone "$NSPAWN_PID" || { log "nspawn ignored SIGTERM: SIGKILL"; kill -KILL "$NSPAWN_PID" 2>/dev/null; }
    fi
    wait "$NSPAWN_PID" 2>/dev/null
    NSPAWN_PID=""
    CONTAINER_PID=""
}

# Removes the cgroup subtree nspawn made under ours (payload/, supervisor/, ...), killing
# any process still listed in it (there should be none once nspawn is gone).
remove_cgroups() {
    [ -n "$CGROUP_NAME" ] || return 0
    local root pid
    for root in "${CGROUP_ROOTS[@]}"; do
        [ -d "$root/$CGROUP_NAME" ] || continue
        while read -r pid; do
            [ -n "$pid" ] || continue
            log "killing leftover pid $pid in $root/$CGROUP_NAME"
            kill -KILL "$pid" 2>/dev/null
        done < <(find "$root/$CGROUP_NAME" -name cgroup.procs -exec cat {} + 2>/dev/null)
        sleep 0.1
        find "$root/$CGROUP_NAME" -depth -type d -exec rmdir {} \; 2>/dev/null
        [ -d "$root/$CGROUP_NAME" ] && log "could not remove $root/$CGROUP_NAME"
    done
    CGROUP_NAME=""
}

# --- the emulator on the host ------------------------------------------------------------

# start_emulator BINARY KEYFILE PROJECT LOG: polaris-emulator on 127.0.0.1, a free port.
start_emulator() {
    local binary=$1 keyfile=$2 project=$3 logfile=$4
    "$binary" --host 127.0.0.1 --port 0 --project-id "$project" --api-key-file "$keyfile" \
        --start-delay 0.5 </dev/null >"$logfile" 2>&1 &
    EMULATOR_PID=$!
    wait_for 20 grep -q 'listening on http://127.0.0.1:' "$logfile" \
        || { log "emulator did not start:"; cat "$logfile" >&2; return 1; }
    EMULATOR_PORT=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$logfile" | head -n 1)
    [ -n "$EMULATOR_PORT" ]
}

stop_emulator() {
    [ -n "$EMULATOR_PID" ] || return 0
    kill -CONT "$EMULATOR_PID" 2>/dev/null   # in case a test left it stopped
    kill -TERM "$EMULATOR_PID" 2>/dev/null
    wait_for 10 gone "$EMULATOR_PID" || kill -KILL "$EMULATOR_PID" 2>/dev/null
    wait "$EMULATOR_PID" 2>/dev/null
    EMULATOR_PID=""
}

# start_emulator_b BINARY KEYFILE PROJECT LOG: a second emulator (EMULATOR_B_PID, EMULATOR_B_PORT).
start_emulator_b() {
    local pid=$EMULATOR_PID port=$EMULATOR_PORT rc=0
    start_emulator "$@" || rc=1
    EMULATOR_B_PID=$EMULATOR_PID
    EMULATOR_B_PORT=$EMULATOR_PORT
    EMULATOR_PID=$pid
    EMULATOR_PORT=$port
    return "$rc"
}

stop_emulator_b() {
    [ -n "$EMULATOR_B_PID" ] || return 0
    local pid=$EMULATOR_PID
    EMULATOR_PID=$EMULATOR_B_PID
    stop_emulator
    EMULATOR_PID=$pid
    EMULATOR_B_PID=""
}

# on_b COMMAND...: COMMAND (emu, live_jobs, ...) against the second emulator.
on_b() { EMULATOR_PORT=$EMULATOR_B_PORT "$@"; }

# emu METHOD PATH [JSON]: the emulator's admin API.
emu() {
    curl -sf --max-time 5 -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} \
        "http://127.0.0.1:$EMULATOR_PORT$2"
}

# The streaming jobs the emulator holds that are not terminal, as "table id status" lines.
live_jobs() {
    emu GET /_emulator/state | jq -r '.jobs[]
        | select(.type == "streaming")
        | select(.executionStatus as $s | ["failed", "canceled", "succeeded"] | index($s) | not)
        | "\(.target.tableName) \(.id) \(.executionStatus)"'
}
