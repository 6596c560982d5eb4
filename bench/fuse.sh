#!/bin/bash
# bench/fuse.sh - 4 KiB sequential and random write and read throughput through
# `e4lab mount`, fuse2fs and the kernel (loop mount), on images of the same size
# made by the same mkfs, in one run.  Prints MB/s and the ratios.  Run as root:
#   bench/fuse.sh [FILE_SIZE (default 128M)] [IMAGE_SIZE (default 1G)]
# BENCH_WARM_IMAGE=1: after the caches are dropped, read the image file back
# into the page cache (for all three alike), so that the figures leave out this
# machine's disk and measure the servers (the kernel's loop device reads the
# image file through the same page cache).
# BENCH_CPU=N (default 0; empty: off): every server and the fio job run on CPU N.
# A 4 KiB psync job is a chain of synchronous round trips, and on this VM a
# wake-up across CPUs costs about 300 us: unpinned, the scheduler's placement of
# server against writer decides the write rows (e4lab 11-155 MB/s, fuse2fs 4-80
# MB/s on the same job), so both servers get the same placement.
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
E4LAB=${E4LAB:-$SRCDIR/tools/e4lab}
FILE_SIZE=${1:-128M}
IMAGE_SIZE=${2:-1G}
PATH=$PATH:/usr/sbin:/sbin
WORK=$(mktemp -d "${TMPDIR:-/tmp}/e4lab-bench-fuse.XXXXXX") || exit 1
MNT=$WORK/mnt
LOOP=""

cleanup() {
	mountpoint -q "$MNT" && { "$E4LAB" umount "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null ||
		umount -l "$MNT"; }
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
die() { echo "bench/fuse: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (loop mounts, dropping caches)"
[ -x "$E4LAB" ] || die "$E4LAB is not built"
command -v fio >/dev/null || die "fio is not installed"
command -v python3 >/dev/null || die "python3 is needed to read fio's JSON"
"$E4LAB" mount --help >/dev/null 2>&1 || die "this e4lab was built without libfuse3"
mkdir -p "$MNT"
PIN=()
if [ -n "${BENCH_CPU-0}" ] && command -v taskset >/dev/null; then
	PIN=(taskset -c "${BENCH_CPU-0}")
fi

# fio_bw RW: MB/s of one 4 KiB job on $MNT/bench.dat (written, then read back).
# No preallocation: "write" allocates as it goes, as cp does; the later jobs
# read and overwrite the blocks it wrote.
fio_bw() {
	local rw=$1 extra=()
	case $rw in *write) extra=(--end_fsync=1) ;; esac
	sync
	echo 3 >/proc/sys/vm/drop_caches
	[ "${BENCH_WARM_IMAGE:-0}" = 1 ] && cat "$WORK/img" >/dev/null
	"${PIN[@]}" fio --name=b --filename="$MNT/bench.dat" --size="$FILE_SIZE" --bs=4k --rw="$rw" \
		--ioengine=psync --fallocate=none --runtime=120 --output-format=json "${extra[@]}" \
		>"$WORK/fio.json" 2>"$WORK/fio.err" || { cat "$WORK/fio.err" >&2; echo 0; return; }
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
side = "write" if "write" in sys.argv[2] else "read"
print("%.1f" % (j[side]["bw_bytes"] / 1e6))' "$WORK/fio.json" "$rw"
}

# run NAME MOUNT-COMMAND UMOUNT-COMMAND: the four rows for one implementation,
# each job on a fresh mount so that no cache (the kernel's or a server's own)
# survives from the job before.
run() {
	local name=$1 mountcmd=$2 umountcmd=$3 rw
	rm -f "$WORK/img"
	"$E4LAB" mkfs "$WORK/img" "$IMAGE_SIZE" >/dev/null || die "mkfs"
	for rw in write read randwrite randread; do
		eval "$mountcmd" || { echo "($name: mount failed, skipped)" >&2; return; }
		R[$name.$rw]=$(fio_bw "$rw")
		eval "$umountcmd" || die "$name: unmount failed"
	done
}

declare -A R
echo "e4lab mount vs fuse2fs vs kernel: 4 KiB psync, file $FILE_SIZE, image $IMAGE_SIZE"
[ ${#PIN[@]} -gt 0 ] && echo "(servers and jobs on CPU ${BENCH_CPU-0}: BENCH_CPU)"
run e4lab '"${PIN[@]}" "$E4LAB" mount "$WORK/img" "$MNT"' '"$E4LAB" umount "$MNT"'
if command -v fuse2fs >/dev/null; then
	run fuse2fs '"${PIN[@]}" fuse2fs "$WORK/img" "$MNT" -o fakeroot >/dev/null' \
		'umount "$MNT"; while pgrep -f "fuse2fs $WORK/img" >/dev/null; do sleep 0.1; done'
else
	echo "(fuse2fs not installed: install Debian's fuse2fs package for that column)"
fi
run kernel 'LOOP=$(losetup -f --show "$WORK/img") && mount -t ext4 "$LOOP" "$MNT"' \
	'umount "$MNT" && losetup -d "$LOOP" && LOOP=""'

ratio() {
	python3 -c 'import sys; a, b = float(sys.argv[1] or 0), float(sys.argv[2] or 0)
print("%.2f" % (a / b) if a and b else "-")' "$1" "$2"
}
printf '\n%-10s %10s %10s %10s %14s %14s\n' row "e4lab" fuse2fs kernel "e4lab/fuse2fs" "e4lab/kernel"
for rw in write read randwrite randread; do
	e=${R[e4lab.$rw]:-} f=${R[fuse2fs.$rw]:-} k=${R[kernel.$rw]:-}
	printf '%-10s %10s %10s %10s %14s %14s\n' "$rw" "${e:--}" "${f:--}" "${k:--}" \
		"$(ratio "$e" "$f")" "$(ratio "$e" "$k")"
done
echo "(MB/s, 1 MB = 10^6 bytes; writes include a final fsync and the unmount is not timed;"
if [ "${BENCH_WARM_IMAGE:-0}" = 1 ]; then
	echo " every job runs on a fresh mount with the kernel's caches dropped, then the"
	echo " image file read back into the page cache: BENCH_WARM_IMAGE=1)"
else
	echo " every job runs on a fresh mount with the kernel's caches dropped)"
fi
