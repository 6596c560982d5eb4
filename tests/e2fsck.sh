#!/bin/bash
# tests/e2fsck.sh - every image we make passes `e2fsck -fn`: block sizes 1024,
# 2048, 4096 by inode sizes 128, 256, 512, and without journal, inline_data or
# metadata_csum; fresh, filled with a varied tree, and after edits.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

have_e2fsck || skip "e2fsck is not installed"
SEED=${E4LAB_SEED:-3}
tree=$WORK/tree
gentree "$tree" demo "$SEED" 150

# check_config NAME MKFS-OPTIONS...: fresh, filled, edited; e2fsck after each.
check_config() {
	local name=$1 img=$WORK/$1.img
	shift
	REPLAY="E4LAB_SEED=$SEED make check TESTS=tests/e2fsck.sh  # config $name: mkfs $*"
	step "$name: mkfs $*"
	expect 0 "$E4LAB" mkfs "$@" "$img" 96M
	fsck_clean "$img"
	expect 0 "$E4LAB" put "$img" "$tree" /
	fsck_clean "$img"
	expect 0 "$E4LAB" mkdir -p "$img" /edit/deeper
	head -c 200000 /dev/urandom | "$E4LAB" write "$img" /edit/deeper/file || fail "write"
	echo tiny | "$E4LAB" write "$img" /edit/tiny || fail "write tiny"
	expect 0 "$E4LAB" truncate "$img" /edit/deeper/file 5000
	expect 0 "$E4LAB" truncate "$img" /edit/tiny 100000
	expect 0 "$E4LAB" mv "$img" /edit/deeper /moved
	local victim
	victim=$("$E4LAB" ls "$img" / | grep '^dir' | head -n 1)
	[ -n "$victim" ] && { expect 0 "$E4LAB" rm -r "$img" "/$victim"; }
	fsck_clean "$img"
	rm -f "$img"
}

for bs in 1024 2048 4096; do
	for is in 128 256 512; do
		# inline data needs room for system.data in the inode (as mke2fs says)
		feat=()
		[ $is = 128 ] && feat=(-O ^inline_data)
		check_config "b$bs-i$is" -b $bs -I $is "${feat[@]}"
	done
done
check_config no-journal --no-journal
check_config no-inline -O ^inline_data
check_config no-csum -O ^metadata_csum
check_config plain -O ^inline_data,^metadata_csum,^64bit --no-journal
echo "PASS $TEST_NAME"
