#!/usr/bin/env bash
# Builds (once) the Debian bookworm root filesystem the system tests boot with systemd-nspawn.
# docs/packaging.md, /work/shared/systemd-notes.md §5. Usage: build-rootfs.sh ROOTFS
# The tree is built next to ROOTFS and renamed into place only when complete, so an
# interrupted run never leaves a half-built cache behind.
set -euo pipefail

ROOTFS=${1:?usage: build-rootfs.sh ROOTFS}
SUITE=bookworm
# procps: /bin/kill for the unit's ExecReload= (polaris-warden Depends on it; a minbase system
# lacks it). rsyslog: the alerting case (installed disabled; that case enables it). The list is
# the cache key: a changed list rebuilds the rootfs. libpq5: the daemon links libpq (highAvailability)
# dynamically; the .deb Depends on it, which `dpkg -i` does not fetch.
INCLUDE=systemd,systemd-sysv,dbus,libsystemd0,procps,rsyslog,libpq5
STAMP=".polaris-rootfs-ok"

if [ -x "$ROOTFS/lib/systemd/systemd" ] && [ "$(cat "$ROOTFS/$STAMP" 2>/dev/null)" = "$SUITE $INCLUDE" ]; then
    echo "rootfs: cached at $ROOTFS"
    exit 0
fi

# The mirror this machine already uses (deb822 sources first, then the one-line format).
mirror=""
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

tmp="$ROOTFS.tmp.$$"
cleanup() { rm -rf --one-file-system "$tmp"; }
trap cleanup EXIT
mkdir -p "$(dirname "$ROOTFS")"

echo "rootfs: debootstrap $SUITE from $mirror (about a minute)"
start=$(date +%s)
debootstrap --variant=minbase --include="$INCLUDE" \
    "$SUITE" "$tmp" "$mirror" >"$tmp.log" 2>&1 || { tail -n 30 "$tmp.log"; rm -f "$tmp.log"; exit 1; }
rm -f "$tmp.log"

rm -f "$tmp"/var/cache/apt/archives/*.deb
rm -rf "$tmp"/var/lib/apt/lists/*
# Units a container does not need (systemd-notes §5).
systemctl --root="$tmp" mask console-getty.service getty@tty1.service systemd-logind.service \
    apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
    systemd-tmpfiles-clean.timer e2scrub_reap.service >/dev/null 2>&1
# rsyslog only where a case asks for it: every other case boots the system as before.
systemctl --root="$tmp" disable rsyslog.service >/dev/null 2>&1
echo polaris-system-test >"$tmp/etc/hostname"
echo "$SUITE $INCLUDE" >"$tmp/$STAMP"

rm -rf --one-file-system "$ROOTFS"   # an outdated cache, replaced only now the new one is complete
mv "$tmp" "$ROOTFS"
trap - EXIT
echo "rootfs: built in $(( $(date +%s) - start )) s, $(du -sh --one-file-system "$ROOTFS" | cut -f1)"
