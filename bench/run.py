#!/usr/bin/env python3
"""polaris-warden benchmarks (`make bench`): the release-built warden as a real process against
the release-built emulator, on loopback.

Measures, per job count N (`--jobs 100,1000,10000`), with delta polling (`JobIndex`): each
cycle's `GET /jobs` requests are classed by their query as sweep pages (sorted by
created_date_time, no health filter), delta pages (sorted by last_updated_date_time) or
unhealthy-subset pages (healthStatus=warn|error), and each cycle as a sweep or a delta cycle:
  * API requests per delta (steady) cycle vs its structural target 1 delta page + 1 unhealthy
    page + 1 connection listing = 3 (+ writes) whatever N is; per sweep cycle vs
    ceil(listed/1000) sweep pages + 1 connection listing (+ writes); and the average over the run;
  * the window lasts --cycles cycles and is extended (up to --max-cycles) until it holds a
    scheduled sweep (every JobIndex.sweepEveryPolls = 10 polls); if it still holds none, it says so;
  * cycle duration p50/p99 (first list request of the cycle -> its STATUS= notification);
  * warden CPU per delta cycle and per sweep cycle (sum of /proc/PID/task/*/schedstat run time,
    read between cycles) and the average over whole cycles (utime+stime from /proc/PID/stat);
  * peak (VmHWM) and steady (VmRSS) RSS, and the sampled RSS peak during delta and sweep cycles;
    start -> READY=1 on a test NOTIFY_SOCKET.
Plus idle RSS with 10 jobs, and time to recover from injected job failures at poll 2 s and 5 s.

Prints a table and rewrites the generated part of BENCHMARKS.md (text after the
`<!-- notes -->` marker is kept; the previous generated part is kept below the new one, and each
headline figure is compared with the previous run's, read from its `<!-- scale-data -->` comment
or, for the run before that comment existed, the figures of `b7b4a40` in BASELINE).
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

TARGET_CPU_MS_1K = 15
TARGET_CPU_MS_10K = 150
TARGET_CPU_GROWTH = 11  # 1,000 -> 10,000 jobs
TARGET_PEAK_RSS_MB_1K = 25
TARGET_PEAK_RSS_MB_10K = 60
TARGET_IDLE_RSS_MB = 20
SWEEP_EVERY_POLLS = 10  # JobIndex.sweepEveryPolls
SWEEP_PAGE = 1000  # the sweep's page size
DELTA_STEADY_REQUESTS = 3  # 1 delta page + 1 unhealthy-subset page + 1 connection listing

# The previous BENCHMARKS.md figures, for the run that wrote them before the data comment existed
# (2026-11-29, `b7b4a40`, `python3 bench/run.py --cycles 5`; binary 35.8 MiB per the issue).
# Every steady cycle then was a full read of the list: "steady" means that.
BASELINE = {
    "date": "2026-11-29 05:17 UTC", "commit": "b7b4a40",
    "cpu_ms_steady": {"100": 2.0, "1000": 32.0, "10000": 424.0},
    "cpu_ms_avg": {"100": 2.0, "1000": 32.0, "10000": 424.0},
    "peak_rss_mb": {"100": 28.0, "1000": 41.6, "10000": 179.5},
    "requests_steady": {"100": 2.0, "1000": 2.0, "10000": 11.0},
    "requests_avg": {"100": 2.0, "1000": 2.0, "10000": 11.0},
    "idle_rss_mb": 26.7,
    "recovery_p99_s": {"2": 2.12, "5": 5.30},
}


def run_ns(pid: int) -> int:
    """CPU time of every thread of `pid` in ns (/proc/PID/task/*/schedstat, first field): finer
    than utime+stime's clock ticks, for one cycle's share."""
    total = 0
    base = f"/proc/{pid}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    return total


class Sampler(threading.Thread):
    """Samples the warden's memory, and its CPU time right after each cycle end (its STATUS=
    notifications): between cycles the warden sleeps, so consecutive readings bound one cycle."""

    def __init__(self, warden: harness.Warden, notify: harness.NotifySocket, period=0.02):
        super().__init__(daemon=True)
        self.warden = warden
        self.notify = notify
        self.period = period
        self.peak_rss_kib = 0
        self.rss: list[tuple[float, int]] = []  # (wall time, VmRSS KiB)
        self.cpu_at_end: list[tuple[float, int]] = []  # (cycle end wall time, run ns after it)
        self._halt = threading.Event()

    @property
    def writes(self) -> list[float]:
        return self.notify.cycle_ends()

    def run(self):
        seen = 0
        while not self._halt.is_set():
            try:
                rss = self.warden.memory_kib().get("VmRSS", 0)
                self.peak_rss_kib = max(self.peak_rss_kib, rss)
                self.rss.append((time.time(), rss))
                ends = self.writes
                if len(ends) > seen:
                    self.cpu_at_end.append((ends[-1], run_ns(self.warden.proc.pid)))
                    seen = len(ends)
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(self.period)

    def stop(self):
        self._halt.set()
        self.join(timeout=2)


def request_kind(record) -> str:
    """sweep / delta / unhealthy (a `GET /jobs` page, by its query), connections, get, write."""
    if record.get("method") != "GET":
        return "write"
    if record.get("route") == "GET /connections":
        return "connections"
    if record.get("route") != "GET /jobs":
        return "get"
    items = (record.get("query") or "").split("&")
    if any(i.startswith("healthStatus=") for i in items):
        return "unhealthy"
    if "sortColumn=last_updated_date_time" in items:
        return "delta"
    return "sweep"


def is_cycle_start(record) -> bool:
    """The first page of a sweep or of a delta walk starts a cycle (the unhealthy subset's first
    page also has paginationOffset=0, after the delta walk)."""
    return harness.is_cycle_start(record) and request_kind(record) in ("sweep", "delta")


def group_cycles(records, poll):
    """Splits a request log into cycles. The first page of a sweep or of a delta walk starts a
    cycle; the log records completion times and the connection listing runs concurrently with the
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
        starts = sum(1 for r in cycle if is_cycle_start(r))
        if starts != 1:
            raise RuntimeError(f"a request group holds {starts} cycle starts: {[(r['method'], r['path']) for r in cycle][:20]}")
    return cycles


def scale_run(warden_bin, emulator_bin, n, cycles, poll, keep, max_cycles):
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
        window_start = time.time()
        wait_for(lambda: len(sampler.writes) >= base_writes + cycles, timeout=cycles * (poll * 1.2 + 30),
                 period=0.01, what=f"{cycles} cycles")
        # Extend the window until it holds a sweep (scheduled every SWEEP_EVERY_POLLS polls).
        extended = 0
        while base_writes + cycles + extended < base_writes + max_cycles:
            kinds = [request_kind(r) for r in emulator.requests()]
            if "sweep" in kinds:
                break
            mark = len(sampler.writes)
            wait_for(lambda: len(sampler.writes) >= mark + 1, timeout=poll * 1.2 + 30, period=0.01,
                     what="a further cycle")
            extended += 1
        time.sleep(0.05)
        cpu1 = warden.cpu_seconds()
        memory = warden.memory_kib()
        records = emulator.requests()
        ends = sampler.writes[base_writes:]
        sampler.stop()
        listed = len([j for j in emulator.state()["jobs"] if j.get("type") == "streaming"])
        per_cycle = group_cycles(records, poll)
        sweep_target = max(1, math.ceil(listed / SWEEP_PAGE)) + 1
        cpu_marks = sampler.cpu_at_end
        rows = []
        for cycle in per_cycle:
            start = harness.parse_ts(cycle[0]["timestamp"])
            kinds = [request_kind(r) for r in cycle]
            count = {k: kinds.count(k) for k in ("sweep", "delta", "unhealthy", "connections", "get", "write")}
            kind = "sweep" if count["sweep"] else "delta"
            target = (sweep_target if kind == "sweep" else DELTA_STEADY_REQUESTS) + count["write"]
            if kind == "sweep":
                exact = (count["sweep"] == sweep_target - 1 and count["connections"] == 1
                         and count["delta"] == count["unhealthy"] == count["get"] == 0)
            else:
                exact = (count["delta"] == 1 and count["unhealthy"] == 1 and count["connections"] == 1
                         and count["get"] == 0)
            end = next((e for e in ends if e >= start), None)
            row = {"kind": kind, "requests": len(cycle), "target": target, "exact": exact, **count,
                   "start": start, "end": end, "duration": (end - start) if end is not None else None,
                   "cpu_ms": None, "rss_peak_kib": None}
            if end is not None:
                after = next((ns for t, ns in cpu_marks if t == end), None)
                before = [ns for t, ns in cpu_marks if t < start]
                if after is not None and before:
                    row["cpu_ms"] = (after - before[-1]) / 1e6
                in_cycle = [kib for t, kib in sampler.rss if start - 0.05 <= t <= end + 0.05]
                row["rss_peak_kib"] = max(in_cycle, default=None)
            # The first delta cycle after a sweep: within 2 × JobIndex.margin of the sweep, the
            # walk reads again every job updated within the margin of the newest update.
            row["after_sweep"] = kind == "delta" and bool(rows) and rows[-1]["kind"] == "sweep"
            rows.append(row)

        def mean(values):
            values = [v for v in values if v is not None]
            return sum(values) / len(values) if values else float("nan")

        def pick(kind, key):
            return [r[key] for r in rows if r["kind"] == kind and r[key] is not None]

        delta_req, sweep_req = pick("delta", "requests"), pick("sweep", "requests")
        settled = [r for r in rows if r["kind"] == "delta" and not r["after_sweep"]]
        after = [r for r in rows if r["after_sweep"]]
        sweep_starts = [r["start"] for r in rows if r["kind"] == "sweep"]
        sweep_indices = [i for i, r in enumerate(rows) if r["kind"] == "sweep"]
        result.update(
            cycles=len(per_cycle), listed=listed, window_s=time.time() - window_start,
            delta_cycles=len(delta_req), sweep_cycles=len(sweep_req),
            structural=DELTA_STEADY_REQUESTS, sweep_structural=sweep_target,
            requests_per_delta=mean(delta_req), delta_min=min(delta_req, default=0),
            delta_max=max(delta_req, default=0),
            requests_delta_p50=percentile(delta_req, 50),
            requests_settled=mean([r["requests"] for r in settled]),
            settled_min=min((r["requests"] for r in settled), default=0),
            settled_max=max((r["requests"] for r in settled), default=0),
            exact_settled=bool(settled) and all(r["exact"] for r in settled),
            requests_after_sweep=mean([r["requests"] for r in after]),
            cpu_ms_settled=mean([r["cpu_ms"] for r in settled]),
            cpu_ms_after_sweep=mean([r["cpu_ms"] for r in after]),
            requests_per_sweep=mean(sweep_req), sweep_min=min(sweep_req, default=0),
            sweep_max=max(sweep_req, default=0),
            requests_per_cycle=mean([r["requests"] for r in rows]),
            requests_min=min((r["requests"] for r in rows), default=0),
            requests_max=max((r["requests"] for r in rows), default=0),
            # What the average would tend to over a long run if every delta cycle cost 3: one
            # sweep cycle every SWEEP_EVERY_POLLS cycles (a cycle period is a little over a poll,
            # so it is one in 9 or 10 cycles). render() adds the measured one (measured_long_run).
            requests_long_run=((SWEEP_EVERY_POLLS - 1) * DELTA_STEADY_REQUESTS + sweep_target) / SWEEP_EVERY_POLLS,
            sweep_every_cycles=(mean([b - a for a, b in zip(sweep_indices, sweep_indices[1:])])
                                if len(sweep_indices) > 1 else None),
            sweep_every_s=(mean([b - a for a, b in zip(sweep_starts, sweep_starts[1:])])
                           if len(sweep_starts) > 1 else None),
            pages_per_delta=mean(pick("delta", "delta")), unhealthy_per_delta=mean(pick("delta", "unhealthy")),
            pages_per_sweep=mean(pick("sweep", "sweep")),
            writes_per_cycle=mean([r["write"] for r in rows]) if rows else 0,
            extra_gets=sum(r["get"] for r in rows),
            exact=bool(rows) and all(r["exact"] for r in rows),
            exact_delta=bool(delta_req) and all(r["exact"] for r in rows if r["kind"] == "delta"),
            exact_sweep=all(r["exact"] for r in rows if r["kind"] == "sweep"),
            cycle_p50_ms=percentile(pick("delta", "duration"), 50) * 1000,
            cycle_p99_ms=percentile(pick("delta", "duration"), 99) * 1000,
            sweep_ms=mean(pick("sweep", "duration")) * 1000,
            cpu_ms_delta=mean(pick("delta", "cpu_ms")), cpu_ms_sweep=mean(pick("sweep", "cpu_ms")),
            # Delta cycles that read one delta page (the steady case; a walk may read more).
            cpu_ms_delta_1p=mean([r["cpu_ms"] for r in rows if r["kind"] == "delta" and r["delta"] == 1]),
            cpu_ms_delta_p50=percentile(pick("delta", "cpu_ms"), 50),
            cpu_ms_per_cycle=(cpu1 - cpu0) * 1000 / max(1, len(per_cycle)),
            peak_rss_mb=memory.get("VmHWM", 0) / 1024, steady_rss_mb=memory.get("VmRSS", 0) / 1024,
            rss_delta_mb=max(pick("delta", "rss_peak_kib"), default=0) / 1024,
            rss_sweep_mb=max(pick("sweep", "rss_peak_kib"), default=0) / 1024,
            extended=extended,
            # Each cycle of the window in order: S = sweep, D = delta, with its request count
            # (and its delta pages when more than one).
            sequence=" ".join(f"{r['kind'][0].upper()}{r['requests']}" + (f"[{r['delta']}p]" if r["delta"] > 1 else "")
                              for r in rows),
            routes=sorted({r["route"] for r in records}))
        notes = []
        if not sweep_req:
            notes.append(f"no sweep in the {len(per_cycle)}-cycle window (--max-cycles {max_cycles})")
        if len(per_cycle) != cycles + extended:
            notes.append(f"expected {cycles + extended} cycles, request log shows {len(per_cycle)}")
        if notes:
            result["note"] = "; ".join(notes)
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


def measured_long_run(r):
    """Requests a cycle over one sweep period as measured: the sweep, the delta cycle after it and
    the other delta cycles (period: the measured one in cycles, else SWEEP_EVERY_POLLS)."""
    if not r["sweep_cycles"]:
        return float("nan")
    period = r["sweep_every_cycles"] or SWEEP_EVERY_POLLS
    after = r["requests_after_sweep"] if not math.isnan(r["requests_after_sweep"]) else r["requests_settled"]
    return (r["requests_per_sweep"] + after + (period - 2) * r["requests_settled"]) / period


def render(scale, idle, recovery):
    lines = []
    head = ("| jobs | listed | cycles (delta + sweep) | req/delta cycle (min–max) | target | "
            "req/delta cycle, not right after a sweep (min–max) | req/first delta cycle after a sweep | "
            "req/sweep cycle | target | req/cycle, this window | long run: structural (1 sweep in 10) / measured | "
            "sweep every | "
            "writes/cycle | exact |")
    lines += ["Requests: a delta (steady) cycle is 1 delta page + 1 unhealthy-subset page + `GET /connections`; "
              f"a sweep cycle is ⌈listed/{SWEEP_PAGE}⌉ pages + `GET /connections`.", "",
              head, "|" + "---|" * (head.count("|") - 1)]
    for r in scale:
        every = "none seen" if not r["sweep_cycles"] else (
            "1 in window" if r["sweep_every_cycles"] is None else
            f"{fmt(r['sweep_every_cycles'], 1)} cycles ({fmt(r['sweep_every_s'], 1)} s)")
        lines.append(
            f"| {r['jobs']} | {r['listed']} | {r['cycles']} ({r['delta_cycles']} + {r['sweep_cycles']}) "
            f"| {fmt(r['requests_per_delta'], 2)} ({r['delta_min']}–{r['delta_max']}) | {r['structural']} + writes "
            f"| {fmt(r['requests_settled'], 2)} ({r['settled_min']}–{r['settled_max']}) "
            f"| {fmt(r['requests_after_sweep'], 2)} "
            f"| {fmt(r['requests_per_sweep'], 2) if r['sweep_cycles'] else '–'} | {r['sweep_structural']} + writes "
            f"| {fmt(r['requests_per_cycle'], 2)} | {fmt(r['requests_long_run'], 2)} / "
            f"{fmt(measured_long_run(r), 2)} | {every} "
            f"| {fmt(r['writes_per_cycle'], 2)} | {'yes' if r['exact'] else 'NO'} |")
    head = ("| jobs | delta cycle p50 ms | p99 ms | sweep cycle ms | CPU ms/delta cycle: mean (p50) | "
            "CPU ms/delta cycle, not right after a sweep | CPU ms/first delta cycle after a sweep | CPU ms/sweep cycle | "
            "CPU ms/cycle, window avg | peak RSS MB (VmHWM) | RSS peak in delta / sweep cycles MB | "
            "steady RSS MB | READY s |")
    lines += ["", head, "|" + "---|" * (head.count("|") - 1)]
    for r in scale:
        lines.append(
            f"| {r['jobs']} | {fmt(r['cycle_p50_ms'])} | {fmt(r['cycle_p99_ms'])} "
            f"| {fmt(r['sweep_ms']) if r['sweep_cycles'] else '–'} | {fmt(r['cpu_ms_delta'])} "
            f"({fmt(r['cpu_ms_delta_p50'])}) | {fmt(r['cpu_ms_settled'])} | {fmt(r['cpu_ms_after_sweep'])} "
            f"| {fmt(r['cpu_ms_sweep']) if r['sweep_cycles'] else '–'} | {fmt(r['cpu_ms_per_cycle'])} "
            f"| {fmt(r['peak_rss_mb'])} | {fmt(r['rss_delta_mb'])} / "
            f"{fmt(r['rss_sweep_mb']) if r['sweep_cycles'] else '–'} | {fmt(r['steady_rss_mb'])} | {fmt(r['ready_s'], 2)} |")
    lines += ["", "Cycles of each window in order (S = sweep, D = delta; requests, and delta pages when more than one):", ""]
    for r in scale:
        lines.append(f"- N={r['jobs']}: {r.get('sequence', 'n/a')}" + (f" — {r['note']}" if r.get("note") else ""))
    if idle:
        lines += ["", f"Idle (10 jobs): RSS {fmt(idle['idle_rss_mb'])} MB (VmHWM {fmt(idle['idle_hwm_mb'])} MB)."]
    if recovery:
        lines += ["", "| poll s | failures | recover p50 s | p99 s | max s | target p99 s |", "|---|---|---|---|---|---|"]
        for r in recovery:
            lines.append(f"| {fmt(r['poll'], 0)} | {r['failures']} | {fmt(r['p50_s'], 2)} | {fmt(r['p99_s'], 2)} "
                         f"| {fmt(r['max_s'], 2)} | ≤ {fmt(r['target_s'], 0)} |")
    return "\n".join(lines)


def by_jobs(scale, n):
    return next((r for r in scale if r["jobs"] == n), None)


def verdicts(scale, idle, recovery):
    out = []
    for r in scale:
        out.append(("requests/delta cycle = 3 + writes, whatever N (1 delta page, 1 unhealthy-subset page, "
                    "connections)", f"N={r['jobs']}", r["exact_delta"],
                    f"{fmt(r['requests_per_delta'], 2)} ({r['delta_min']}–{r['delta_max']}) vs 3 + "
                    f"{fmt(r['writes_per_cycle'], 2)} writes; issue's target 1 + connections: the design "
                    "reads the unhealthy subset too, by choice"))
        out.append(("requests/delta cycle = 3 + writes, delta cycles not right after a sweep", f"N={r['jobs']}",
                    r["exact_settled"], f"{fmt(r['requests_settled'], 2)} ({r['settled_min']}–{r['settled_max']}); "
                    f"first delta cycle after a sweep: {fmt(r['requests_after_sweep'], 2)}"))
        if r["sweep_cycles"]:
            out.append((f"requests/sweep cycle = ⌈N/{SWEEP_PAGE}⌉ + 1 + writes", f"N={r['jobs']}", r["exact_sweep"],
                        f"{fmt(r['requests_per_sweep'], 2)} vs {r['sweep_structural']}"))
        out.append((f"a scheduled sweep (every {SWEEP_EVERY_POLLS} polls) in the window", f"N={r['jobs']}",
                    r["sweep_cycles"] > 0, f"{r['sweep_cycles']} in {r['cycles']} cycles"))
        if r["jobs"] == 1000:
            out.append((f"CPU/delta cycle ≤ {TARGET_CPU_MS_1K} ms", "N=1000", r["cpu_ms_delta"] <= TARGET_CPU_MS_1K,
                        f"{fmt(r['cpu_ms_delta'])} ms (not right after a sweep {fmt(r['cpu_ms_settled'])} ms; "
                        f"window average with sweeps {fmt(r['cpu_ms_per_cycle'])} ms)"))
            out.append((f"peak RSS ≤ {TARGET_PEAK_RSS_MB_1K} MB", "N=1000", r["peak_rss_mb"] <= TARGET_PEAK_RSS_MB_1K,
                        f"{fmt(r['peak_rss_mb'])} MB"))
        if r["jobs"] >= 10000:
            out.append((f"CPU/delta cycle ≤ {TARGET_CPU_MS_10K} ms", f"N={r['jobs']}",
                        r["cpu_ms_delta"] <= TARGET_CPU_MS_10K,
                        f"{fmt(r['cpu_ms_delta'])} ms (not right after a sweep {fmt(r['cpu_ms_settled'])} ms; "
                        f"window average with sweeps {fmt(r['cpu_ms_per_cycle'])} ms)"))
            out.append((f"peak RSS ≤ {TARGET_PEAK_RSS_MB_10K} MB", f"N={r['jobs']}",
                        r["peak_rss_mb"] <= TARGET_PEAK_RSS_MB_10K, f"{fmt(r['peak_rss_mb'])} MB"))
    small, large = by_jobs(scale, 1000), by_jobs(scale, 10000)
    if small and large and small["cpu_ms_delta"] > 0:
        growth = large["cpu_ms_delta"] / small["cpu_ms_delta"]
        settled = large["cpu_ms_settled"] / small["cpu_ms_settled"] if small["cpu_ms_settled"] else float("nan")
        out.append((f"CPU/delta cycle growth 1,000 → 10,000 ≤ {TARGET_CPU_GROWTH}×", "N=1000→10000",
                    growth <= TARGET_CPU_GROWTH, f"{growth:.1f}× (not right after a sweep: {settled:.1f}×)"))
    if idle:
        out.append((f"idle RSS ≤ {TARGET_IDLE_RSS_MB} MB", "N=10", idle["idle_rss_mb"] <= TARGET_IDLE_RSS_MB,
                    f"{fmt(idle['idle_rss_mb'])} MB"))
    for r in recovery:
        out.append((f"recover p99 ≤ poll + 1 s", f"poll={fmt(r['poll'], 0)}", r["p99_s"] <= r["target_s"],
                    f"{fmt(r['p99_s'], 2)} s"))
    return out


def finite(value, digits=2):
    return None if value is None or math.isnan(value) else round(value, digits)


def data_of(scale, idle, recovery, head, date):
    """The headline figures, kept as a comment for the next run's comparison."""
    return {
        "date": date, "commit": head,
        "cpu_ms_steady": {str(r["jobs"]): finite(r["cpu_ms_delta"], 2) for r in scale},
        "cpu_ms_avg": {str(r["jobs"]): finite(r["cpu_ms_per_cycle"], 2) for r in scale},
        "cpu_ms_settled": {str(r["jobs"]): finite(r["cpu_ms_settled"]) for r in scale},
        "requests_settled": {str(r["jobs"]): finite(r["requests_settled"]) for r in scale},
        "peak_rss_mb": {str(r["jobs"]): finite(r["peak_rss_mb"], 2) for r in scale},
        "requests_steady": {str(r["jobs"]): finite(r["requests_per_delta"], 2) for r in scale},
        "requests_avg": {str(r["jobs"]): finite(r["requests_per_cycle"], 2) for r in scale},
        "idle_rss_mb": finite(idle["idle_rss_mb"], 2) if idle else None,
        "recovery_p99_s": {f"{r['poll']:g}": finite(r["p99_s"], 3) for r in recovery},
    }


def comparison(current, previous):
    """Each headline figure of this run as a ratio to the previous run's same figure."""
    if not previous:
        return ""
    rows = []

    def row(label, key, sub, unit, lower_better=True, digits=1):
        now = current.get(key)
        before = previous.get(key)
        if sub is not None:
            now = (now or {}).get(sub)
            before = (before or {}).get(sub)
        if now is None or before is None:
            return
        ratio = now / before if before else float("nan")
        trend = "" if math.isnan(ratio) or abs(ratio - 1) < 0.05 else (
            " (better)" if (ratio < 1) == lower_better else " (**worse**)")
        rows.append(f"| {label} | {before:.{digits}f}{' ' + unit if unit else ''} | "
                    f"{now:.{digits}f}{' ' + unit if unit else ''} | {ratio:.2f}×{trend} |")

    def settled_row(label, key, baseline_key, sub, unit, digits=1):
        # Against BASELINE (before delta polling) every steady cycle was a full read.
        now = (current.get(key) or {}).get(sub)
        before = (previous.get(key if key in previous else baseline_key) or {}).get(sub)
        if now is None or not before:
            return
        ratio = now / before
        trend = "" if abs(ratio - 1) < 0.05 else (" (better)" if ratio < 1 else " (**worse**)")
        rows.append(f"| {label} | {before:.{digits}f}{' ' + unit if unit else ''} | "
                    f"{now:.{digits}f}{' ' + unit if unit else ''} | {ratio:.2f}×{trend} |")

    for n in ("1000", "10000"):
        row(f"CPU per steady (delta) cycle, mean of all delta cycles, {int(n):,} jobs", "cpu_ms_steady", n, "ms")
        settled_row(f"CPU per steady (delta) cycle not right after a sweep, {int(n):,} jobs", "cpu_ms_settled",
                    "cpu_ms_steady", n, "ms")
        row(f"CPU per cycle, window average with sweeps, {int(n):,} jobs", "cpu_ms_avg", n, "ms")
    for n in ("1000", "10000"):
        row(f"peak RSS (VmHWM), {int(n):,} jobs", "peak_rss_mb", n, "MB")
    row("idle RSS, 10 jobs", "idle_rss_mb", None, "MB")
    row("requests per steady (delta) cycle, mean of all delta cycles, 10,000 jobs", "requests_steady", "10000", "",
        digits=2)
    settled_row("requests per steady (delta) cycle not right after a sweep, 10,000 jobs", "requests_settled",
                "requests_steady", "10000", "", digits=2)
    row("requests per cycle, window average, 10,000 jobs", "requests_avg", "10000", "", digits=2)
    for poll in sorted((current.get("recovery_p99_s") or {}), key=float):
        row(f"time from failure to replacement p99, poll {poll} s", "recovery_p99_s", poll, "s", digits=2)
    if not rows:
        return ""
    return "\n".join([
        f"Compared with the previous run ({previous.get('date')}, `{previous.get('commit')}`); ratio = this run / "
        "previous, below 1 is better. The previous run read the whole list every cycle, so its \"steady cycle\" "
        "is a full read; this run's is a delta cycle." if previous is BASELINE else
        f"Compared with the previous run ({previous.get('date')}, `{previous.get('commit')}`); ratio = this run / "
        "previous, below 1 is better.", "",
        "| figure | previous | this run | ratio |", "|---|---|---|---|", *rows])


DATA_BEGIN, DATA_END = "<!-- scale-data ", " -->"
PREVIOUS_BEGIN, PREVIOUS_END = "<!-- scale-previous -->", "<!-- /scale-previous -->"


def previous_data(text):
    if DATA_BEGIN in text:
        start = text.index(DATA_BEGIN) + len(DATA_BEGIN)
        try:
            return json.loads(text[start:text.index(DATA_END, start)])
        except ValueError:
            return None
    return BASELINE if "`b7b4a40`" in text else None


def tree_state():
    """The commit measured and the uncommitted files the build may include, read when the run
    starts (others may commit while it runs)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=harness.REPO, capture_output=True,
                          text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "Sources", "Package.swift", "Package.resolved"],
                           cwd=harness.REPO, capture_output=True, text=True).stdout.split("\n")
    return head, [line[3:] for line in dirty if line.strip()]


def write_markdown(path, table, checks, args, scale, idle, recovery, load_note, tree):
    marker = "<!-- notes -->"
    notes = ""
    incident = ""  # bench/incident.py's block, kept as it is (before the notes)
    previous_block = ""  # the last generated part, kept under the new one
    older = ""  # the blocks it kept in turn
    text = open(path).read() if os.path.exists(path) else ""
    if text:
        begin, end = "<!-- incident -->", "<!-- /incident -->"
        if begin in text and end in text:
            incident = text[text.index(begin):text.index(end) + len(end)]
            text = text.replace(incident, "")
        if marker in text:
            notes = text[text.index(marker):]
            text = text[:text.index(marker)]
        if PREVIOUS_BEGIN in text and PREVIOUS_END in text:
            older = text[text.index(PREVIOUS_BEGIN) + len(PREVIOUS_BEGIN):text.index(PREVIOUS_END)].strip()
            text = text[:text.index(PREVIOUS_BEGIN)] + text[text.index(PREVIOUS_END) + len(PREVIOUS_END):]
        generated = text
        if "- date:" in generated:
            generated = generated[generated.index("- date:"):]
        previous_block = generated.strip()
    previous = previous_data(text) if text else None
    if not notes:
        notes = marker + "\n"
    head, dirty = tree
    nproc = os.cpu_count()
    date = os.environ.get("BENCH_DATE") or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    current = data_of(scale, idle, recovery, head, date)
    compared = comparison(current, previous)
    tree_note = (f" + uncommitted changes in {', '.join(f'`{d}`' for d in dirty)} (built from the working tree)"
                 if dirty else " (clean tree under Sources/)")
    body = [
        "# Benchmarks", "",
        "Generated by `make bench` (`bench/run.py`); the notes at the end are written by hand.", "",
        f"- date: {date}", f"- commit: `{head}`{tree_note}", f"- nproc: {nproc}",
        f"- load: {load_note}" if load_note else None,
        f"- command: `{' '.join(['python3', 'bench/run.py', *args])}`", "",
        "Release builds (`-c release --static-swift-stdlib`), warden and emulator as separate processes on "
        "loopback. Steady state starts after the first cycle without adoption drift checks (one `GET /jobs/{id}` per adopted job, a bounded number per cycle). "
        "Delta polling: a full sweep of the list (pages of 1,000 by creation time) at start, after an error or a gap "
        f"and every {SWEEP_EVERY_POLLS} polls; otherwise a delta read (pages of 100 by last update, newest first, "
        "until jobs read before) plus the unhealthy subset (`healthStatus=warn&healthStatus=error`). "
        "A cycle starts with the first page of its sweep or delta walk (`paginationOffset=0`) and ends with its "
        "`STATUS=` notification; the window is extended until it holds a scheduled sweep. CPU per delta or sweep "
        "cycle is the warden's thread run time (`/proc/PID/task/*/schedstat`) between the cycle ends around it; the "
        "window average is utime+stime from `/proc/PID/stat` over whole cycles.", "",
        table, "",
        "| target | where | met | measured |", "|---|---|---|---|",
    ]
    body = [line for line in body if line is not None]
    body += [f"| {name} | {where} | {'yes' if ok else '**no**'} | {value} |" for name, where, ok, value in checks]
    body.append("")
    if compared:
        body += [compared, ""]
    body.append(DATA_BEGIN + json.dumps(current) + DATA_END)
    body.append("")
    if previous_block:
        kept = [previous_block] + ([older] if older else [])
        body += [PREVIOUS_BEGIN, "### Previous runs (generated, kept as they were)", "",
                 "\n\n".join(block.replace("### Previous runs (generated, kept as they were)", "").strip()
                             for block in kept), PREVIOUS_END, ""]
    if incident:
        body += [incident, ""]
    with open(path, "w") as f:
        f.write("\n".join(body) + "\n" + notes)


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", default="100,1000,10000", help="comma-separated job counts")
    parser.add_argument("--cycles", type=int, default=12,
                        help="steady-state cycles measured per job count (at least; see --max-cycles)")
    parser.add_argument("--max-cycles", type=int, default=24,
                        help="extend the window up to this many cycles until it holds a scheduled sweep")
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
    load_before = loadavg()
    tree = tree_state()
    print(f"bench: commit {tree[0]}" + (f" + uncommitted {', '.join(tree[1])}" if tree[1] else ""), flush=True)
    scale = []
    for n in [int(x) for x in args.jobs.split(",") if x.strip()]:
        print(f"bench: {n} jobs ...", flush=True)
        r = scale_run(warden_bin, emulator_bin, n, args.cycles, args.poll, args.keep, args.max_cycles)
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
    load_after = loadavg()
    load_note = (f"load average (1/5/15 min) {load_before} before, {load_after} after the run, on "
                 f"{os.cpu_count()} CPUs (other builds may share the machine)")
    table = render(scale, idle, recovery)
    checks = verdicts(scale, idle, recovery)
    print()
    print(table)
    print()
    for name, where, ok, value in checks:
        print(f"{'ok  ' if ok else 'MISS'} {name} ({where}): {value}")
    print(load_note)
    if not args.no_write:
        write_markdown(args.output, table, checks, sys.argv[1:], scale, idle, recovery, load_note, tree)
        print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
