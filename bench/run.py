#!/usr/bin/env python3
"""polaris-warden benchmarks (`make bench`): the release-built warden as a real process against
the release-built emulator, on loopback.

Measures, per job count N (`--jobs 100,1000,10000`):
  * API requests per steady-state cycle vs the structural target
    ceil(listed/1000) list pages + 1 connection listing + the writes the cycle needed;
  * cycle duration p50/p99 (first list request of the cycle -> its STATUS= notification);
  * warden CPU per cycle (utime+stime from /proc/PID/stat over whole cycles / cycles);
  * peak (VmHWM) and steady (VmRSS) RSS; start -> READY=1 on a test NOTIFY_SOCKET.
Plus idle RSS with 10 jobs, and time to recover from injected job failures at poll 2 s and 5 s.

Prints a table and rewrites the generated part of BENCHMARKS.md (text after the
`<!-- notes -->` marker is kept).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import math
import os
import random
import shutil
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# A shorter default poll than harness.wait_for: the scale run times cycles closely.
wait_for = functools.partial(harness.wait_for, period=0.05)
from harness import percentile  # noqa: E402

TARGET_CPU_MS_10K = 150
TARGET_PEAK_RSS_MB_10K = 60
TARGET_IDLE_RSS_MB = 20


class Sampler(threading.Thread):
    """Samples the warden's memory; cycle ends come from its STATUS= notifications."""

    def __init__(self, warden: harness.Warden, notify: harness.NotifySocket, period=0.02):
        super().__init__(daemon=True)
        self.warden = warden
        self.notify = notify
        self.period = period
        self.peak_rss_kib = 0
        self._halt = threading.Event()

    @property
    def writes(self) -> list[float]:
        return self.notify.cycle_ends()

    def run(self):
        while not self._halt.is_set():
            try:
                self.peak_rss_kib = max(self.peak_rss_kib, self.warden.memory_kib().get("VmRSS", 0))
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(self.period)

    def stop(self):
        self._halt.set()
        self.join(timeout=2)


def group_cycles(records, poll):
    """Splits a request log into cycles. One `GET /jobs` with paginationOffset=0 starts a cycle;
    the log records completion times and the connection listing runs concurrently with the
    first page, so records are grouped by the idle gap between cycles (> poll/2) and each group
    must hold exactly one first page."""
    cycles = []
    last = None
    for record in sorted(records, key=lambda r: harness.parse_ts(r["timestamp"])):
        stamp = harness.parse_ts(record["timestamp"])
        if last is None or stamp - last > poll / 2:
            cycles.append([])
        cycles[-1].append(record)
        last = stamp
    for cycle in cycles:
        starts = sum(1 for r in cycle if harness.is_cycle_start(r))
        if starts != 1:
            raise RuntimeError(f"a request group holds {starts} cycle starts: {[(r['method'], r['path']) for r in cycle][:20]}")
    return cycles


