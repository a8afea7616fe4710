#!/usr/bin/env python3
"""Config load + validate at scale (`make bench-config`; also run by `make bench`).

The release-built `polaris-warden check-config FILE` (read, scan, validate: what `run` and a
SIGHUP reload do before anything else) on the bench's generated config (`harness.warden_config`,
the same jobs `bench/run.py` seeds) with N jobs, written two ways:

  * minified: one line, as `jq -c` or a deployment tool writes it;
  * indented: `json.dumps(indent=2)`, one member per line.

Each file is checked --repeat times; the figures are the fastest wall time and the fastest CPU
time (utime+stime from wait4) of the process, and its peak RSS. A 10-job run gives the fixed cost
(process start, argument parsing). Linearity: the 10×-jobs ratio of each style, against 10×.

`--before BINARY` runs an older `polaris-warden` on the same files in the same run (e.g. a copy
of the release binary before a change), so the ratio to it is measured side by side; runs that
would take longer than `--before-limit` seconds (extrapolated quadratically from the smaller
size) are skipped and said so.

Writes its block between `<!-- config-load -->` markers in BENCHMARKS.md, placed after the
`<!-- notes -->` marker so that `bench/run.py` (which rewrites everything above it except the
incident block) keeps it; the previous run's figures are read from that block for the ratio to
the previous row (the first previous figure: 1.8 s at 1,000 minified jobs, issue 14).
"""

from __future__ import annotations

import argparse
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

BEGIN, END = "<!-- config-load -->", "<!-- /config-load -->"
DATA = re.compile(r"<!-- config-load-data (\{.*?\}) -->")
NOTES = "<!-- notes -->"
# The figure before this benchmark existed (issue 14): release build, 1,000 jobs on one line.
FIRST_PREVIOUS = {"minified-1000": {"wall_s": 1.8, "source": "issue 14, before the fix"}}
TARGETS = {1000: 0.1, 10000: 1.0}


def write_config(directory: str, jobs: int, style: str) -> tuple[str, int]:
    tables = [f"{harness.SEED_TABLE_PREFIX}{i}" for i in range(jobs)]
    config = harness.warden_config(8080, tables, poll=5)
    text = json.dumps(config, separators=(",", ":")) if style == "minified" else json.dumps(config, indent=2)
    path = os.path.join(directory, f"{style}-{jobs}.json")
    with open(path, "w") as f:
        f.write(text)
    return path, len(text.encode())


# A child's ru_maxrss includes the memory of the process it was forked from (this Python, holding
# the configs), so the peak RSS comes from GNU time, a small process that forks the warden.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def check_once(binary: str, path: str) -> dict:
    """One `check-config` process: wall time, CPU time (wait4, which includes the children that
    GNU time waited for) and peak RSS."""
    rss_file = path + ".rss"
    command = [binary, "check-config", path]
    if GNU_TIME:
        command = [GNU_TIME, "-f", "%M", "-o", rss_file] + command
    with open(path + ".out", "w+") as output:
        started = time.perf_counter()
        proc = harness.register(subprocess.Popen(command, stdout=output, stderr=output))
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        harness.forget(proc)
        if proc.returncode != 0:
            output.seek(0)
            sys.exit(f"check-config {path} failed ({proc.returncode}): {output.read(500)}")
    rss = None
    if GNU_TIME:
        with open(rss_file) as f:
            rss = int(f.read().split()[-1]) / 1024
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": rss}


def measure(binary: str, path: str, repeat: int) -> dict:
    runs = [check_once(binary, path) for _ in range(repeat)]
    return {"wall_s": min(r["wall_s"] for r in runs), "cpu_s": min(r["cpu_s"] for r in runs),
            "rss_mb": max((r["rss_mb"] for r in runs), default=None, key=lambda v: v or 0), "repeat": repeat}


def fmt(value, digits=3):
    return "–" if value is None else f"{value:.{digits}f}"


def ratio(new, old):
    return "–" if not new or not old else f"{old / new:.1f}× faster" if old >= new else f"{new / old:.1f}× slower"


def previous_figures(path: str) -> dict:
    if not os.path.exists(path):
        return dict(FIRST_PREVIOUS)
    text = open(path).read()
    match = DATA.search(text)
    if not match:
        return dict(FIRST_PREVIOUS)
    data = json.loads(match.group(1))
    return {key: dict(value, source=f"{data['date']}, `{data['commit']}`") for key, value in data["rows"].items()}


def render(rows: list[dict], baseline: dict, previous: dict, before_name: str | None) -> list[str]:
    header = "| jobs | style | bytes | wall s | CPU s | peak RSS MB | target wall s | previous wall s | vs previous |"
    if before_name:
        header += " before wall s | vs before |"
    out = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        key = f"{r['style']}-{r['jobs']}"
        prev = previous.get(key)
        target = TARGETS.get(r["jobs"])
        met = "" if target is None else (" ✓" if r["wall_s"] <= target else " **missed**")
        line = (f"| {r['jobs']:,} | {r['style']} | {r['bytes']:,} | {fmt(r['wall_s'])} | {fmt(r['cpu_s'])} | "
                f"{fmt(r['rss_mb'], 1)} | {'–' if target is None else f'≤ {target:g}'}{met} | "
                f"{fmt(prev['wall_s']) + ' (' + prev['source'] + ')' if prev else '–'} | "
                f"{ratio(r['wall_s'], prev['wall_s']) if prev else '–'} |")
        if before_name:
            before = r.get("before")
            line += (f" {fmt(before['wall_s']) if before else r.get('before_note', '–')} | "
                     f"{ratio(r['wall_s'], before['wall_s']) if before else '–'} |")
        out.append(line)
    out.append("")
    out.append(f"Fixed cost (10 jobs, minified): {fmt(baseline['wall_s'])} s wall, {fmt(baseline['cpu_s'])} s CPU, "
               f"{fmt(baseline['rss_mb'], 1)} MB.")
    return out


