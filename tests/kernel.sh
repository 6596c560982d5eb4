#!/bin/bash
# tests/kernel.sh - interop with the Linux kernel, both ways: the kernel loop-mounts
# our image and reads the same tree; an image made by mkfs.ext4 and filled on a
# loop mount is read by e4lab identically, and after e4lab edits it e2fsck -fn is
# clean and the kernel mounts it and sees the edits.  Skips where mounting is not
# permitted; the trap in lib.sh always unmounts and detaches.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

can_loop_mount || skip "cannot loop-mount ext4 here: $LOOP_REASON"
SEED=${E4LAB_SEED:-11}
FILES=${E4LAB_FILES:-800}
REPLAY="E4LAB_SEED=$SEED E4LAB_FILES=$FILES make check TESTS=tests/kernel.sh"
tree=$WORK/tree
mnt=$WORK/mnt
mkdir -p "$mnt"
gentree "$tree" test "$SEED" "$FILES"

step "the kernel reads an image e4lab made"
img=$WORK/ours.img
expect 0 "$E4LAB" mkfs "$img" 512M
expect 0 "$E4LAB" put "$img" "$tree" /
fsck_clean "$img"
loop_mount "$img" "$mnt" -o ro || fail "the kernel refused to mount our image"
same_tree "$tree" "$mnt" lost+found
loop_umount "$mnt"

# kernel_image NAME NS MKFS.EXT4-OPTIONS...: mkfs.ext4, cp -a the tree on a loop
# mount; e4lab must read it as the kernel does; then e4lab edits it and e2fsck
# and the kernel check the edits.  NS=1: the inodes keep nanoseconds (256 bytes
# or more), so the copies must also match the original tree.
kernel_image() {
	local name=$1 ns=$2 img=$WORK/$1.img
	shift 2
	step "$name: mkfs.ext4 $*, filled by the kernel"
	truncate -s 512M "$img"
	mkfs.ext4 -q -F "$@" "$img" || fail "mkfs.ext4 $*"
	loop_mount "$img" "$mnt" || fail "mount $img"
	cp -a "$tree/." "$mnt/" || fail "cp -a into the loop mount"
	loop_umount "$mnt"

	step "$name: e4lab reads what the kernel wrote, as the kernel does"
	force_rm "$WORK/out"
	expect 0 "$E4LAB" get "$img" / "$WORK/out"
	loop_mount "$img" "$mnt" -o ro || fail "mount $img"
	same_tree "$mnt" "$WORK/out" lost+found
	loop_umount "$mnt"
	[ "$ns" = 1 ] && same_tree "$tree" "$WORK/out" lost+found

	step "$name: e4lab edits it"
	local victim file
	victim=$(cd "$tree" && ls -d dir* | head -n 1)
	file=$(cd "$tree" && find . -type f -size +20k | head -n 1)
	head -c 300000 /dev/urandom >"$WORK/new"
	expect 0 "$E4LAB" write "$img" /new-file <"$WORK/new"
	expect 0 "$E4LAB" mkdir -p "$img" /made/by/e4lab
	expect 0 "$E4LAB" mv "$img" /new-file /made/by/e4lab/moved
	expect 0 "$E4LAB" rm -r "$img" "/$victim"
	expect 0 "$E4LAB" truncate "$img" "/$file" 1000
	expect 0 "$E4LAB" put "$img" "$tree/$victim" /again
	fsck_clean "$img"
	force_rm "$WORK/again"
	expect 0 "$E4LAB" get "$img" /again "$WORK/again"
	[ "$ns" = 1 ] && same_subtree "$tree/$victim" "$WORK/again"

	step "$name: the kernel sees the edits"
	loop_mount "$img" "$mnt" -o ro || fail "the kernel refused the edited image"
	cmp "$mnt/made/by/e4lab/moved" "$WORK/new" || fail "written file differs"
	[ ! -e "$mnt/$victim" ] || fail "/$victim is still there"
	[ "$(stat -c %s "$mnt/$file")" = 1000 ] || fail "truncate not seen"
	cmp -n 1000 "$mnt/$file" "$tree/$file" || fail "truncated data differs"
	same_tree "$mnt/again" "$WORK/again"
	loop_umount "$mnt"
	rm -f "$img"
}

kernel_image default 1
kernel_image inline 1 -O inline_data -I 256
kernel_image small-blocks 0 -b 1024 -I 128
echo "PASS $TEST_NAME"
