#!/bin/bash
# bench/fsync.sh - N x (create a 4 KiB file, fsync) through e4lab (ordered
# journaling, one fdatasync'd commit per fsync) and through the kernel on a
# loop mount of the same image size, in one run; prints ops/s and the ratio.
# Usage: bench/fsync.sh [N] (default 2000).  The kernel row needs root.
set -eu
cd "$(dirname "$0")/.."
N=${1:-2000}
E4LAB=${E4LAB:-tools/e4lab}
PROG=bench/fsync_loop
[ -x "$PROG" ] || make -s "$PROG"
W=$(mktemp -d /tmp/e4lab-fsync.XXXXXX)
MNT=$W/mnt
cleanup() { mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"; rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$MNT"

"$E4LAB" mkfs "$W/e4.img" 512M >/dev/null
read -r _ _ es eops < <("$PROG" e4lab "$W/e4.img" "$N")
e2fsck -fn "$W/e4.img" >/dev/null 2>&1 || { echo "e2fsck: e4lab image not clean" >&2; exit 1; }
printf '%-8s %6d files %8.2f s %8.0f ops/s\n' e4lab "$N" "$es" "$eops"

if [ "$(id -u)" = 0 ] && truncate -s 512M "$W/k.img" &&
   mkfs.ext4 -q -F -O inline_data "$W/k.img" &&
   mount -o loop "$W/k.img" "$MNT" 2>/dev/null; then
	read -r _ _ ks kops < <("$PROG" kernel "$MNT" "$N")
	umount "$MNT"
	printf '%-8s %6d files %8.2f s %8.0f ops/s\n' kernel "$N" "$ks" "$kops"
	awk -v a="$eops" -v b="$kops" 'BEGIN { printf "e4lab/kernel ops/s ratio: %.2f\n", a / b }'
else
	echo "kernel row skipped: needs root and loop mounts"
fi
