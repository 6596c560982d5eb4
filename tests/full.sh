#!/bin/bash
# tests/full.sh - putting more than fits: "No space left on device", exit 2; the
# image stays e2fsck-clean, everything written before is intact, and space freed
# by rm can be used again.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

SEED=${E4LAB_SEED:-5}
REPLAY="E4LAB_SEED=$SEED make check TESTS=tests/full.sh"
tree=$WORK/tree
img=$WORK/full.img
gentree "$tree" test "$SEED" 700

step "put a tree larger than the image"
expect 0 "$E4LAB" mkfs "$img" 24M
expect 2 "$E4LAB" put "$img" "$tree" /
cat "$ERR"
grep -q "No space left on device" "$ERR" || fail "no 'No space left on device' message"
fsck_clean "$img"

step "what was written before is intact"
expect 0 "$E4LAB" get "$img" / "$WORK/out"
# Every regular file copied must equal the original; at most one (the file being
# written when space ran out) may be shorter, and then a prefix of it.
short=0 files=0
while IFS= read -r -d '' f; do
	rel=${f#"$WORK/out/"}
	[ -e "$tree/$rel" ] || fail "$rel appeared from nowhere"
	size=$(stat -c %s "$f")
	files=$((files + 1))
	if [ "$size" != "$(stat -c %s "$tree/$rel")" ]; then
		short=$((short + 1))
		echo "partial: $rel ($size bytes)"
	fi
	cmp -n "$size" "$f" "$tree/$rel" >/dev/null || fail "$rel differs from the original"
done < <(find "$WORK/out" -path "$WORK/out/lost+found" -prune -o -type f -print0)
echo "$files files back, $short partial"
[ "$files" -gt 10 ] || fail "almost nothing was written before the image filled"
[ "$short" -le 1 ] || fail "$short files are partial"

step "free space by rm -r, then write again"
"$E4LAB" ls "$img" / >"$WORK/root" || fail "ls /"
while IFS= read -r name; do
	[ "$name" = lost+found ] || expect 0 "$E4LAB" rm -r "$img" "/$name"
done <"$WORK/root"
fsck_clean "$img"
head -c 1000000 /dev/urandom >"$WORK/after"
expect 0 "$E4LAB" put "$img" "$WORK/after" /after
expect 0 "$E4LAB" cat "$img" /after
cmp "$OUT" "$WORK/after" || fail "the file written after rm differs"
fsck_clean "$img"
echo "PASS $TEST_NAME"
