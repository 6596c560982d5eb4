#!/bin/bash
# tests/fsck_clean.sh - `e4lab fsck` calls clean what is clean: images from
# mkfs.ext4 (several feature sets), mke2fs -d with a tree, e4lab mkfs + put,
# and the kernel (loop mount, write, unmount; skipped where mount is not
# permitted).  A kernel image copied while still mounted must not be corrupt.
# Every image is also checked by e2fsck -fn, so a dirty image fails loudly.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

SEED=${E4LAB_SEED:-5}
tree=$WORK/tree
gentree "$tree" demo "$SEED" 200

# clean IMAGE: e2fsck -fn agrees it is clean, and e4lab fsck says clean (exit 0).
clean() {
	local img=$1
	fsck_clean "$img"
	expect 0 "$E4LAB" fsck --json "$img"
	grep -q '"verdict": "clean"' "$OUT" || { head -n 20 "$OUT"; fail "$img: not clean"; }
	echo "e4lab fsck $img: clean"
}

mkfs_case() {
	local name=$1 img=$WORK/$1.img
	shift
	REPLAY="make check TESTS=tests/fsck_clean.sh  # mkfs.ext4 $* $name"
	step "mkfs.ext4 $*"
	rm -f "$img"
	mkfs.ext4 -q -F "$@" "$img" 32M >/dev/null 2>&1 || fail "mkfs.ext4 $*"
	clean "$img"
	rm -f "$img"
}

mkfs_case default
mkfs_case b1k -b 1024
mkfs_case nocsum -O ^metadata_csum,uninit_bg
mkfs_case inline -O inline_data
mkfs_case nojournal -O ^has_journal
mkfs_case ext2 -t ext2
mkfs_case ext3 -t ext3
mkfs_case bigalloc -O bigalloc -C 16384
mkfs_case i128 -I 128
mkfs_case quota -O quota,project

step "mke2fs -d with a tree"
for opts in "-t ext4" "-t ext4 -O inline_data -b 1024" "-t ext2"; do
	rm -f "$WORK/d.img"
	REPLAY="E4LAB_SEED=$SEED make check TESTS=tests/fsck_clean.sh  # mke2fs $opts -d"
	mke2fs -q -F $opts -d "$tree" "$WORK/d.img" 64M >/dev/null 2>&1 || fail "mke2fs $opts -d"
	clean "$WORK/d.img"
done

step "e4lab mkfs + put"
REPLAY="E4LAB_SEED=$SEED make check TESTS=tests/fsck_clean.sh  # e4lab mkfs + put"
rm -f "$WORK/e.img"
expect 0 "$E4LAB" mkfs "$WORK/e.img" 64M
clean "$WORK/e.img"
expect 0 "$E4LAB" put "$WORK/e.img" "$tree" /
clean "$WORK/e.img"

if ! can_loop_mount; then
	echo "SKIP kernel images: $LOOP_REASON"
	exit 0
fi

step "kernel: mount, write, unmount"
REPLAY="E4LAB_SEED=$SEED make check TESTS=tests/fsck_clean.sh  # kernel image"
img=$WORK/k.img mnt=$WORK/mnt
mkdir -p "$mnt"
mkfs.ext4 -q -F -O inline_data "$img" 64M >/dev/null 2>&1 || fail "mkfs.ext4"
loop_mount "$img" "$mnt" || fail "mount"
cp -a "$tree/." "$mnt/" || fail "cp"
mkdir -p "$mnt/k/sub"
for i in $(seq 1 40); do printf 'x%.0s' $(seq 1 $i) > "$mnt/k/small$i"; done
head -c 3000000 /dev/urandom > "$mnt/k/big"
ln -s small1 "$mnt/k/link"
ln -s "$(printf 'long%.0s' $(seq 1 30))" "$mnt/k/longlink"
ln "$mnt/k/small2" "$mnt/k/sub/hard"
rm -f "$mnt/k/small3" "$mnt/k/small4"
truncate -s 1000 "$mnt/k/big"
sync
cp "$img" "$WORK/live.img"	# still mounted: the journal may need replay
loop_umount "$mnt"
clean "$img"

step "kernel image copied while mounted"
REPLAY="E4LAB_SEED=$SEED make check TESTS=tests/fsck_clean.sh  # live copy"
"$E4LAB" fsck --json "$WORK/live.img" >"$OUT" 2>"$ERR"
st=$?
[ $st = 0 ] || { head -n 20 "$OUT"; fail "live copy: exit $st"; }
grep -Eq '"verdict": "(clean|needs-recovery)"' "$OUT" || { head -n 20 "$OUT"; fail "live copy: verdict"; }
grep -o '"verdict": "[a-z-]*"' "$OUT"
exit 0
