#!/bin/bash
# tests/fuse_stress.sh - stress-ng's file-system stressors (hdd with verification,
# directories, hard links, renames, symlinks) on an e4lab mount for a bounded
# time: no stressor fails, umount completes, and e2fsck -fn is clean.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$E4LAB_SRCDIR/tests/fuse_lib.sh"

fuse_require
command -v stress-ng >/dev/null 2>&1 || skip "stress-ng is not installed"
img=$WORK/stress.img
mnt=$WORK/mnt
mkdir -p "$mnt"
SECS=${E4LAB_STRESS_SECS:-20}
REPLAY="E4LAB_STRESS_SECS=$SECS make check TESTS=tests/fuse_stress.sh"

step "mkfs and mount"
expect 0 "$E4LAB" mkfs "$img" 512M
fuse_mount "$img" "$mnt"
mkdir "$mnt/stress" || fail "mkdir"

step "stress-ng for ${SECS}s"
args=(--temp-path "$mnt/stress" --timeout "${SECS}s" --verify --metrics-brief
	--hdd 2 --hdd-bytes 8M --dir 1 --link 1 --rename 1 --symlink 1)
echo "+ stress-ng ${args[*]}"
timeout $((SECS * 4 + 60)) stress-ng "${args[@]}" >"$WORK/stress.log" 2>&1
st=$?
cat "$WORK/stress.log"
[ $st = 0 ] || fail "stress-ng exited $st"
grep -q "fail:\|error:" "$WORK/stress.log" && fail "stress-ng logged a failure"
# stress-ng removes its files; what is left must be an empty directory.
left=$(find "$mnt/stress" -mindepth 1 | head -n 5)
[ -z "$left" ] || echo "(left behind: $left)"
rmdir "$mnt/stress" 2>/dev/null || true

step "umount and check"
fuse_umount "$mnt"
fsck_clean "$img"
echo "PASS $TEST_NAME"
