#!/usr/bin/env python3
"""1,000 jobs failing at once (`make bench-incident`; also run by `make bench`).

The release-built warden (`polaris-warden run`, a real process) supervises N jobs seeded in the
release-built emulator, with `maxRequestsPerSecond` 10, `pollIntervalSeconds` 5,
`requestTimeoutSeconds` 5 and systemd's watchdog on: `WATCHDOG_USEC` (the unit's `WatchdogSec=`,
30 s) and a `NOTIFY_SOCKET` this script reads (an AF_UNIX datagram socket). Once adoption's drift
checks are done (steady state), every job is failed through the emulator's admin API at once
(`POST /_emulator/jobs/{id}/fail`, from 16 threads). Measured:

  * time to heal all: from the first injected failure until every table has a new running job
    with health ok (the emulator's state, read every 2 s), against N / rate + 3 polls;
  * every gap between `WATCHDOG=1` pings from start to the end (never more than WatchdogSec,
    i.e. never late), and that no `WATCHDOG=trigger` was sent;
  * the `STATUS=` lines during the heal (`healing k/N (10/s, ~s left)`), and the creates' rate
    at the emulator (its request log).

Prints a table row and writes it between the `<!-- incident -->` markers of BENCHMARKS.md
(`bench/run.py` keeps that block when it rewrites the rest).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

BEGIN, END = "<!-- incident -->", "<!-- /incident -->"
ROW_NAME = "1,000 jobs failing at once: time to heal all, watchdog pings never late"


def statuses(notify):
    """(monotonic time, STATUS text) of every notification that carries one."""
    out = []
    for stamp, message in list(notify.messages):
        for line in message.split("\n"):
            if line.startswith("STATUS="):
                out.append((stamp, line[len("STATUS="):]))
    return out


def pings(notify, key):
    return [stamp for stamp, message in list(notify.messages) if key in message.split("\n")]


def run(jobs, rate, poll, timeout, watchdog_sec, keep):
    warden_bin, emulator_bin = harness.binaries()
    work = harness.workdir("warden-bench-incident-")
    key = harness.new_api_key()
    emulator = harness.Emulator(emulator_bin, work, key, seed_jobs=jobs, start_delay=1)
    notify = harness.NotifySocket(os.path.join(work, "notify.sock"))
    tables = [f"{harness.SEED_TABLE_PREFIX}{i}" for i in range(jobs)]
    config = harness.warden_config(emulator.port, tables, poll, rate=rate, timeout=timeout)
    warden = harness.Warden(warden_bin, work, config, key, notify,
                            extra_env={"WATCHDOG_USEC": str(int(watchdog_sec * 1_000_000))})
    result = {"jobs": jobs, "rate": rate, "poll": poll, "timeout": timeout, "watchdog_sec": watchdog_sec,
              "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=harness.REPO, capture_output=True,
                                       text=True).stdout.strip() or "unknown",
              "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        warden.start()
        harness.wait_for(lambda: notify.first("READY=1"), timeout=300, what="READY=1")
        result["ready_s"] = notify.first("READY=1") - warden.started_at
        # Steady state: adoption checks each adopted job's spec once (a bounded number per
        # cycle); wait for a whole cycle without such a GET.
        print(f"incident: {jobs} jobs adopted, waiting for adoption's drift checks ...", flush=True)
        warm = time.monotonic()
        while True:
            emulator.clear_requests()
            mark = len(notify.cycle_ends())
            harness.wait_for(lambda: len(notify.cycle_ends()) >= mark + 1, timeout=poll * 4 + 120, what="a cycle")
            if not any(r["method"] == "GET" and "/jobs/" in r["path"] for r in emulator.requests()):
                break
            if time.monotonic() - warm > 1800:
                raise TimeoutError("adoption drift checks did not finish in 30 minutes")
        result["warm_up_s"] = time.monotonic() - warm
        emulator.clear_requests()

        state = emulator.state()["jobs"]
        failed = {j["id"]: harness.parse_ts(j["createdTimestamp"]) for j in state
                  if j["executionStatus"] == "running"}
        if len(failed) != jobs:
            raise RuntimeError(f"{len(failed)} running jobs before the failure, expected {jobs}")
        print(f"incident: failing all {jobs} jobs at once ...", flush=True)
        fail_start_mono = time.monotonic()

        def fail(jid):
            emulator.admin("POST", f"/_emulator/jobs/{jid}/fail",
                           {"code": "internal_error", "message": "bench: everything failed at once"})

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(fail, failed))
        fail_end_mono = time.monotonic()
        result["injection_s"] = fail_end_mono - fail_start_mono

        progress = []  # (seconds since the first failure, healed tables)

        def healed():
            current = emulator.state()["jobs"]
            good = {(j.get("target") or {}).get("tableName") for j in current
                    if j["executionStatus"] == "running" and (j.get("health") or {}).get("status") == "ok"
                    and j["id"] not in failed}
            progress.append((time.monotonic() - fail_start_mono, len(good)))
            return len(good) >= jobs

        target = jobs / rate + 3 * poll
        # the full state of 2,000 jobs every 2 s: coarse, and light on a 2-core machine
        harness.wait_for(healed, timeout=target * 3 + 120, period=2.0, what="every job running again")
        result["heal_s"] = progress[-1][0]
        result["heal_after_injection_s"] = time.monotonic() - fail_end_mono
        result["target_s"] = target
        time.sleep(poll * 1.2)  # a cycle after the heal: its STATUS= and pings
        end_mono = time.monotonic()

        # Watchdog: every WATCHDOG=1 gap from READY=1 (the first ping comes half an interval
        # after start) to the end, and no trigger at all.
        ping_times = [warden.started_at] + [t for t in pings(notify, "WATCHDOG=1") if t <= end_mono]
        gaps = [b - a for a, b in zip(ping_times, ping_times[1:])]
        heal_gaps = [b - a for a, b in zip(ping_times, ping_times[1:]) if b >= fail_start_mono]
        result.update(
            pings=len(ping_times) - 1, max_gap_s=max(gaps), max_gap_during_heal_s=max(heal_gaps, default=float("nan")),
            late=sum(1 for g in gaps if g > watchdog_sec), triggers=len(pings(notify, "WATCHDOG=trigger")))

        # STATUS lines during the heal.
        healing = [(t - fail_start_mono, text) for t, text in statuses(notify)
                   if t >= fail_start_mono and t <= end_mono and re.search(r"healing \d+/\d+", text)]
        result["status_healing_lines"] = len(healing)
        picks = [healing[0], healing[len(healing) // 2], healing[-1]] if healing else []
        result["status_samples"] = [f"+{t:.0f}s: {text}" for t, text in picks]
        result["status_max_k"] = max((int(re.search(r"healing (\d+)/", text).group(1)) for _, text in healing),
                                     default=0)

        # Creates at the emulator: count and the busiest 1 s (completion times).
        records = [r for r in emulator.requests() if r["route"] == "POST /jobs"]
        stamps = sorted(harness.parse_ts(r["timestamp"]) for r in records)
        busiest, low = 0, 0
        for high in range(len(stamps)):
            while stamps[high] - stamps[low] >= 1.0:
                low += 1
            busiest = max(busiest, high - low + 1)
        result.update(creates=len(records), creates_201=sum(1 for r in records if r.get("status") == 201),
                      busiest_second=busiest, requests=len(emulator.requests()))
        result["progress"] = [(round(t, 1), k) for t, k in progress[:: max(1, len(progress) // 12)]] + \
            [(round(progress[-1][0], 1), progress[-1][1])]
        result["warden_alive"] = warden.alive()
        return result
    finally:
        warden.stop()
        notify.close()
        emulator.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def fmt(value, digits=1):
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def render(r):
    ok_heal = r["heal_s"] <= r["target_s"]
    lines = [
        "| scenario | jobs | rate | poll | time to heal all | target | WATCHDOG=1 max gap (during heal) | late pings | "
        "WATCHDOG=trigger | STATUS `healing k/N` lines | creates (busiest 1 s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {ROW_NAME} | {r['jobs']} | {fmt(r['rate'], 0)}/s | {fmt(r['poll'], 0)} s | {fmt(r['heal_s'])} s "
        f"| ≤ {fmt(r['target_s'], 0)} s ({'met' if ok_heal else '**missed**'}) "
        f"| {fmt(r['max_gap_s'])} s ({fmt(r['max_gap_during_heal_s'])} s) of {fmt(r['watchdog_sec'], 0)} s "
        f"| {r['late']} | {r['triggers']} | {r['status_healing_lines']} | {r['creates']} ({r['busiest_second']}) |",
    ]
    return "\n".join(lines)


def write_markdown(path, r, args):
    samples = "; ".join(f"`{s}`" for s in r["status_samples"])
    block = [
        BEGIN,
        "## 1,000 jobs failing at once", "",
        f"Generated by `make bench-incident` (`bench/incident.py`): {r['date']}, commit `{r['commit']}` (working "
        f"tree may differ), nproc {os.cpu_count()}, `{' '.join(['python3 bench/incident.py'] + args)}`.", "",
        f"The release warden (`polaris-warden run`) with `WATCHDOG_USEC` = {fmt(r['watchdog_sec'], 0)} s (the unit's "
        f"`WatchdogSec=`) and a `NOTIFY_SOCKET` read by the script; `maxRequestsPerSecond` {fmt(r['rate'], 0)}, "
        f"`pollIntervalSeconds` {fmt(r['poll'], 0)}, `requestTimeoutSeconds` {fmt(r['timeout'], 0)}; {r['jobs']} "
        f"jobs adopted, then (after adoption's drift checks, {fmt(r['warm_up_s'], 0)} s) all failed through the "
        f"emulator's admin API within {fmt(r['injection_s'])} s. Time to heal all: from the first failure until "
        f"every table has a new running job with health ok; target N / rate + 3 polls. Watchdog gaps from the "
        f"start to one poll after the heal ({r['pings']} pings).", "",
        render(r), "",
        f"STATUS during the heal: {samples}.",
        END,
    ]
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n<!-- notes -->\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + "\n".join(block) + text[text.index(END) + len(END):]
    elif "<!-- notes -->" in text:
        i = text.index("<!-- notes -->")
        text = text[:i] + "\n".join(block) + "\n\n" + text[i:]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(block) + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--poll", type=float, default=5)
    parser.add_argument("--timeout", type=float, default=5)
    parser.add_argument("--watchdog-sec", type=float, default=30, help="WATCHDOG_USEC in seconds (WatchdogSec=)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--output", default=os.path.join(harness.REPO, "BENCHMARKS.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    r = run(args.jobs, args.rate, args.poll, args.timeout, args.watchdog_sec, args.keep)
    print(json.dumps(r), flush=True)
    print()
    print(render(r))
    print("\nSTATUS during the heal: " + "; ".join(r["status_samples"]))
    verdicts = [
        ("time to heal all ≤ N / rate + 3 polls", r["heal_s"] <= r["target_s"], f"{fmt(r['heal_s'])} s"),
        ("no WATCHDOG=1 gap longer than WatchdogSec", r["late"] == 0, f"max {fmt(r['max_gap_s'])} s"),
        ("no WATCHDOG=trigger", r["triggers"] == 0, str(r["triggers"])),
        ("STATUS shows the heal's progress", r["status_healing_lines"] > 0, f"{r['status_healing_lines']} lines"),
        ("the warden still runs", r["warden_alive"], str(r["warden_alive"])),
    ]
    for name, ok, value in verdicts:
        print(f"{'ok  ' if ok else 'MISS'} {name}: {value}")
    if not args.no_write:
        write_markdown(args.output, r, sys.argv[1:])
        print(f"\nwrote {args.output}")
    sys.exit(0 if all(ok for _, ok, _ in verdicts) else 1)


if __name__ == "__main__":
    main()