def scale_run(warden_bin, emulator_bin, n, cycles, poll, keep):
    work = harness.workdir(f"warden-bench-{n}-")
    key = harness.new_api_key()
    result = {"jobs": n}
    emulator = harness.Emulator(emulator_bin, work, key, seed_jobs=n, start_delay=1)
    notify = harness.NotifySocket(os.path.join(work, "notify.sock"))
    tables = [f"{harness.SEED_TABLE_PREFIX}{i}" for i in range(n)]
    warden = harness.Warden(warden_bin, work, harness.warden_config(emulator.port, tables, poll), key, notify)
    try:
        warden.start()
        ready = wait_for(lambda: notify.first("READY=1"), timeout=600, what="READY=1")
        result["ready_s"] = ready - warden.started_at
        sampler = Sampler(warden, notify)
        sampler.start()
        # Warm-up: adoption checks each adopted job's spec once (one `GET /jobs/{id}` each),
        # spread over the first cycles (a per-cycle budget). Steady state starts after the first
        # cycle with no such GET; measure from the idle gap after it ended.
        wait_for(lambda: len(sampler.writes) >= 2, timeout=600, what="warm-up cycles")
        adoption_cycles = 0
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            emulator.clear_requests()
            mark = len(sampler.writes)
            wait_for(lambda: len(sampler.writes) >= mark + 1, timeout=120, period=0.01, what="a warm-up cycle")
            drift_gets = [r for r in emulator.requests()
                          if r["method"] == "GET" and "/jobs/" in r["path"]]
            if not drift_gets:
                break
            adoption_cycles += 1
        result["adoption_cycles"] = adoption_cycles
        base_writes = len(sampler.writes)
        time.sleep(0.05)
        emulator.clear_requests()
        cpu0 = warden.cpu_seconds()
        wait_for(lambda: len(sampler.writes) >= base_writes + cycles, timeout=cycles * (poll * 1.2 + 30),
                 period=0.01, what=f"{cycles} cycles")
        time.sleep(0.05)
        cpu1 = warden.cpu_seconds()
        memory = warden.memory_kib()
        records = emulator.requests()
        ends = sampler.writes[base_writes:]
        sampler.stop()
        listed = len([j for j in emulator.state()["jobs"] if j.get("type") == "streaming"])
        per_cycle = group_cycles(records, poll)
        structural = max(1, math.ceil(listed / 1000)) + 1
        counts, writes, extra_gets, durations = [], [], [], []
        for index, cycle in enumerate(per_cycle):
            start = harness.parse_ts(cycle[0]["timestamp"])
            cycle_writes = sum(1 for r in cycle if r["method"] != "GET")
            gets_beyond = sum(1 for r in cycle if r["method"] == "GET") - structural
            counts.append(len(cycle))
            writes.append(cycle_writes)
            extra_gets.append(gets_beyond)
            end = next((e for e in ends if e >= start), None)
            if end is not None:
                durations.append(end - start)
        result.update(
            cycles=len(per_cycle), listed=listed, structural=structural,
            requests_per_cycle=(sum(counts) / len(counts)) if counts else float("nan"),
            requests_min=min(counts, default=0), requests_max=max(counts, default=0),
            writes_per_cycle=(sum(writes) / len(writes)) if writes else 0,
            extra_gets=sum(extra_gets),
            exact=bool(counts) and all(c == structural + w for c, w in zip(counts, writes)) and sum(extra_gets) == 0,
            cycle_p50_ms=percentile(durations, 50) * 1000, cycle_p99_ms=percentile(durations, 99) * 1000,
            cpu_ms_per_cycle=(cpu1 - cpu0) * 1000 / max(1, len(per_cycle)),
            peak_rss_mb=memory.get("VmHWM", 0) / 1024, steady_rss_mb=memory.get("VmRSS", 0) / 1024,
            routes=sorted({r["route"] for r in records}))
        if len(per_cycle) != cycles:
            result["note"] = f"expected {cycles} cycles, request log shows {len(per_cycle)}"
        return result
    finally:
        warden.stop()
        notify.close()
        emulator.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def idle_run(warden_bin, emulator_bin, keep):
    work = harness.workdir("warden-bench-idle-")
    key = harness.new_api_key()
    emulator = harness.Emulator(emulator_bin, work, key, seed_jobs=10, start_delay=1)
    tables = [f"{harness.SEED_TABLE_PREFIX}{i}" for i in range(10)]
    warden = harness.Warden(warden_bin, work, harness.warden_config(emulator.port, tables, 1, rate=20), key)
    try:
        warden.start()
        time.sleep(8)  # several cycles
        memory = warden.memory_kib()
        return {"idle_rss_mb": memory["VmRSS"] / 1024, "idle_hwm_mb": memory["VmHWM"] / 1024}
    finally:
        warden.stop()
        emulator.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def recovery_run(warden_bin, emulator_bin, poll, failures, spread_seconds, jobs, keep, seed):
    """Fails `failures` running jobs spread over `spread_seconds`; the recovery time of each is
    replacement.createdTimestamp - failed.lastUpdatedTimestamp, both from the emulator."""
    rng = random.Random(seed)
    work = harness.workdir(f"warden-bench-recover-{poll}-")
    key = harness.new_api_key()
    emulator = harness.Emulator(emulator_bin, work, key, seed_jobs=jobs, start_delay=0.5)
    tables = [f"{harness.SEED_TABLE_PREFIX}{i}" for i in range(jobs)]
    warden = harness.Warden(warden_bin, work, harness.warden_config(emulator.port, tables, poll, rate=100), key)
    injected = []  # (table, job id)
    try:
        warden.start()
        time.sleep(poll * 2 + 2)
        interval = spread_seconds / failures
        next_at = time.monotonic()
        in_flight: set[str] = set()
        while len(injected) < failures:
            state = emulator.state()["jobs"]
            live = {}
            for job in state:
                table = (job.get("target") or {}).get("tableName")
                if job["executionStatus"] in ("running",) and table:
                    live[table] = job["id"]
            # a table is in flight until a running replacement exists
            in_flight = {t for t in in_flight if t not in live or live[t] in {i for tt, i in injected if tt == t}}
            candidates = [t for t in tables if t in live and t not in in_flight]
            now = time.monotonic()
            if now < next_at or not candidates:
                time.sleep(0.05)
                continue
            table = rng.choice(candidates)
            code = rng.choice(["internal_error", "unable_to_proceed", "lost_connection_to_source", "oom"])
            emulator.admin("POST", f"/_emulator/jobs/{live[table]}/fail", {"code": code})
            injected.append((table, live[table]))
            in_flight.add(table)
            next_at += interval
        # wait for every failed table to have a replacement
        def all_replaced():
            state = emulator.state()["jobs"]
            return all(any(j.get("target", {}).get("tableName") == t and j["id"] != jid and
                           harness.parse_ts(j["createdTimestamp"]) > harness.parse_ts(by_id(state, jid)["lastUpdatedTimestamp"])
                           for j in state) for t, jid in injected) and state
        state = wait_for(all_replaced, timeout=poll * 6 + 60, period=0.2, what="replacements")
        delays = []
        for table, jid in injected:
            failed_at = harness.parse_ts(by_id(state, jid)["lastUpdatedTimestamp"])
            created = sorted(harness.parse_ts(j["createdTimestamp"]) for j in state
                             if j.get("target", {}).get("tableName") == table and j["id"] != jid
                             and harness.parse_ts(j["createdTimestamp"]) > failed_at)
            delays.append(created[0] - failed_at)
        return {"poll": poll, "failures": len(injected), "p50_s": percentile(delays, 50),
                "p99_s": percentile(delays, 99), "max_s": max(delays), "target_s": poll + 1}
    finally:
        warden.stop()
        emulator.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def by_id(state, jid):
    for job in state:
        if job["id"] == jid:
            return job
    raise KeyError(jid)


