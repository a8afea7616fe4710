#!/usr/bin/env python3
"""Writes packaging/polaris-warden.order: the functions a warden runs, which the release link
places side by side at the start of `.text` (lld `--symbol-ordering-file`, Package.swift).

Why: the kernel maps a binary's code 64 kB around every page touched, and the functions a warden
runs are spread over 19 MB of code, so 12.8 MB of it was resident at 10 jobs. Placed together,
8.5 MB is (BENCHMARKS.md, "Code placement"). Names only order the link: a stale file costs
memory, never correctness (names no longer in the binary are skipped).

The release warden runs under `valgrind --tool=callgrind` from its first instruction against the
release emulator with N seeded jobs: start-up, steady cycles, a mass failure (project paused)
and its healing, a reload (SIGHUP) and a stop. Every function it entered that the binary defines
is written, sorted by name (stable diffs). Run it again (`make link-order`) when the code moved.

  python3 bench/link-order.py --jobs 100
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDER_FILE = os.path.join(REPOSITORY, "packaging", "polaris-warden.order")


def defined_functions(binary: str) -> set[str]:
    """Names of the code symbols `binary` defines (it must not be stripped)."""
    listing = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True, text=True).stdout
    names = set()
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "tTwW":
            names.add(fields[2])
    return names


def entered_functions(callgrind_out: str) -> set[str]:
    """Every function callgrind saw entered (`fn=` and `cfn=` records, names not compressed)."""
    names = set()
    with open(callgrind_out, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                name = re.sub(r"^\(\d+\)\s*", "", line.split("=", 1)[1].strip())
                # callgrind marks recursion depth ("'2"); the symbol has no such suffix.
                names.add(re.sub(r"'\d+$", "", name))
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--out", default=ORDER_FILE)
    args = parser.parse_args()

    warden_bin, emulator_bin = harness.binaries()
    work = harness.workdir("warden-link-order-")
    key = harness.new_api_key()
    emulator = harness.Emulator(emulator_bin, work, key, seed_jobs=args.jobs, start_delay=1)
    # One declared job more than seeded: the first cycle creates it.
    tables = [f"{harness.SEED_TABLE_PREFIX}{i}" for i in range(args.jobs + 1)]
    config = harness.warden_config(emulator.port, tables, 2, timeout=60)
    callgrind_out = os.path.join(work, "callgrind.out")
    wrapper = harness.callgrind_wrapper(warden_bin, work, callgrind_out, "--demangle=no --compress-strings=no")
    notify = harness.NotifySocket(os.path.join(work, "notify.sock"))
    warden = harness.Warden(wrapper, work, config, key, notify)

    def cycles(count: int):
        mark = len(notify.cycle_ends())
        harness.wait_for(lambda: len(notify.cycle_ends()) >= mark + count, 900, what=f"{count} cycles")

    try:
        warden.start()
        cycles(3)
        emulator.admin("POST", "/_emulator/project/pause")
        cycles(3)
        emulator.admin("POST", "/_emulator/project/resume")
        cycles(4)
        os.kill(warden.proc.pid, signal.SIGHUP)
        cycles(2)
    finally:
        warden.stop()
        notify.close()
        emulator.stop()
    names = sorted(entered_functions(callgrind_out) & defined_functions(warden_bin))
    shutil.rmtree(work, ignore_errors=True)
    if len(names) < 1000:
        sys.exit(f"only {len(names)} functions: did the warden run?")
    with open(args.out, "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"{len(names)} functions -> {os.path.relpath(args.out, REPOSITORY)}")


if __name__ == "__main__":
    main()
