#!/bin/bash
# tests/journal_kernel.sh - interop with the kernel's jbd2, both ways:
#  1. a log journal/ committed and never checkpointed is replayed by the
#     kernel (loop mount of a copy) and by e2fsck -fy, with the same files as
#     `e4lab recover`;
#  2. an image copied while the kernel had it mounted (after writes, a
#     removed directory -- revoke records -- and a sync: a log to replay) is
#     replayed by `e4lab recover` to the same metadata and files as the
#     kernel's own replay on mount.
. "$(dirname "$0")/lib.sh"

JBD_TOOL=$E4LAB_BUILDDIR/tests/unit/test_jbd_tool
[ -x "$JBD_TOOL" ] || fail "$JBD_TOOL is not built"
can_loop_mount || skip "cannot loop-mount: $LOOP_REASON"
MNT=$WORK/mnt
mkdir -p "$MNT"

# tree IMG: every path with its type, size and checksum (debugfs rdump).
tree() {
	local d
	d=$(mktemp -d "$WORK/rdump.XXXXXX")
	debugfs -R "rdump / $d" "$1" >/dev/null 2>&1
	(cd "$d" && find . -mindepth 1 ! -path './lost+found*' | sort | while read -r f; do
		if [ -d "$f" ]; then echo "$f/"; else echo "$f $(stat -c %s "$f") $(md5sum <"$f" | cut -c1-32)"; fi
	done)
	rm -rf "$d"
}

step "ours -> kernel: a log committed by journal/, replayed on mount"
mkfs.ext4 -q -F -O metadata_csum,64bit "$WORK/base" 64M >/dev/null 2>&1 || fail mkfs
expect 0 "$JBD_TOOL" write "$WORK/base" 30 crash
cp "$WORK/base" "$WORK/kernel"; cp "$WORK/base" "$WORK/e2fsck"; cp "$WORK/base" "$WORK/ours"
loop_mount "$WORK/kernel" "$MNT" || fail "mount of our journal failed: $(dmesg | tail -3)"
[ -f "$MNT/f029" ] && [ -d "$MNT/d029" ] || fail "kernel replay lost files: $(ls "$MNT" | tail -3)"
loop_umount "$MNT"
fsck_clean "$WORK/kernel"
e2fsck -fy "$WORK/e2fsck" >/dev/null 2>&1
fsck_clean "$WORK/e2fsck"
expect 0 "$E4LAB" recover "$WORK/ours"
fsck_clean "$WORK/ours"
tree "$WORK/kernel" >"$WORK/t.kernel"; tree "$WORK/e2fsck" >"$WORK/t.e2fsck"; tree "$WORK/ours" >"$WORK/t.ours"
[ "$(grep -c '^\./f' "$WORK/t.ours")" = 30 ] || fail "our replay: $(grep -c '^\./f' "$WORK/t.ours") files, expected 30"
diff "$WORK/t.kernel" "$WORK/t.ours" || fail "kernel and e4lab replays differ"
diff "$WORK/t.e2fsck" "$WORK/t.ours" || fail "e2fsck and e4lab replays differ"

for features in metadata_csum,64bit ^metadata_csum,^64bit; do
	step "kernel -> ours ($features): an image copied while mounted"
	REPLAY="mkfs.ext4 -O $features; mount; write; sync; cp while mounted"
	mkfs.ext4 -q -F -O "$features" "$WORK/k" 64M >/dev/null 2>&1 || fail mkfs
	loop_mount "$WORK/k" "$MNT" || fail "mount"
	mkdir -p "$MNT/a/b/c" "$MNT/gone"
	for i in $(seq 1 40); do
		head -c $((i * 1531)) /dev/urandom >"$MNT/a/file$i"
	done
	for i in $(seq 1 10); do echo "small $i" >"$MNT/a/b/s$i"; done
	mv "$MNT/a/file3" "$MNT/a/b/c/moved"
	rm -f "$MNT/a/file4" "$MNT/a/file5"
	rmdir "$MNT/gone"
	ln -s a/b/c/moved "$MNT/link"
	mkdir "$MNT/many"		# directory blocks freed after a commit: revokes
	for i in $(seq 1 300); do echo x >"$MNT/many/a_long_file_name_$i"; done
	sync
	rm -rf "$MNT/many"
	sync
	cp --sparse=always "$WORK/k" "$WORK/copy"	# a log to replay
	loop_umount "$MNT"
	"$E4LAB" journal "$WORK/copy" >"$WORK/j.out" 2>&1 || fail "e4lab journal: $(tail -3 "$WORK/j.out")"
	grep -q "summary: [1-9][0-9]* complete transaction" "$WORK/j.out" ||
		skip "the kernel left nothing to replay (it checkpointed before the copy)"
	if grep -q "[1-9][0-9]* logged blocks\? revoked" "$WORK/j.out"; then
		echo "the kernel's log has revoke records: $(grep '^summary' "$WORK/j.out")"
	else
		echo "note: no revoked blocks in this log: $(grep '^summary' "$WORK/j.out")"
	fi
	cp "$WORK/copy" "$WORK/ours"; cp "$WORK/copy" "$WORK/kernel"
	expect 0 "$E4LAB" recover "$WORK/ours"
	fsck_clean "$WORK/ours"
	loop_mount "$WORK/kernel" "$MNT" || fail "mount of the copy"
	loop_umount "$MNT"
	tree "$WORK/ours" >"$WORK/t.ours"; tree "$WORK/kernel" >"$WORK/t.kernel"
	diff "$WORK/t.kernel" "$WORK/t.ours" || fail "kernel and e4lab replays of the kernel's log differ"
	grep -q "^./a/b/c/moved " "$WORK/t.ours" || fail "replayed tree is missing files"
	# The replayed metadata itself: every block the log names, byte for byte,
	# against e2fsck's replay (the kernel's mount changes them again at once).
	awk '$1 == "tag" { print $5 }' "$WORK/j.out" | sort -un | head -400 >"$WORK/blocks"
	bs=$(dumpe2fs -h "$WORK/copy" 2>/dev/null | awk '/^Block size/ { print $3 }')
	cp "$WORK/copy" "$WORK/e2"
	e2fsck -E journal_only -y "$WORK/e2" >/dev/null 2>&1
	while read -r b; do
		[ "$b" -le 2 ] && continue	# superblock and descriptors: e2fsck updates them
		cmp -s <(dd if="$WORK/ours" bs="$bs" skip="$b" count=1 status=none) \
			<(dd if="$WORK/e2" bs="$bs" skip="$b" count=1 status=none) ||
			fail "block $b differs between e4lab's and e2fsck's replay"
	done <"$WORK/blocks"
	rm -f "$WORK/k" "$WORK/copy" "$WORK/ours" "$WORK/kernel" "$WORK/e2"
done
echo "PASS $TEST_NAME"
