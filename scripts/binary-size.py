#!/usr/bin/env python3
"""Bytes of a linked binary per module, from the linker's map (`-Xlinker -Map=FILE`; lld's or
gold's format): each input section the link kept is attributed to its object file's module
(`<Module>.build/….o` of the SwiftPM build, `lib<Module>.a(member)` of the toolchain's static
libraries). Debug sections are left out (the package strips them); what the linker makes itself
(.eh_frame_hdr, .rela.dyn/.relr.dyn, symbol tables) is shown as `(linker)`. `make binary-size`
runs it on the release polaris-warden; BENCHMARKS.md has the figures.

    scripts/binary-size.py MAP [--top N] [--sections]
"""
import argparse
import collections
import re
import sys

SKIPPED = (".debug", ".comment", ".note.GNU-stack", ".gnu_debuglink", ".symtab", ".strtab", ".shstrtab")


def module(path: str) -> str:
    found = re.search(r"/([^/]+)\.build/", path)
    if found:
        return found.group(1)
    found = re.search(r"/lib([^/()]+)\.a\(", path)
    if found:
        return found.group(1)
    return "(other) " + path.rsplit("/", 1)[-1].split("(")[0]


def lld_sections(lines):
    """lld: `VMA LMA Size Align Out/In/Symbol`, indentation telling output section (1 space
    after the numbers), input section (9) and symbol (17)."""
    output = None
    row = re.compile(r"^\s*([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\d+) (\s*)(\S.*)$")
    for line in lines:
        match = row.match(line)
        if not match:
            continue
        size, depth, what = int(match.group(3), 16), len(match.group(5)), match.group(6)
        if depth == 0:
            output = what.split()[0]
        elif depth == 8 and output:
            yield output, (what.rsplit(":(", 1)[0] if ":(" in what else "(linker)"), size


def gold_sections(lines):
    """gold: after `Memory map`, output sections at column 0 and input sections indented, the
    name on its own line when long."""
    output = None
    row = re.compile(r"^\s+(?:\S+\s+)?0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
    in_map = False
    for line in lines:
        if not in_map:
            in_map = line.startswith("Memory map")
            continue
        if line[:1] not in (" ", "\t", "") and line.strip():
            output = line.split()[0]
            continue
        match = row.match(line)
        if match and output and int(match.group(1), 16) != 0 and "=" not in match.group(3):
            yield output, match.group(3).strip(), int(match.group(2), 16)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("map")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sections", action="store_true", help="also the biggest output sections per module")
    args = parser.parse_args()
    with open(args.map, errors="replace") as source:
        lines = source.read().splitlines()
    gold = any(line.startswith("Memory map") for line in lines[:100000])
    per_module = collections.Counter()
    per_section = collections.defaultdict(collections.Counter)
    for output, path, size in (gold_sections if gold else lld_sections)(lines):
        if output.startswith(SKIPPED) or output in (".bss", ".tbss"):
            continue  # not in the file
        name = "(linker)" if path == "(linker)" or path.startswith("<internal>") else module(path)
        per_module[name] += size
        per_section[name][output] += size
    total = sum(per_module.values())
    rest = total
    for name, size in per_module.most_common(args.top):
        rest -= size
        detail = ""
        if args.sections:
            detail = "  (" + ", ".join(f"{s} {b / 1048576:.2f}" for s, b in per_section[name].most_common(3)) + ")"
        print(f"{size / 1048576:7.2f} MiB  {name}{detail}")
    if rest:
        print(f"{rest / 1048576:7.2f} MiB  (the other {len(per_module) - args.top} modules)")
    print(f"{total / 1048576:7.2f} MiB  total of the allocated sections in the file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
