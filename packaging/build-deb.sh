#!/usr/bin/env bash
# Builds polaris-warden_<version>_<arch>.deb and polaris-emulator_<version>_<arch>.deb into
# .build-deb/ (docs/packaging.md). Called by `make deb`.
#
# dpkg-buildpackage wants debian/ at the top of the source tree; the repository keeps it under
# packaging/debian/ and never gets a debian/ at its root. So .build-deb/src is staged with
# packaging/debian as debian/ plus the files the packages install (unit, catalog, man pages,
# docs, example config), and dpkg-buildpackage runs there. debian/rules builds the Swift
# binaries from the repository itself (SWIFT_PACKAGE_PATH) into <repo>/.build-release
# (SWIFT_SCRATCH_PATH): kept across runs, so a rebuild only recompiles what changed, and shared
# with the other release builds of the repository that use the same flags (mk/bench.mk).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$repo/.build-deb"
stage="$out/src"
changelog="$repo/packaging/debian/changelog"

# The daemon binary's size budget (stripped, static Swift stdlib), in MiB: 27.4 measured on
# 2026-12-01 (BENCHMARKS.md), so a new dependency that costs more than ~0.5 MiB is noticed. The
# goal is 25 (issue 14): see BENCHMARKS.md for what it would take.
max_warden_mib=${MAX_WARDEN_MIB:-28}
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$changelog")
arch=$(dpkg --print-architecture)
[ -n "$version" ] || { echo "build-deb: no version in $changelog" >&2; exit 1; }

mkdir -p "$out"
rm -rf --one-file-system "$stage"
mkdir -p "$stage"
# What debian/*.install, *.docs and *.manpages name (paths relative to the source tree).
staged=(README.md CHANGELOG.md config docs systemd packaging/man alerting)
tar -C "$repo" -cf - "${staged[@]}" | tar -C "$stage" -xf -
cp -a "$repo/packaging/debian" "$stage/debian"
rm -rf "$stage/debian/.debhelper"
rm -f "$out"/polaris-*.deb "$out"/polaris-*.ddeb "$out"/polaris-warden_*.changes "$out"/polaris-warden_*.buildinfo

start=$(date +%s)
echo "build-deb: dpkg-buildpackage -us -uc -b for $version ($arch) in $stage"
(
    cd "$stage"
    export SWIFT_PACKAGE_PATH="$repo" SWIFT_SCRATCH_PATH="$repo/.build-release"
    export PATH="/opt/swift/usr/bin:$PATH"
    # The -dbgsym packages cost a minute of xz on ~250 MB of DWARF per build and nothing in
    # the tests uses them: off unless the caller sets DEB_BUILD_OPTIONS (even to empty).
    export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS-noautodbgsym}"
    dpkg-buildpackage -us -uc -b
)
for package in polaris-warden polaris-emulator; do
    deb="$out/${package}_${version}_${arch}.deb"
    [ -f "$deb" ] || { echo "build-deb: $deb was not built" >&2; exit 1; }
    echo "build-deb: $deb ($(du -h "$deb" | cut -f1))"
    # The stripped binary as the package installs it (BENCHMARKS.md tracks it).
    bytes=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./usr/bin/$package" | wc -c)
    echo "build-deb: /usr/bin/$package $(awk -v b="$bytes" 'BEGIN { printf "%.1f MiB (%d bytes)", b / 1048576, b }')"
    if [ "$package" = polaris-warden ] && [ "$bytes" -gt $((max_warden_mib * 1048576)) ]; then
        echo "build-deb: /usr/bin/polaris-warden is over its budget of $max_warden_mib MiB" >&2
        echo "build-deb: (issue #14: measure per module as in BENCHMARKS.md, or raise MAX_WARDEN_MIB)" >&2
        exit 1
    fi
done
echo "build-deb: done in $(( $(date +%s) - start )) s"
