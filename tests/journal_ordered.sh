#!/bin/bash
# tests/journal_ordered.sh - the ordered-mode guarantee under power cuts: the
# image's free blocks hold a poison pattern, then `e4lab put` copies a tree
# (inline, small and multi-block files) and is cut (--crash-after=N) at
# sampled block writes.  After recovery by e4lab, and on copies by e2fsck -fy
# and (every third point) by the kernel when loop mounts are allowed,
# `e2fsck -fn` passes, and
# every file is a prefix of its source (ordered: no block it never wrote, so
# no poison) -- the three recoveries agree.
. "$(dirname "$0")/lib.sh"

command -v e2fsck >/dev/null || skip "e2fsck not installed"
POINTS=${JBD_ORDERED_POINTS:-10}
MODE=${JBD_DATA_MODE:-ordered}		# journal works too; writeback must fail
KERNEL=0
can_loop_mount && KERNEL=1
MNT=$WORK/mnt
mkdir -p "$MNT" "$WORK/src/d1/d2" "$WORK/src/e"

# The tree: 60 files from 10 bytes (inline) to 150 KB in three directories,
# and 1200 empty ones: their inodes fill a quarter of the small log, so the
# put commits on journal pressure while the data before is still dirty.
for i in $(seq 1 60); do
	case $((i % 3)) in 0) d=$WORK/src;; 1) d=$WORK/src/d1/d2;; 2) d=$WORK/src/e;; esac
	head -c $(( (i * i * 57) % 150000 + 10 )) /dev/urandom >"$d/f$i"
done
mkdir -p "$WORK/src/z"
(cd "$WORK/src/z" && touch $(seq -f 'empty%g' 1 1200))
# Poison: fill the free space with 0xe4 bytes, then free it again.
expect 0 "$E4LAB" mkfs -b 1024 -J 1024 "$WORK/base" 32M
head -c $((16 * 1024 * 1024)) /dev/zero | tr '\0' '\344' >"$WORK/poison"
expect 0 "$E4LAB" put "$WORK/base" "$WORK/poison" /poison
expect 0 "$E4LAB" rm "$WORK/base" /poison
rm -f "$WORK/poison"

# count_writes CMD...: about the block writes CMD makes on a copy of
# $WORK/base (a cut that still stops it, by bisection).
count_writes() {
	local hi=1 lo mid
	while :; do
		cp "$WORK/base" "$WORK/img"
		"$E4LAB" --crash-after=$hi --data=$MODE "$@" >/dev/null 2>&1 <"$WORK/stdin"
		[ $? = 3 ] || break
		hi=$((hi * 2))
	done
	lo=$((hi / 2))
	while [ $((hi - lo)) -gt $((lo / 64 + 1)) ]; do	# within 2%: enough to place cuts
		mid=$(((lo + hi) / 2))
		cp "$WORK/base" "$WORK/img"
		"$E4LAB" --crash-after=$mid --data=$MODE "$@" >/dev/null 2>&1 <"$WORK/stdin"
		if [ $? = 3 ]; then lo=$mid; else hi=$mid; fi
	done
	echo $lo
}

# check IMG WHO: every recovered file is a prefix of its source (or of its
# new contents in $WORK/new), and holds no poison.
check() {
	local img=$1 who=$2 out=$WORK/out.$2 rel size
	rm -rf "$out"
	: >"$WORK/sizes.$who"
	"$E4LAB" get "$img" /t "$out" >/dev/null 2>&1
	[ -d "$out" ] || return 0
	if grep -rlq $'\344\344\344\344' "$out"; then
		fail "cut at $cut, $who: $(grep -rl $'\344\344\344\344' "$out" | head -1) holds poison: a block it never wrote (stale data)"
	fi
	(cd "$out" && find . -type f -printf '%p %s\n' | sort) >"$WORK/sizes.$who"
	while read -r rel size; do
		cmp -s -n "$size" "$out/$rel" "$WORK/src/$rel" ||
			{ [ -f "$WORK/new/$rel" ] && cmp -s -n "$size" "$out/$rel" "$WORK/new/$rel"; } ||
			fail "cut at $cut, $who: $rel ($size bytes) is not a prefix of its contents"
	done < <(awk '$2 > 0' "$WORK/sizes.$who")	# empty files hold no bytes to check
}

# cut_step NAME CMD...: CMD cut at $POINTS points; every recovery checked.
cut_step() {
	local name=$1 total p st
	shift
	total=$(count_writes "$@")
	step "$name: $total block writes; cutting at $POINTS points (kernel check: $KERNEL)"
	# a third of the points across the whole command, the rest densely over
	# its last 8%, where the data flush, the log, the commit block and the
	# checkpoint are
	local third=$((POINTS / 3)) dense=$((POINTS - POINTS / 3)) gap
	gap=$((total * 8 / 100 / dense)); [ $gap -ge 1 ] || gap=1
	for p in $(seq 1 "$POINTS"); do
		if [ $p -le $third ]; then
			cut=$(( (p * total) / (third + 1) ))
		else
			cut=$((total - (POINTS - p) * gap))
		fi
		[ $cut -ge 1 ] || cut=1
		REPLAY="e4lab mkfs; put+rm a poison file; [previous steps]; e4lab --crash-after=$cut --data=$MODE $*"
		cp "$WORK/base" "$WORK/img"
		"$E4LAB" --crash-after=$cut --data=$MODE "$@" >/dev/null 2>&1 <"$WORK/stdin"
		st=$?
		[ $st = 3 ] || [ $cut -ge "$total" ] || fail "cut at $cut: status $st"
		cp "$WORK/img" "$WORK/e2fsck"
		cp "$WORK/img" "$WORK/kernel"
		expect 0 "$E4LAB" recover "$WORK/img"
		e2fsck -fn "$WORK/img" >"$WORK/fsck" 2>&1 ||
			{ head -20 "$WORK/fsck"; fail "cut at $cut: e2fsck -fn after e4lab recover"; }
		check "$WORK/img" ours
		e2fsck -fy "$WORK/e2fsck" >/dev/null 2>&1
		e2fsck -fn "$WORK/e2fsck" >/dev/null 2>&1 || fail "cut at $cut: e2fsck -fn after e2fsck -fy"
		check "$WORK/e2fsck" e2fsck
		diff "$WORK/sizes.ours" "$WORK/sizes.e2fsck" >/dev/null ||
			fail "cut at $cut: e4lab and e2fsck recoveries differ"
		if [ $KERNEL = 1 ] && [ $((p % 3)) = 0 ]; then
			loop_mount "$WORK/kernel" "$MNT" || fail "cut at $cut: kernel mount"
			loop_umount "$MNT"
			e2fsck -fn "$WORK/kernel" >/dev/null 2>&1 ||
				fail "cut at $cut: e2fsck -fn after the kernel's replay"
			check "$WORK/kernel" kernel
			diff "$WORK/sizes.ours" "$WORK/sizes.kernel" >/dev/null ||
				fail "cut at $cut: e4lab and kernel recoveries differ"
		fi
	done
}

: >"$WORK/stdin"
cut_step "put a tree" put "$WORK/img" "$WORK/src" /t
# The tree in place, then overwrite (and grow) one file, replace another.
expect 0 "$E4LAB" put "$WORK/base" "$WORK/src" /t
mkdir -p "$WORK/new/d1/d2"
head -c 300000 /dev/urandom >"$WORK/new/d1/d2/f1"
cp "$WORK/new/d1/d2/f1" "$WORK/stdin"
cut_step "overwrite a file" write "$WORK/img" /t/d1/d2/f1
echo "PASS $TEST_NAME"
