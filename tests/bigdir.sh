#!/bin/bash
# tests/bigdir.sh - one directory with 100,000 entries: put, list, look up, get
# back, e2fsck, the kernel lists it too (where loop mounts are allowed), and rm -r
# empties it again.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

export LC_ALL=C
N=${E4LAB_BIGDIR_FILES:-100000}
REPLAY="E4LAB_BIGDIR_FILES=$N make check TESTS=tests/bigdir.sh"
img=$WORK/big.img
mkdir "$WORK/d"
(cd "$WORK/d" && seq -f 'entry-with-a-longish-name-%06g' 1 "$N" | xargs touch) || fail "touch"
echo "some data" >"$WORK/d/entry-with-a-longish-name-000001"
ls "$WORK/d" >"$WORK/names"

step "put $N entries into one directory"
expect 0 "$E4LAB" mkfs -i 4096 "$img" 512M
expect 0 "$E4LAB" put "$img" "$WORK/d" /big
fsck_clean "$img"

step "list, look up, get back"
expect 0 "$E4LAB" ls "$img" /big
diff "$OUT" "$WORK/names" >/dev/null || fail "ls /big does not list the $N names"
expect 0 "$E4LAB" stat "$img" "/big/$(tail -n 1 "$WORK/names")"
expect 0 "$E4LAB" cat "$img" /big/entry-with-a-longish-name-000001
[ "$(cat "$OUT")" = "some data" ] || fail "cat of one entry"
expect 0 "$E4LAB" get "$img" /big "$WORK/out"
[ "$(ls "$WORK/out" | wc -l)" = "$N" ] || fail "get did not bring back $N entries"
cmp "$WORK/out/entry-with-a-longish-name-000001" "$WORK/d/entry-with-a-longish-name-000001" ||
	fail "get: contents"

if can_loop_mount; then
	step "the kernel lists it"
	mkdir "$WORK/mnt"
	loop_mount "$img" "$WORK/mnt" -o ro || fail "mount"
	ls "$WORK/mnt/big" | diff - "$WORK/names" >/dev/null || fail "the kernel lists other names"
	loop_umount "$WORK/mnt"
else
	echo "(kernel check skipped: $LOOP_REASON)"
fi

step "rm -r"
expect 0 "$E4LAB" rm -r "$img" /big
expect 0 "$E4LAB" ls "$img" /
[ "$(cat "$OUT")" = lost+found ] || fail "rm -r left: $(head -n 3 "$OUT")"
fsck_clean "$img"
echo "PASS $TEST_NAME"
