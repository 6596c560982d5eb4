#!/bin/bash
# tests/fuse_read.sh - reads that `e4lab mount` answers from the image file
# itself (spliced; e4_image_runs) return what the engine holds: data only in the
# engine's page cache (written, not yet written back) or only in the journal
# (data=journal, committed, not checkpointed) wins over the stale home blocks;
# holes and unwritten extents over reused blocks read as zeros; fragmented
# files, unaligned O_DIRECT reads and the end of file come out right; and the
# same files read the same with -o nosplice.  The server runs with -d, so its
# log shows that replies were spliced.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$E4LAB_SRCDIR/tests/fuse_lib.sh"

fuse_require
img=$WORK/read.img
mnt=$WORK/mnt
ref=$WORK/ref
mkdir -p "$mnt" "$ref"
REPLAY="make check TESTS=tests/fuse_read.sh"

# same REF FILE WHAT: FILE (through the mount, opened afresh, so the kernel's
# cached pages are dropped) must equal REF.
same() {
	cmp "$1" "$2" || fail "$3: $2 differs from $1 ($REPLAY)"
}

# spliced DIR: how many replies the server of DIR has spliced so far.
spliced() {
	grep -c "(splice)" "$WORK/server.$(basename "$1").log"
}

step "files of every shape, written and unmounted"
expect 0 "$E4LAB" mkfs "$img" 128M
fuse_mount "$img" "$mnt"
head -c 6000000 /dev/urandom >"$ref/big"
cp "$ref/big" "$mnt/big" || fail "cp big"
head -c 5000 /dev/urandom >"$ref/odd"	# ends inside a block
cp "$ref/odd" "$mnt/odd" || fail "cp odd"
# sparse: data, a hole, data, a hole to the end
head -c 300000 /dev/urandom >"$ref/sparse"
truncate -s 1000000 "$ref/sparse"
head -c 200000 /dev/urandom >>"$ref/sparse"
truncate -s 3000000 "$ref/sparse"
cp --sparse=always "$ref/sparse" "$mnt/sparse" || fail "cp sparse"
# fragmented: two files written 8 KiB at a time in turn, so their extents
# interleave (more pieces per read request than a reply may have)
head -c 2097152 /dev/urandom >"$ref/fragA"
head -c 2097152 /dev/urandom >"$ref/fragB"
for i in $(seq 0 255); do
	dd if="$ref/fragA" of="$mnt/fragA" bs=8k skip=$i seek=$i count=1 conv=notrunc,fsync \
		status=none || fail "dd fragA"
	dd if="$ref/fragB" of="$mnt/fragB" bs=8k skip=$i seek=$i count=1 conv=notrunc,fsync \
		status=none || fail "dd fragB"
done
# blocks that held data, freed, then preallocated (unwritten) for another file
head -c 4000000 /dev/urandom >"$mnt/gone" || fail "write gone"
sync "$mnt/gone"
rm "$mnt/gone"
fuse_umount "$mnt"
head -c 4000000 /dev/zero >"$ref/zeros"

step "remount: everything reads back, spliced where the image holds it"
fuse_mount "$img" "$mnt" -d -o cache=1M
if command -v fallocate >/dev/null 2>&1; then
	fallocate -l 4000000 "$mnt/zeros" || fail "fallocate"
	same "$ref/zeros" "$mnt/zeros" "unwritten extent over freed blocks"
fi
for f in big odd sparse fragA fragB; do
	same "$ref/$f" "$mnt/$f" "read after remount"
done
n=$(spliced "$mnt")
echo "spliced replies: $n"
[ "$n" -gt 0 ] || fail "no reply was spliced from the image ($REPLAY)"
dd if="$mnt/big" of="$WORK/direct" bs=3000 skip=7 count=900 iflag=direct status=none ||
	fail "O_DIRECT read"
dd if="$ref/big" of="$WORK/direct.ref" bs=3000 skip=7 count=900 status=none
same "$WORK/direct.ref" "$WORK/direct" "unaligned O_DIRECT read"

step "written, not yet written back: the engine's page cache wins"
head -c 300000 /dev/urandom >"$WORK/patch"
dd if="$WORK/patch" of="$ref/big" bs=4k seek=100 conv=notrunc status=none
dd if="$WORK/patch" of="$mnt/big" bs=4k seek=100 conv=notrunc status=none || fail "dd patch"
same "$ref/big" "$mnt/big" "dirty pages in the engine"
truncate -s 2500 "$ref/odd" "$mnt/odd"
truncate -s 9000 "$ref/odd" "$mnt/odd"
same "$ref/odd" "$mnt/odd" "truncate down and up"
fuse_umount "$mnt"

step "data=journal: committed data the journal still holds wins over the home blocks"
fuse_mount "$img" "$mnt" -d -o data=journal,cache=1M
head -c 200000 /dev/urandom >"$WORK/jpatch"
dd if="$WORK/jpatch" of="$ref/big" bs=4k seek=300 conv=notrunc status=none
dd if="$WORK/jpatch" of="$mnt/big" bs=4k seek=300 conv=notrunc,fsync status=none ||
	fail "dd jpatch"
# push big's pages out of the 1 MiB engine cache: a hole reads through the engine
truncate -s 16M "$mnt/holes" || fail "truncate holes"
cat "$mnt/holes" >/dev/null
n0=$(spliced "$mnt")
same "$ref/big" "$mnt/big" "journaled data"
echo "spliced replies while reading big: $(($(spliced "$mnt") - n0))"
fuse_umount "$mnt"
fsck_clean "$img"

step "the same through the engine only (-o nosplice) and through the kernel"
fuse_mount "$img" "$mnt" -d -o nosplice
for f in big odd sparse fragA fragB; do
	same "$ref/$f" "$mnt/$f" "nosplice read"
done
[ "$(spliced "$mnt")" = 0 ] || fail "-o nosplice spliced replies"
fuse_umount "$mnt"
if can_loop_mount; then
	mkdir -p "$WORK/kmnt"
	loop_mount "$img" "$WORK/kmnt" || fail "loop mount"
	for f in big odd sparse fragA fragB; do
		same "$ref/$f" "$WORK/kmnt/$f" "kernel read"
	done
	loop_umount "$WORK/kmnt"
else
	echo "(kernel check skipped: $LOOP_REASON)"
fi
echo "PASS $TEST_NAME"
