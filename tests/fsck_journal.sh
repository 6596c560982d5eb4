#!/bin/bash
# tests/fsck_journal.sh - `e4lab fsck` on images with a journal to replay:
# power cuts while journal/ commits (tests/unit/test_jbd_tool, cut by libfs/blk's
# write log).  Each cut image must be needs-recovery (or clean), never corrupt,
# since e2fsck -fy replays it to an image e2fsck -fn passes; the replay is done
# in memory, so the image itself must be unchanged.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

JBD_TOOL=$E4LAB_BUILDDIR/tests/unit/test_jbd_tool
[ -x "$JBD_TOOL" ] || fail "$JBD_TOOL is not built"
have_e2fsck || skip "e2fsck is not installed"
NTXN=25
POINTS=${FSCK_CRASH_POINTS:-12}

mkfs.ext4 -q -F -b 4096 -O metadata_csum,64bit "$WORK/base" 64M >/dev/null 2>&1 || fail mkfs
cp "$WORK/base" "$WORK/img"
JBD_CUT=0 "$JBD_TOOL" write "$WORK/img" $NTXN crash >"$WORK/full" 2>&1 || fail "test_jbd_tool write failed: $(cat "$WORK/full")"
total=$(awk '/^block writes:/ { print $3 }' "$WORK/full")
[ -n "$total" ] && [ "$total" -gt 0 ] || fail "test_jbd_tool did not count block writes"

for p in $(seq 1 "$POINTS"); do
	cut=$(( (p * total + POINTS - 1) / POINTS ))
	REPLAY="mkfs.ext4 -b 4096 -O metadata_csum,64bit IMG 64M; JBD_CUT=$cut tests/unit/test_jbd_tool write IMG $NTXN crash; e4lab fsck IMG"
	cp "$WORK/base" "$WORK/img"
	JBD_CUT=$cut "$JBD_TOOL" write "$WORK/img" $NTXN crash >/dev/null 2>&1
	sum=$(md5sum <"$WORK/img")
	"$E4LAB" fsck --json "$WORK/img" >"$OUT" 2>"$ERR"
	st=$?
	[ "$(md5sum <"$WORK/img")" = "$sum" ] || fail "cut $cut: e4lab fsck changed the image"
	verdict=$(sed -n '1s/.*"verdict": "\([a-z-]*\)".*/\1/p' "$OUT")
	case $verdict in
	clean|needs-recovery) [ $st = 0 ] || fail "cut $cut: $verdict but exit $st" ;;
	*) head -n 20 "$OUT"; fail "cut $cut: verdict $verdict (exit $st)" ;;
	esac
	cp "$WORK/img" "$WORK/fixed"
	e2fsck -fy "$WORK/fixed" >/dev/null 2>&1
	fsck_clean "$WORK/fixed" >/dev/null
	echo "cut $cut/$total: $verdict"
done
exit 0
