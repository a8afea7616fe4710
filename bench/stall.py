#!/usr/bin/env python3
"""Stall detection at scale (`make bench-stall`; also run by `make bench`).

The release-built warden (`polaris-warden run`, a real process) supervises N jobs seeded in the
release-built emulator (their counters grow at the emulator's default 1,000 rows/s) with stall
detection on: `supervisor.stall` = {afterSeconds 6, action report, metricsShare 0.5},
`pollIntervalSeconds` 2 and `maxRequestsPerSecond` 1,000 (the highest the config accepts), so
the metrics budget (0.5 × 1,000 × 2 s = 1,000 reads a poll) reads every job every poll up to
1,000 jobs (the sample interval is one poll). A `NOTIFY_SOCKET` this script reads marks the cycles (`STATUS=` after each).

For each N, once adoption's drift checks are done (a whole cycle without `GET /jobs/{id}`):

  * metrics requests per second: `GET /jobs/{id}/metrics` at the emulator (its counters) over
    --window cycles, divided by the wall time between their `STATUS=` notifications; reads per
    cycle; the busiest 1 s (the emulator's request log, completion times), against the budget
    (metricsShare × maxRequestsPerSecond, a per-poll budget); the warden's CPU per cycle;
  * detection time: --stalls jobs spread over the round robin's name order are stalled through
    the admin API (`POST /_emulator/jobs/{id}/stall`) at random moments within two polls (so the
    moment falls anywhere in the cycle); each one's time from the stall call to the moment its
    `job-stalled` line (stall detection's, with WARDEN_STALL_SEC) appears in the warden's output
    (read every 0.1 s), against the target afterSeconds + 2 poll intervals. A `job-stalled`
    about a job that was not stalled counts as a false report.

Prints a table and writes it between the `<!-- stall -->` markers of BENCHMARKS.md, placed after
the `<!-- notes -->` marker so that `bench/run.py` (which rewrites everything above it except
the incident block) keeps it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

BEGIN, END = "<!-- stall -->", "<!-- /stall -->"
NOTES = "<!-- notes -->"
METRICS_ROUTE = "GET /jobs/{jobId}/metrics"
STALL_EVENT = re.compile(r" job-stalled .*\[(?=[^\]]*WARDEN_STALL_SEC=)[^\]]*POLARIS_JOB_ID=\"?([0-9A-Za-z-]+)")


def busiest_second(stamps):
    stamps = sorted(stamps)
    busiest, low = 0, 0
    for high in range(len(stamps)):
        while stamps[high] - stamps[low] >= 1.0:
            low += 1
        busiest = max(busiest, high - low + 1)
    return busiest


def run_one(jobs, args, rng):
    warden_bin, emulator_bin = harness.binaries()
    work = harness.workdir("warden-bench-stall-")
    key = harness.new_api_key()
    emulator = harness.Emulator(emulator_bin, work, key, seed_jobs=jobs, start_delay=1)
    notify = harness.NotifySocket(os.path.join(work, "notify.sock"))
    tables = [f"{harness.SEED_TABLE_PREFIX}{i}" for i in range(jobs)]
    stall = {"afterSeconds": args.after, "action": "report", "metricsShare": args.share}
    config = harness.warden_config(emulator.port, tables, args.poll, rate=args.rate, timeout=5,
                                   supervisor_extra={"stall": stall})
    warden = harness.Warden(warden_bin, work, config, key, notify)
    budget = max(1, int(args.share * args.rate * args.poll))
    result = {"jobs": jobs, "poll": args.poll, "after": args.after, "rate": args.rate, "share": args.share,
              "budget_per_cycle": budget, "sample_interval_polls": -(-jobs // budget)}
    try:
        warden.start()
        def ready():
            if not warden.alive():
                raise RuntimeError(f"the warden exited: {warden.output()[-600:]}")
            return notify.first("READY=1")

        harness.wait_for(ready, timeout=300, what="READY=1")
        print(f"stall: {jobs} jobs adopted, waiting for adoption's drift checks ...", flush=True)
        warm = time.monotonic()
        while True:
            emulator.clear_requests()
            mark = len(notify.cycle_ends())
            harness.wait_for(lambda: len(notify.cycle_ends()) >= mark + 1, timeout=args.poll * 4 + 120, what="a cycle")
            if not any(r["route"] == "GET /jobs/{jobId}" for r in emulator.requests()):
                break
            if time.monotonic() - warm > 600:
                raise TimeoutError("adoption drift checks did not finish in 10 minutes")
        result["warm_up_s"] = time.monotonic() - warm

        # Metrics requests per second over whole cycles (cycle end to cycle end).
        print(f"stall: {jobs} jobs: metrics reads over {args.window} cycles ...", flush=True)
        mark = len(notify.cycle_ends())
        harness.wait_for(lambda: len(notify.cycle_ends()) >= mark + 1, timeout=args.poll * 4 + 60, what="a cycle")
        emulator.clear_requests()
        start_wall = notify.cycle_ends()[-1]
        start_count = emulator.counters()["byRoute"].get(METRICS_ROUTE, 0)
        start_cpu = warden.cpu_seconds()
        mark = len(notify.cycle_ends())
        harness.wait_for(lambda: len(notify.cycle_ends()) >= mark + args.window, timeout=args.poll * args.window * 4 + 60,
                 what=f"{args.window} cycles")
        end_wall = notify.cycle_ends()[mark + args.window - 1]
        end_cpu = warden.cpu_seconds()
        counters = emulator.counters()["byRoute"]
        records = emulator.requests()
        reads = counters.get(METRICS_ROUTE, 0) - start_count
        span = end_wall - start_wall
        stamps = [harness.parse_ts(r["timestamp"]) for r in records if r["route"] == METRICS_ROUTE]
        per_job = {}
        for r in records:
            if r["route"] == METRICS_ROUTE:
                per_job[r["path"]] = per_job.get(r["path"], 0) + 1
        result.update(
            window_cycles=args.window, window_s=span, metrics_reads=reads, reads_per_s=reads / span,
            reads_per_cycle=reads / args.window, busiest_second=busiest_second(stamps),
            jobs_read=len(per_job), cycle_period_s=span / args.window,
            cpu_ms_per_cycle=(end_cpu - start_cpu) * 1000 / args.window,
            other_requests=sum(1 for r in records if r["route"] != METRICS_ROUTE))

        # Detection: stall jobs spread over the name order, at random moments within two polls.
        by_name = sorted((f"job-{(j.get('target') or {}).get('tableName')}", j["id"])
                         for j in emulator.state()["jobs"] if j["executionStatus"] == "running")
        count = min(args.stalls, len(by_name))
        picks = [by_name[(i * len(by_name)) // count] for i in range(count)]
        offsets = sorted(rng.uniform(0, 2 * args.poll) for _ in picks)
        print(f"stall: {jobs} jobs: stalling {count} of them within {2 * args.poll:g} s ...", flush=True)
        stalled_at, seen, false_reports = {}, {}, set()
        begin = time.time()
        pending = list(zip(offsets, picks))

        def scan():
            now = time.time()
            for match in STALL_EVENT.finditer(warden.output()):
                jid = match.group(1)
                if jid in stalled_at:
                    seen.setdefault(jid, now)
                elif jid not in seen:
                    false_reports.add(jid)

        target = args.after + 2 * args.poll
        deadline = begin + 2 * args.poll + target * 3 + 10
        while time.time() < deadline:
            now = time.time()
            while pending and now - begin >= pending[0][0]:
                _, (_, jid) = pending.pop(0)
                emulator.admin("POST", f"/_emulator/jobs/{jid}/stall")
                stalled_at[jid] = time.time()
            scan()
            if not pending and len(seen) == count:
                break
            time.sleep(0.1)
        detections = sorted(seen[j] - stalled_at[j] for j in seen)
        result.update(
            stalls=count, detected=len(detections), false_reports=len(false_reports), target_s=target,
            detect_min_s=min(detections, default=float("nan")),
            detect_p50_s=harness.percentile(detections, 50), detect_max_s=max(detections, default=float("nan")),
            within_target=sum(1 for d in detections if d <= target), warden_alive=warden.alive())
        return result
    finally:
        warden.stop()
        notify.close()
        emulator.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def fmt(value, digits=1):
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def render(results):
    lines = [
        "| jobs | metrics reads/s | reads/cycle | busiest 1 s | budget (share × rate) | jobs read | cycle period s "
        "| CPU ms/cycle | stalls detected | detection min / p50 / max s | target | met (within) "
        "| afterSeconds + 2 measured cycles | false reports |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        met = r["detected"] == r["stalls"] and r["within_target"] == r["stalls"]
        measured_bound = r["after"] + 2 * r["cycle_period_s"]
        within_measured = r["detected"] == r["stalls"] and r["detect_max_s"] <= measured_bound
        lines.append(
            f"| {r['jobs']:,} | {fmt(r['reads_per_s'])} | {fmt(r['reads_per_cycle'])} | {r['busiest_second']} "
            f"| {fmt(r['share'] * r['rate'], 0)}/s ({r['budget_per_cycle']:,} a poll) | {r['jobs_read']:,} "
            f"| {fmt(r['cycle_period_s'], 2)} | {fmt(r['cpu_ms_per_cycle'], 0)} | {r['detected']}/{r['stalls']} "
            f"| {fmt(r['detect_min_s'])} / {fmt(r['detect_p50_s'])} / {fmt(r['detect_max_s'])} "
            f"| ≤ {fmt(r['target_s'], 0)} s | {'yes' if met else '**no**'} ({r['within_target']}/{r['stalls']}) "
            f"| {fmt(measured_bound)} s ({'met' if within_measured else '**missed**'}) | {r['false_reports']} |")
    return "\n".join(lines)


def write_markdown(path, results, meta, argv):
    r0 = results[0]
    block = [
        BEGIN,
        "## Stall detection: metrics reads and detection time", "",
        f"Generated by `make bench-stall` (`bench/stall.py`): {meta['date']}, commit `{meta['commit']}` (working "
        f"tree may differ), nproc {meta['nproc']}, `{' '.join(['python3 bench/stall.py'] + argv)}`.", "",
        f"The release warden (`polaris-warden run`) and emulator as processes on loopback; `supervisor.stall` = "
        f"{{afterSeconds {fmt(r0['after'], 0)}, action report, metricsShare {r0['share']:g}}}, "
        f"`pollIntervalSeconds` {fmt(r0['poll'], 0)}, `maxRequestsPerSecond` {fmt(r0['rate'], 0)}: a budget of "
        f"{r0['budget_per_cycle']:,} metrics reads a poll, so every job is read every poll (sample interval = one "
        f"poll). Reads: `GET /jobs/{{id}}/metrics` at the emulator over {r0['window_cycles']} whole cycles after "
        f"adoption's drift checks; busiest 1 s from the emulator's request log. Detection: {r0['stalls']} jobs "
        f"spread over the round robin's name order stalled through the admin API at random moments within two "
        f"polls; time from the stall call to its `job-stalled` line in the warden's output (read every 0.1 s); "
        f"target afterSeconds + 2 poll intervals (issue 15), and for comparison the bound with the measured cycle "
        f"period (a cycle starts a poll interval + up to 10 % jitter after the last one ended).", "",
        render(results),
        END,
    ]
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n" + NOTES + "\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + "\n".join(block) + text[text.index(END) + len(END):]
    else:
        # after the notes marker (bench/run.py keeps everything from it on), after the other
        # generated blocks there, before the hand-written notes
        anchor = "<!-- /config-load -->" if "<!-- /config-load -->" in text else NOTES
        if anchor not in text:
            text = text.rstrip("\n") + "\n\n" + NOTES + "\n"
            anchor = NOTES
        i = text.index(anchor) + len(anchor)
        text = text[:i] + "\n\n" + "\n".join(block) + text[i:]
    with open(path, "w") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", default="100,1000", help="comma-separated job counts")
    parser.add_argument("--poll", type=float, default=2)
    parser.add_argument("--after", type=float, default=6, help="stall.afterSeconds (at least 3 polls)")
    parser.add_argument("--rate", type=float, default=1000, help="maxRequestsPerSecond (at most 1000)")
    parser.add_argument("--share", type=float, default=0.5, help="stall.metricsShare")
    parser.add_argument("--window", type=int, default=5, help="cycles over which reads are counted")
    parser.add_argument("--stalls", type=int, default=30, help="jobs stalled per job count")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directories")
    parser.add_argument("--output", default=os.path.join(harness.REPO, "BENCHMARKS.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 100000)
    rng = random.Random(seed)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=harness.REPO, capture_output=True,
                                     text=True).stdout.strip() or "unknown",
            "nproc": os.cpu_count(), "seed": seed}
    results = [run_one(int(n), args, rng) for n in args.jobs.split(",")]
    for r in results:
        print(json.dumps(r), flush=True)
    print()
    print(render(results))
    verdicts = []
    for r in results:
        verdicts += [
            (f"{r['jobs']} jobs: every stall reported", r["detected"] == r["stalls"], f"{r['detected']}/{r['stalls']}"),
            (f"{r['jobs']} jobs: detection ≤ afterSeconds + 2 polls", r["within_target"] == r["stalls"],
             f"max {fmt(r['detect_max_s'])} s of {fmt(r['target_s'], 0)} s"),
            (f"{r['jobs']} jobs: no false report", r["false_reports"] == 0, str(r["false_reports"])),
            (f"{r['jobs']} jobs: reads per cycle within the budget", r["reads_per_cycle"] <= r["budget_per_cycle"],
             f"{fmt(r['reads_per_cycle'])} of {r['budget_per_cycle']}"),
            (f"{r['jobs']} jobs: the warden still runs", r["warden_alive"], str(r["warden_alive"])),
        ]
    for name, ok, value in verdicts:
        print(f"{'ok  ' if ok else 'MISS'} {name}: {value}")
    if not args.no_write:
        write_markdown(args.output, results, meta, sys.argv[1:])
        print(f"\nwrote {args.output}")
    sys.exit(0 if all(ok for _, ok, _ in verdicts) else 1)


if __name__ == "__main__":
    main()