def fmt(value, digits=1):
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def render(scale, idle, recovery):
    lines = []
    head = ("| jobs | listed | req/cycle (min–max) | structural target | writes/cycle | exact | "
            "cycle p50 ms | cycle p99 ms | CPU ms/cycle | peak RSS MB | steady RSS MB | READY s |")
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for r in scale:
        lines.append(
            f"| {r['jobs']} | {r['listed']} | {fmt(r['requests_per_cycle'], 2)} ({r['requests_min']}–{r['requests_max']}) "
            f"| {r['structural']} + writes | {fmt(r['writes_per_cycle'], 2)} | {'yes' if r['exact'] else 'NO'} "
            f"| {fmt(r['cycle_p50_ms'])} | {fmt(r['cycle_p99_ms'])} | {fmt(r['cpu_ms_per_cycle'])} "
            f"| {fmt(r['peak_rss_mb'])} | {fmt(r['steady_rss_mb'])} | {fmt(r['ready_s'], 2)} |")
    if idle:
        lines += ["", f"Idle (10 jobs): RSS {fmt(idle['idle_rss_mb'])} MB (VmHWM {fmt(idle['idle_hwm_mb'])} MB)."]
    if recovery:
        lines += ["", "| poll s | failures | recover p50 s | p99 s | max s | target p99 s |", "|---|---|---|---|---|---|"]
        for r in recovery:
            lines.append(f"| {fmt(r['poll'], 0)} | {r['failures']} | {fmt(r['p50_s'], 2)} | {fmt(r['p99_s'], 2)} "
                         f"| {fmt(r['max_s'], 2)} | ≤ {fmt(r['target_s'], 0)} |")
    return "\n".join(lines)


def verdicts(scale, idle, recovery):
    out = []
    for r in scale:
        out.append(("requests/cycle = structural target", f"N={r['jobs']}", r["exact"],
                    f"{fmt(r['requests_per_cycle'], 2)} vs {r['structural']} + {fmt(r['writes_per_cycle'], 2)} writes"))
        if r["jobs"] >= 10000:
            out.append(("CPU/cycle ≤ 150 ms", f"N={r['jobs']}", r["cpu_ms_per_cycle"] <= TARGET_CPU_MS_10K,
                        f"{fmt(r['cpu_ms_per_cycle'])} ms"))
            out.append(("peak RSS ≤ 60 MB", f"N={r['jobs']}", r["peak_rss_mb"] <= TARGET_PEAK_RSS_MB_10K,
                        f"{fmt(r['peak_rss_mb'])} MB"))
    if idle:
        out.append(("idle RSS ≤ 20 MB", "N=10", idle["idle_rss_mb"] <= TARGET_IDLE_RSS_MB,
                    f"{fmt(idle['idle_rss_mb'])} MB"))
    for r in recovery:
        out.append((f"recover p99 ≤ poll + 1 s", f"poll={fmt(r['poll'], 0)}", r["p99_s"] <= r["target_s"],
                    f"{fmt(r['p99_s'], 2)} s"))
    return out


