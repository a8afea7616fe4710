#!/usr/bin/env python3
"""Every module a target imports must be one of that target's dependencies in Package.swift
(issue 13): a module reached only through another target's dependencies builds today and
breaks when that target drops it. Reads the manifest through `swift package describe --type
json`, scans each target's Swift files for `import` lines, and prints every import that is not
declared. Exit status 1 when there is one. Standard library only; run by `make lint`.

    scripts/check-imports.py [--swift swift] [--scratch-path DIR]
"""
import argparse
import json
import os
import re
import subprocess
import sys

# The toolchain's and the platform's modules: never declared in a manifest.
SYSTEM_MODULES = {
    "Swift", "_Concurrency", "_StringProcessing", "Synchronization", "Observation", "Distributed",
    "Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking",
    "Dispatch", "Glibc", "Musl", "Darwin", "Android", "WinSDK", "ucrt", "os", "XCTest", "Testing",
}
IMPORT = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:public\s+|package\s+|internal\s+|private\s+|fileprivate\s+)?"
    r"import\s+(?:(?:struct|class|enum|protocol|typealias|func|let|var|actor)\s+)?([A-Za-z_][A-Za-z0-9_]*)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swift", default=os.environ.get("SWIFT", "swift"))
    parser.add_argument("--scratch-path")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [args.swift, "package", "--package-path", root]
    if args.scratch_path:
        command += ["--scratch-path", args.scratch_path]
    described = subprocess.run(command + ["describe", "--type", "json"], capture_output=True, text=True)
    if described.returncode != 0:
        sys.stderr.write(described.stderr)
        return 2
    package = json.loads(described.stdout)
    problems = 0
    for target in package["targets"]:
        declared = set(target.get("target_dependencies") or []) | set(target.get("product_dependencies") or [])
        directory = os.path.join(root, target["path"])
        for folder, _, files in os.walk(directory):
            for name in sorted(files):
                if not name.endswith(".swift"):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as source:
                    in_literal = False  # inside a multi-line string literal (Python in a test, say)
                    for number, line in enumerate(source, 1):
                        starts_inside = in_literal
                        if line.count('"""') % 2 == 1:
                            in_literal = not in_literal
                        if starts_inside:
                            continue
                        match = IMPORT.match(line)
                        if not match:
                            continue
                        module = match.group(1)
                        if module in SYSTEM_MODULES or module in declared or module == target["name"]:
                            continue
                        problems += 1
                        print(
                            f"{os.path.relpath(path, root)}:{number}: imports {module}, "
                            f"which is not a dependency of target {target['name']} in Package.swift")
    if problems:
        print(f"check-imports: {problems} undeclared import(s)")
        return 1
    print(f"check-imports: every import of {len(package['targets'])} targets is declared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
