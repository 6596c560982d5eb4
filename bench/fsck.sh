#!/bin/bash
# bench/fsck.sh - `e4lab fsck` against `e2fsck -fn` on the same images, one run
# each, run by hand (never by make check):
#
#   tree    the 10,000-file bench tree (e4lab gentree --profile bench: 40% 1-59
#           bytes, 40% 1-16 KiB, 20% 64-512 KiB), copied in with e4lab put
#           (mke2fs -d when e4lab cannot)
#   small   200,000 files of 1-100 bytes in 1,000 directories, mke2fs -d
#
# Prints wall-clock seconds of each checker and the ratio e4lab / e2fsck
# (below 1.00: e4lab is faster).  The image is read once before each timed run
# so both read it hot from the page cache.  Environment: E4LAB (default
# tools/e4lab), BENCH_DIR (default bench/out; images and trees are kept there
# and reused), BENCH_SEED (default 1).  Usage: bench/fsck.sh [tree|small|all]
set -u
set -o pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
E4LAB=${E4LAB:-$SRC/tools/e4lab}
BENCH_DIR=${BENCH_DIR:-$SRC/bench/out}
SEED=${BENCH_SEED:-1}
PATH=$PATH:/usr/sbin:/sbin
WHAT=${1:-all}

die() { echo "bench/fsck: $*" >&2; exit 1; }
[ -x "$E4LAB" ] || die "$E4LAB is not built (run make)"
# A libtool wrapper script costs a shell and a relink check per run (tens of
# ms, as much as the whole check of a small image): time the real binary.
if head -c 2 "$E4LAB" | grep -q '#!' && [ -x "$(dirname "$E4LAB")/.libs/e4lab" ]; then
	export LD_LIBRARY_PATH=$SRC/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	E4LAB=$(dirname "$E4LAB")/.libs/e4lab
fi
command -v e2fsck >/dev/null || die "e2fsck is not installed"
mkdir -p "$BENCH_DIR" || die "cannot create $BENCH_DIR"

# seconds CMD...: wall-clock seconds of one run (exit status ignored).
seconds() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

# compare NAME IMAGE: one run of each checker, their verdicts and the ratio.
compare() {
	local name=$1 img=$2 te tf v
	cat "$img" >/dev/null
	v=$("$E4LAB" fsck --no-progress "$img" 2>/dev/null | tail -n 1)
	tf=$(seconds e2fsck -fn "$img")
	te=$(seconds "$E4LAB" fsck --no-progress "$img")
	printf '%-6s %-40s e2fsck -fn %7.2fs   e4lab fsck %7.2fs   ratio %.2f   (%s)\n' \
		"$name" "$(basename "$img")" "$tf" "$te" "$(echo "$te / $tf" | bc -l)" "$v"
}

tree_image() {
	local tree=$BENCH_DIR/tree-$SEED img=$BENCH_DIR/fsck-tree-$SEED.img
	[ -d "$tree" ] || "$E4LAB" gentree --profile bench --seed "$SEED" "$tree" >/dev/null ||
		die "gentree"
	if [ ! -f "$img" ]; then
		if ! { "$E4LAB" mkfs "$img" 1536M && "$E4LAB" put "$img" "$tree" /; } >/dev/null 2>&1; then
			rm -f "$img"
			mke2fs -q -F -t ext4 -d "$tree" "$img" 1536M >/dev/null 2>&1 || die "mke2fs -d"
		fi
	fi
	echo "$img"
}

small_image() {
	local dir=$BENCH_DIR/small-$SEED img=$BENCH_DIR/fsck-small-$SEED.img
	if [ ! -d "$dir" ]; then
		mkdir -p "$dir.tmp" || die "mkdir"
		awk -v dir="$dir.tmp" -v seed="$SEED" 'BEGIN {
			srand(seed);
			for (d = 0; d < 1000; d++) system("mkdir -p " dir "/d" d);
			for (i = 0; i < 200000; i++) {
				f = sprintf("%s/d%d/f%d", dir, i % 1000, i);
				n = 1 + int(rand() * 100);
				s = ""; for (k = 0; k < n; k++) s = s "x";
				printf "%s", s > f; close(f);
			}
		}' || die "generating the small files"
		mv "$dir.tmp" "$dir"
	fi
	[ -f "$img" ] || mke2fs -q -F -t ext4 -N 220000 -d "$dir" "$img" 2G >/dev/null 2>&1 ||
		die "mke2fs -d"
	echo "$img"
}

case $WHAT in
tree) compare tree "$(tree_image)" ;;
small) compare small "$(small_image)" ;;
all) compare tree "$(tree_image)"; compare small "$(small_image)" ;;
*) die "usage: bench/fsck.sh [tree|small|all]" ;;
esac
