#!/bin/bash
# tests/journal_reuse_kernel.sh - the crashed images of tests/unit/test_reuse,
# replayed by the kernel (loop mount): a file whose deletion never committed
# comes back with its own bytes, never those of the file written after it,
# and a log with revoke records (freed directory blocks) replays clean.
. "$(dirname "$0")/lib.sh"

REUSE=$E4LAB_BUILDDIR/tests/unit/test_reuse
[ -x "$REUSE" ] || fail "$REUSE is not built"
can_loop_mount || skip "cannot loop-mount: $LOOP_REASON"
MNT=$WORK/mnt
mkdir -p "$MNT" "$WORK/keep"
REPLAY="E4LAB_REUSE_KEEP=DIR tests/unit/test_reuse; loop-mount DIR/NAME.img"

step "test_reuse, keeping its crashed images"
E4LAB_REUSE_KEEP=$WORK/keep E4LAB_BUILDDIR=$E4LAB_BUILDDIR "$REUSE" >"$WORK/reuse.out" 2>&1 ||
	fail "test_reuse failed: $(tail -5 "$WORK/reuse.out")"

head -c 65536 /dev/zero | tr '\0' '\252' >"$WORK/A.want"
for name in reuse reuse-falloc; do
	step "kernel replay of $name: /A holds its own bytes or is gone"
	loop_mount "$WORK/keep/$name.img" "$MNT" || fail "mount of $name: $(dmesg | tail -3)"
	if [ -e "$MNT/A" ]; then
		cmp -s "$MNT/A" "$WORK/A.want" || { loop_umount "$MNT"; fail "$name: /A has another file's bytes"; }
	fi
	loop_umount "$MNT"
	fsck_clean "$WORK/keep/$name.img"
done

step "kernel replay of a log with revoke records"
debugfs -R logdump "$WORK/keep/revoke.img" 2>/dev/null | grep -q 'revoke table' ||
	fail "no revoke record in the kept log"
loop_mount "$WORK/keep/revoke.img" "$MNT" || fail "mount of revoke: $(dmesg | tail -3)"
[ ! -e "$MNT/d" ] || { loop_umount "$MNT"; fail "the removed directory came back"; }
loop_umount "$MNT"
fsck_clean "$WORK/keep/revoke.img"
echo "PASS $TEST_NAME"
