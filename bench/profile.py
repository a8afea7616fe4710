#!/usr/bin/env python3
"""Profiles steady-state warden cycles with callgrind (instruction counts: repeatable).

The release warden runs under `valgrind --tool=callgrind --instr-atstart=no` against the
release emulator with N seeded jobs; collection is switched on (callgrind_control -i on) after
the warm-up (adoption, until a cycle sends no drift check) and off after CYCLES cycles, then the
profile is dumped.

  python3 bench/profile.py --jobs 10000 --cycles 3 --out /tmp/warden.callgrind
  callgrind_annotate --inclusive=yes /tmp/warden.callgrind | swift demangle --simplified | head -60
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--poll", type=float, default=5)
    parser.add_argument("--out", default="/tmp/warden.callgrind")
    args = parser.parse_args()

    warden_bin, emulator_bin = harness.binaries()
    work = harness.workdir("warden-profile-")
    key = harness.new_api_key()
    emulator = harness.Emulator(emulator_bin, work, key, seed_jobs=args.jobs, start_delay=1)
    tables = [f"{harness.SEED_TABLE_PREFIX}{i}" for i in range(args.jobs)]
    # Under valgrind everything is ~50x slower: generous request timeout.
    config = harness.warden_config(emulator.port, tables, args.poll, timeout=60)
    wrapper = harness.callgrind_wrapper(warden_bin, work, args.out, "--instr-atstart=no")
    notify = harness.NotifySocket(os.path.join(work, "notify.sock"))
    warden = harness.Warden(wrapper, work, config, key, notify)
    try:
        warden.start()
        # warm-up: two cycles complete (the first adopts), then cycles until one sends no drift
        # check (`GET /jobs/{id}`: adoption spreads them over the first cycles, 8 at 10,000
        # jobs), as bench/run.py does; then instrument CYCLES steady cycles, counted by their
        # STATUS= notifications (sent after each cycle).
        while len(notify.cycle_ends()) < 2:
            time.sleep(0.2)
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            emulator.clear_requests()
            mark = len(notify.cycle_ends())
            while len(notify.cycle_ends()) < mark + 1:
                time.sleep(0.2)
            if not any(r["method"] == "GET" and "/jobs/" in r["path"] for r in emulator.requests()):
                break
        time.sleep(0.5)
        emulator.clear_requests()
        subprocess.run(["callgrind_control", "-i", "on", str(warden.proc.pid)], check=True, capture_output=True)
        base = len(notify.cycle_ends())
        while len(notify.cycle_ends()) < base + args.cycles:
            time.sleep(0.1)
        time.sleep(0.5)
        subprocess.run(["callgrind_control", "-i", "off", str(warden.proc.pid)], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-d", str(warden.proc.pid)], check=True, capture_output=True)
        time.sleep(2)
        cycles = sum(1 for r in emulator.requests() if harness.is_cycle_start(r))
        print(f"profiled {cycles} cycles at {args.jobs} jobs; profile files: {args.out}*")
    finally:
        warden.stop()
        notify.close()
        emulator.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
