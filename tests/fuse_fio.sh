#!/bin/bash
# tests/fuse_fio.sh - fio with crc32c verification on an e4lab mount: sequential
# and random writes with psync and the mmap engine, several jobs at once, some
# with fsync and fallocate; then e2fsck -fn is clean and fio verifies the same
# files again through e4lab (remount) and through a kernel loop mount.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$E4LAB_SRCDIR/tests/fuse_lib.sh"

fuse_require
command -v fio >/dev/null 2>&1 || skip "fio is not installed"
img=$WORK/fio.img
mnt=$WORK/mnt
mkdir -p "$mnt"
SIZE=${E4LAB_FIO_SIZE:-6M}
REPLAY="E4LAB_FIO_SIZE=$SIZE make check TESTS=tests/fuse_fio.sh"

# The jobs; fio's default seeds are fixed (randrepeat), so a second run with
# --verify_only checks what the first one wrote.
JOBS=(--size="$SIZE" --bs=4k --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0
	--name=seq --rw=write --ioengine=psync --numjobs=2
	--name=rand --rw=randwrite --ioengine=psync --numjobs=3 --fsync=16
	--name=big --rw=write --bs=128k --ioengine=psync --numjobs=1 --fallocate=posix
	--name=mmap-seq --rw=write --ioengine=mmap --numjobs=2
	--name=mmap-rand --rw=randwrite --ioengine=mmap --numjobs=2)

# run_fio LOG DIR [fio options...]: fio must exit 0 and report no error.
run_fio() {
	local log=$1 dir=$2
	shift 2
	echo "+ fio --directory=$dir $* ${JOBS[*]} >$log"
	if ! timeout 300 fio --directory="$dir" "$@" "${JOBS[@]}" >"$log" 2>&1; then
		grep -i -m 20 "error\|verify\|bad" "$log" || tail -n 30 "$log"
		fail "fio reported an error ($log)"
	fi
	if grep -q "err=[ ]*[1-9]" "$log"; then
		grep "err=" "$log"
		fail "a fio job reported err != 0"
	fi
}

step "mkfs and mount"
expect 0 "$E4LAB" mkfs "$img" 256M
fuse_mount "$img" "$mnt"

step "fio writes and verifies (size $SIZE per job, 10 jobs)"
run_fio "$WORK/fio.write.log" "$mnt"
grep "WRITE:" "$WORK/fio.write.log" || true
(cd "$mnt" && ls -l | head -n 5)
fuse_umount "$mnt"
fsck_clean "$img"

step "remount: fio verifies the files again"
fuse_mount "$img" "$mnt"	# fio opens write jobs' files read-write even to verify
run_fio "$WORK/fio.verify.log" "$mnt" --verify_only
fuse_umount "$mnt"

step "the kernel reads the same data"
if can_loop_mount; then
	mkdir -p "$WORK/kmnt"
	loop_mount "$img" "$WORK/kmnt" || fail "loop mount"
	run_fio "$WORK/fio.kernel.log" "$WORK/kmnt" --verify_only
	loop_umount "$WORK/kmnt"
else
	echo "(kernel check skipped: $LOOP_REASON)"
fi
echo "PASS $TEST_NAME"
