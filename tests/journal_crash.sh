#!/bin/bash
# tests/journal_crash.sh - power cuts at sampled block writes while journal/
# commits transactions (libfs/blk's write log cuts the image after the Nth
# block write).  After each cut, `e4lab recover` and, on a copy, `e2fsck -fy`
# must each leave an image `e2fsck -fn` passes, with every transaction whose
# commit returned present and nothing but at most the one in flight beyond.
. "$(dirname "$0")/lib.sh"

JBD_TOOL=$E4LAB_BUILDDIR/tests/unit/test_jbd_tool
[ -x "$JBD_TOOL" ] || fail "$JBD_TOOL is not built"
command -v e2fsck >/dev/null && command -v debugfs >/dev/null || skip "e2fsprogs not installed"
NTXN=25
POINTS=${JBD_CRASH_POINTS:-30}

mkfs.ext4 -q -F -b 4096 -O metadata_csum,64bit "$WORK/base" 64M >/dev/null 2>&1 || fail mkfs
cp "$WORK/base" "$WORK/img"
JBD_CUT=0 "$JBD_TOOL" write "$WORK/img" $NTXN crash >"$WORK/full" || fail "uncut run"
total=$(awk '/^block writes:/ { print $3 }' "$WORK/full")
[ "$total" -gt 0 ] || fail "no block writes counted"
step "$total block writes for $NTXN transactions; cutting at $POINTS points"

names() { debugfs -R 'ls /' "$1" 2>/dev/null | tr -s ' ' '\n' | grep -E '^[df][0-9]+$' | sort; }

for p in $(seq 1 "$POINTS"); do
	cut=$(( (p * total + POINTS - 1) / POINTS ))
	REPLAY="mkfs.ext4 -b 4096 -O metadata_csum,64bit; JBD_CUT=$cut test_jbd_tool write IMG $NTXN crash"
	cp "$WORK/base" "$WORK/img"
	JBD_CUT=$cut "$JBD_TOOL" write "$WORK/img" $NTXN crash >"$WORK/run" 2>&1
	st=$?
	[ $st = 3 ] || [ $cut -ge "$total" ] || fail "cut at $cut: status $st, expected 3"
	committed=$(grep -c '^committed' "$WORK/run")
	cp "$WORK/img" "$WORK/theirs"
	"$E4LAB" recover "$WORK/img" >"$WORK/rec" 2>&1 || fail "cut at $cut: recover: $(cat "$WORK/rec")"
	e2fsck -fn "$WORK/img" >"$WORK/fsck" 2>&1 || { head -20 "$WORK/fsck"; fail "cut at $cut: e2fsck -fn after our recovery"; }
	e2fsck -fy "$WORK/theirs" >/dev/null 2>&1
	e2fsck -fn "$WORK/theirs" >/dev/null 2>&1 || fail "cut at $cut: e2fsck -fn after e2fsck's recovery"
	names "$WORK/img" >"$WORK/ours.names"
	names "$WORK/theirs" >"$WORK/theirs.names"
	diff "$WORK/ours.names" "$WORK/theirs.names" >/dev/null || fail "cut at $cut: recoveries differ"
	have=$(grep -c '^d' "$WORK/ours.names")
	[ "$have" -ge "$committed" ] && [ "$have" -le $((committed + 1)) ] ||
		fail "cut at $cut: $have directories after recovery, $committed committed"
	for i in $(seq 0 $((have - 1))); do
		n=$(printf %03d "$i")
		grep -qx "d$n" "$WORK/ours.names" && grep -qx "f$n" "$WORK/ours.names" ||
			fail "cut at $cut: transaction $i is torn (d$n/f$n)"
	done
done
echo "PASS $TEST_NAME ($POINTS cut points of $total)"
