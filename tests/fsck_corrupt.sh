#!/bin/bash
# tests/fsck_corrupt.sh - deliberate corruptions made with debugfs -w (and dd)
# on a mkfs.ext4 image are found and named: each case must make `e4lab fsck`
# exit 4 with the expected finding code, and e2fsck -fn must agree that the
# image is broken (so a case that corrupts nothing fails here too).
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

command -v debugfs >/dev/null 2>&1 || skip "debugfs is not installed"
have_e2fsck || skip "e2fsck is not installed"

base=$WORK/base.img
mkfs.ext4 -q -F -b 1024 -O inline_data "$base" 16M >/dev/null 2>&1 || fail "mkfs.ext4"
head -c 300000 /dev/urandom >"$WORK/big"
echo small >"$WORK/small"
# ten 1 KiB pieces with holes between: ten extents, a depth-1 tree
for i in $(seq 0 9); do
	head -c 1024 /dev/urandom | dd of="$WORK/sparse" bs=1024 seek=$((i * 8)) conv=notrunc status=none
done
cat >"$WORK/fill.cmds" <<EOC
mkdir d
write $WORK/big big
write $WORK/small small
write $WORK/small small2
write $WORK/small d/small3
symlink link small
write $WORK/sparse sparse
EOC
debugfs -w -f "$WORK/fill.cmds" "$base" >/dev/null 2>&1 || fail "debugfs fill"
fsck_clean "$base"
expect 0 "$E4LAB" fsck "$base"

# block_of PATH: the first data block of PATH.
block_of() { debugfs -R "bmap $1 0" "$base" 2>/dev/null; }
# ino_of PATH
ino_of() { debugfs -R "stat $1" "$base" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p'; }

# corrupt NAME CODE DEBUGFS-COMMANDS: a copy of the base image, broken, checked.
corrupt() {
	local name=$1 code=$2 cmds=$3 img=$WORK/$1.img st
	REPLAY="make check TESTS=tests/fsck_corrupt.sh  # case $name: debugfs -w -R '$cmds'"
	step "$name: $cmds"
	cp "$base" "$img"
	if [ -n "$cmds" ]; then
		printf '%s\n' "$cmds" >"$WORK/$name.cmds"
		debugfs -w -f "$WORK/$name.cmds" "$img" >/dev/null 2>&1 || fail "debugfs $cmds"
	fi
	[ -n "${DD_OFF:-}" ] && printf "$DD_BYTES" | dd of="$img" bs=1 seek="$DD_OFF" conv=notrunc status=none
	e2fsck -fn "$img" >/dev/null 2>&1
	st=$?
	# e2fsck -n leaves the orphan list alone, so it cannot judge that case
	[ $st -ge 4 ] || [ "${NO_ORACLE:-}" = 1 ] || fail "$name: e2fsck -fn exited $st: the corruption did not take"
	expect 4 "$E4LAB" fsck --json "$img"
	grep -q "\"code\": \"$code\"" "$OUT" || { head -n 20 "$OUT"; fail "$name: no $code finding"; }
	grep -q '"verdict": "corrupt"' "$OUT" || fail "$name: verdict is not corrupt"
	grep "\"code\": \"$code\"" "$OUT" | head -n 1
	rm -f "$img"
}

bigblk=$(block_of /big)
smallino=$(ino_of /small)
rootblk=$(block_of /)
leafblk=$(debugfs -R "ex /sparse" "$base" 2>/dev/null | awk '$1 == "0/" { print $8; exit }')
[ -n "$bigblk" ] && [ -n "$smallino" ] && [ -n "$rootblk" ] && [ -n "$leafblk" ] || fail "debugfs lookups"

corrupt bitmap_block BITMAP_BLOCK_DIFF "freeb $bigblk"
corrupt bitmap_inode BITMAP_INODE_DIFF "freei <$smallino>"
corrupt extent_header EXTENT_BAD_MAGIC "sif /big block[0] 0x1234"
corrupt extent_range EXTENT_BAD_BLOCK "sif /big block[5] 0x7fffffff"
corrupt inline_xattr INLINE_NO_XATTR "ea_rm /small system.data"
corrupt unlink INODE_UNATTACHED "unlink /small2"
corrupt links INODE_LINK_COUNT "sif /big links_count 3"
corrupt free_count GROUP_FREE_BLOCKS_COUNT "set_bg 0 free_blocks_count 3
set_bg 0 checksum calc"
corrupt symlink SYMLINK_BAD "sif /link size 40"
NO_ORACLE=1 corrupt orphan ORPHAN_LIST_CORRUPT "ssv last_orphan 5"
corrupt dtime INODE_DTIME_SET "sif /big dtime 12345"
corrupt filetype DIR_BAD_FILETYPE "set_inode_field /small mode 0020644"
# '..' of the root: rec_len 5 (not a multiple of 4) at byte 16 of its block
DD_OFF=$((rootblk * 1024 + 16)) DD_BYTES='\005\000' corrupt dirent DIR_CORRUPT ""
# the leaf block of /sparse: its magic, then one byte of an entry (checksum)
DD_OFF=$((leafblk * 1024)) DD_BYTES='\000\000' corrupt leaf_magic EXTENT_BAD_MAGIC ""
DD_OFF=$((leafblk * 1024 + 12 + 8)) DD_BYTES='\377' corrupt leaf_csum EXTENT_BLOCK_CSUM ""
# group 0's descriptor checksum (bg_checksum at byte 30; the table is block 2).
# e2fsck -n reports it ("One or more block group descriptor checksums are
# invalid") yet exits 0, as on the corpus image f_bad_gdt_csum.
DD_OFF=$((2 * 1024 + 30)) DD_BYTES='\064\022' NO_ORACLE=1 corrupt gdt_csum GROUP_DESC_CSUM ""
exit 0