def write_markdown(path, table, checks, args):
    marker = "<!-- notes -->"
    notes = ""
    incident = ""  # bench/incident.py's block, kept as it is (before the notes)
    if os.path.exists(path):
        text = open(path).read()
        begin, end = "<!-- incident -->", "<!-- /incident -->"
        if begin in text and end in text:
            incident = text[text.index(begin):text.index(end) + len(end)]
            text = text.replace(incident, "")
        if marker in text:
            notes = text[text.index(marker):]
    if not notes:
        notes = marker + "\n"
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=harness.REPO, capture_output=True,
                          text=True).stdout.strip() or "unknown"
    nproc = os.cpu_count()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        "# Benchmarks", "",
        "Generated by `make bench` (`bench/run.py`); the notes at the end are written by hand.", "",
        f"- date: {date}", f"- commit: `{head}` (working tree may differ)", f"- nproc: {nproc}",
        f"- command: `python3 bench/run.py {' '.join(args)}`".rstrip(), "",
        "Release builds (`-c release --static-swift-stdlib`), warden and emulator as separate processes on "
        "loopback. Steady state starts after the first cycle without adoption drift checks (one `GET /jobs/{id}` per adopted job, a bounded number per cycle). "
        "A cycle starts with `GET /jobs?…paginationOffset=0` and ends with its `STATUS=` notification; "
        "CPU is utime+stime from `/proc/PID/stat` over whole cycles.", "",
        table, "",
        "| target | where | met | measured |", "|---|---|---|---|",
    ]
    body += [f"| {name} | {where} | {'yes' if ok else '**no**'} | {value} |" for name, where, ok, value in checks]
    body.append("")
    if incident:
        body += [incident, ""]
    with open(path, "w") as f:
        f.write("\n".join(body) + "\n" + notes)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", default="100,1000,10000", help="comma-separated job counts")
    parser.add_argument("--cycles", type=int, default=8, help="steady-state cycles measured per job count")
    parser.add_argument("--poll", type=float, default=2, help="poll interval of the scale runs")
    parser.add_argument("--recovery-polls", default="2,5", help="poll intervals of the recovery runs ('' skips)")
    parser.add_argument("--failures", type=int, default=100)
    parser.add_argument("--spread", type=float, default=75, help="seconds over which failures are injected")
    parser.add_argument("--recovery-jobs", type=int, default=100)
    parser.add_argument("--no-idle", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work directories")
    parser.add_argument("--output", default=os.path.join(harness.REPO, "BENCHMARKS.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    warden_bin, emulator_bin = harness.binaries()
    scale = []
    for n in [int(x) for x in args.jobs.split(",") if x.strip()]:
        print(f"bench: {n} jobs ...", flush=True)
        r = scale_run(warden_bin, emulator_bin, n, args.cycles, args.poll, args.keep)
        print(json.dumps(r), flush=True)
        scale.append(r)
    idle = None
    if not args.no_idle:
        print("bench: idle RSS with 10 jobs ...", flush=True)
        idle = idle_run(warden_bin, emulator_bin, args.keep)
        print(json.dumps(idle), flush=True)
    recovery = []
    for poll in [float(x) for x in args.recovery_polls.split(",") if x.strip()]:
        print(f"bench: recovery at poll {poll:g} s ({args.failures} failures over {args.spread:g} s) ...", flush=True)
        r = recovery_run(warden_bin, emulator_bin, poll, args.failures, args.spread, args.recovery_jobs, args.keep,
                         args.seed)
        print(json.dumps(r), flush=True)
        recovery.append(r)
    table = render(scale, idle, recovery)
    checks = verdicts(scale, idle, recovery)
    print()
    print(table)
    print()
    for name, where, ok, value in checks:
        print(f"{'ok  ' if ok else 'MISS'} {name} ({where}): {value}")
    if not args.no_write:
        write_markdown(args.output, table, checks, sys.argv[1:])
        print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