def growth(rows: list[dict]) -> list[str]:
    """The largest size against the smallest, per style: at most the job ratio when linear (the
    fixed cost of a process makes it less)."""
    lines = []
    for style in ("minified", "indented"):
        mine = sorted((r for r in rows if r["style"] == style), key=lambda r: r["jobs"])
        if len(mine) >= 2:
            small, large = mine[0], mine[-1]
            lines.append(f"{style}: {large['jobs'] / small['jobs']:g}× the jobs → {large['cpu_s'] / small['cpu_s']:.1f}× "
                         f"the CPU, {large['wall_s'] / small['wall_s']:.1f}× the wall time")
    return lines


def write_markdown(path, rows, baseline, previous, before_name, args):
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=harness.REPO, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    data = {"date": date, "commit": commit,
            "rows": {f"{r['style']}-{r['jobs']}": {"wall_s": round(r["wall_s"], 4)} for r in rows}}
    block = [
        BEGIN,
        "## Config load + validate", "",
        f"Generated by `make bench-config` (`bench/config_load.py`): {date}, commit `{commit}` (working tree may "
        f"differ), nproc {os.cpu_count()}, `{' '.join(['python3 bench/config_load.py'] + args)}`.", "",
        "The release `polaris-warden check-config FILE` (read, scan, validate) on the bench's config with N jobs, "
        "minified (one line, as `jq -c` writes it) and indented; fastest of the repeats, wall and CPU "
        "(utime+stime) of the whole process."
        + (f" *Before*: `{before_name}`, the same files in the same run." if before_name else ""), "",
        *render(rows, baseline, previous, before_name), "",
        "Growth: " + "; ".join(growth(rows)) + ".",
        f"<!-- config-load-data {json.dumps(data)} -->",
        END,
    ]
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n" + NOTES + "\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + "\n".join(block) + text[text.index(END) + len(END):]
    elif NOTES in text:
        i = text.index(NOTES) + len(NOTES)
        text = text[:i] + "\n\n" + "\n".join(block) + text[i:]
    else:
        text = text.rstrip("\n") + "\n\n" + NOTES + "\n\n" + "\n".join(block) + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", default="1000,10000", help="comma-separated job counts")
    parser.add_argument("--repeat", type=int, default=5, help="runs per file (the fastest counts)")
    parser.add_argument("--binary", help="polaris-warden to measure (default: the release build)")
    parser.add_argument("--before", help="an older polaris-warden to measure on the same files")
    parser.add_argument("--before-limit", type=float, default=60,
                        help="skip a --before run extrapolated to take longer than this (s)")
    parser.add_argument("--keep", action="store_true", help="keep the generated configs")
    parser.add_argument("--output", default=os.path.join(harness.REPO, "BENCHMARKS.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    binary = args.binary or os.path.join(harness.bin_dir(), "polaris-warden")
    if not os.access(binary, os.X_OK):
        sys.exit(f"missing {binary}: run `make bench-release`")
    work = harness.workdir("warden-bench-config-")
    try:
        base_path, _ = write_config(work, 10, "minified")
        baseline = measure(binary, base_path, args.repeat)
        rows = []
        before_seen: dict[str, tuple[int, float]] = {}
        for jobs in sorted(int(x) for x in args.jobs.split(",") if x.strip()):
            for style in ("minified", "indented"):
                path, size = write_config(work, jobs, style)
                print(f"bench: config load, {jobs} jobs, {style} ({size:,} bytes) ...", flush=True)
                row = {"jobs": jobs, "style": style, "bytes": size, **measure(binary, path, args.repeat)}
                if args.before:
                    seen = before_seen.get(style)
                    estimate = seen[1] * (jobs / seen[0]) ** 2 if seen else 0
                    if estimate > args.before_limit:
                        row["before_note"] = f"skipped (~{estimate:.0f} s if quadratic)"
                    else:
                        row["before"] = measure(args.before, path, 1 if estimate > 5 else args.repeat)
                        before_seen[style] = (jobs, row["before"]["wall_s"])
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        if args.keep:
            print(f"configs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    previous = previous_figures(args.output)
    table = render(rows, baseline, previous, args.before)
    print()
    print("\n".join(table))
    print("\n".join(growth(rows)))
    for r in rows:
        target = TARGETS.get(r["jobs"])
        if target is not None and r["style"] == "minified":
            print(f"{'ok  ' if r['wall_s'] <= target else 'MISS'} load + validate {r['jobs']} minified jobs "
                  f"≤ {target:g} s: {r['wall_s']:.3f} s")
    if not args.no_write:
        write_markdown(args.output, rows, baseline, previous, args.before, sys.argv[1:])
        print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
