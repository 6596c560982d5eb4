#!/bin/bash
# bench/commit.sh - commit time of a one-file transaction (create a file, write
# 4 KiB, fsync) on a small and a large sparse image made by `e4lab mkfs`: the
# median of N on one mount each, and the ratio large/small.  Target (issue 4):
# within 1.5x, i.e. commit cost follows the changed blocks, not the fs size.
# Twice: on fresh images (most groups of the large one uninitialized), and
# with 75% of each image fallocated first, so that every group is in use.
# The images live in /dev/shm (tmpfs) when it exists, so that the host
# disk's flush latency, shared with whatever else runs, does not drown the
# commit's own cost; COMMIT_DIR=/some/dir measures on that file system instead.
# Usage: bench/commit.sh [N (default 200)] [SMALL (64M)] [LARGE (64G)].
# Build first: make && make check TESTS= (builds bench/commit_time).
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
E4LAB=${E4LAB:-$SRC/tools/e4lab}
PROG=${COMMIT_TIME:-$SRC/bench/commit_time}
N=${1:-200}
SMALL=${2:-64M}
LARGE=${3:-64G}
BASE=${COMMIT_DIR:-$( [ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}
WORK=$(mktemp -d "$BASE/e4lab-bench-commit.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
die() { echo "bench/commit: $*" >&2; exit 1; }

[ -x "$E4LAB" ] || die "$E4LAB is not built (make)"
[ -x "$PROG" ] || die "$PROG is not built (make check TESTS=)"

# measure SIZE [FILL%]: sets MED and MIN (microseconds)
measure() {
	local img=$WORK/img-$1 out
	"$E4LAB" mkfs "$img" "$1" >/dev/null || die "e4lab mkfs $img $1"
	out=$("$PROG" "$img" "$N" ${2:+"$2"}) || die "commit_time $img $N $2"
	read -r MED MIN <<<"$out"
	if command -v e2fsck >/dev/null && ! e2fsck -fn "$img" >/dev/null 2>&1; then
		die "e2fsck -fn $img ($1) is not clean after the run"
	fi
	rm -f "$img"
}

# compare LABEL [FILL%]
compare() {
	local s_med s_min
	measure "$SMALL" "${2:-}"; s_med=$MED s_min=$MIN
	measure "$LARGE" "${2:-}"
	printf '%-26s %12s %12s %12s %12s %7s\n' "$1" "$s_med" "$s_min" "$MED" "$MIN" \
		"$(awk -v a="$MED" -v b="$s_med" 'BEGIN { printf "%.2f", a / b }')"
}

echo "one-file transactions (create, write 4 KiB, fsync), median of $N, e4lab mkfs defaults, in $BASE"
printf '%-26s %12s %12s %12s %12s %7s\n' images "$SMALL med us" "$SMALL min us" \
	"$LARGE med us" "$LARGE min us" ratio
compare "fresh"
compare "75% fallocated" 75
echo "ratio: median $LARGE / median $SMALL (target <= 1.5)"
