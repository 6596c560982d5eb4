#!/bin/bash
# tests/journal_corpus.sh - e2fsprogs' journal test images (shared/corpus/
# e2fsprogs: j_*, f_*jnl*, f_journal) recover as their expect.1 says: after
# `e4lab recover`, `e2fsck -fy` prints what expect.1 shows for the rest of the
# check (the journal lines, which are e2fsck's own recovery, removed), and
# `e4lab journal` prints every image without crashing.
. "$(dirname "$0")/lib.sh"

CORPUS=${E4LAB_CORPUS:-$E4LAB_SRCDIR/../shared/corpus/e2fsprogs}
[ -d "$CORPUS" ] || skip "no corpus at $CORPUS"
command -v e2fsck >/dev/null || skip "e2fsck not installed"

n=0
for dir in "$CORPUS"/j_* "$CORPUS"/f_*jnl* "$CORPUS"/f_journal; do
	[ -f "$dir/image.gz" ] && [ -f "$dir/expect.1" ] || continue
	name=$(basename "$dir")
	step "$name"
	REPLAY="zcat $dir/image.gz > IMG; e4lab recover IMG; e2fsck -fy -N test_filesys IMG"
	zcat "$dir/image.gz" >"$WORK/img" || fail "$name: zcat"
	"$E4LAB" journal "$WORK/img" >"$WORK/journal.out" 2>&1
	[ $? -le 2 ] || fail "$name: e4lab journal crashed: $(tail -3 "$WORK/journal.out")"
	"$E4LAB" recover "$WORK/img" >"$WORK/recover.out" 2>&1
	st=$?
	[ $st -le 2 ] || fail "$name: e4lab recover crashed (status $st)"
	e2fsck -fy -N test_filesys "$WORK/img" >"$WORK/fsck.out" 2>&1
	echo "Exit status is $?" >>"$WORK/fsck.out"
	# e2fsck's own journal replay lines are ours now; the rest must match.
	grep -v -e '^e2fsck [0-9]' -e 'recovering journal' -e 'while recovering journal' \
		-e 'was corrupt, replay was aborted' "$dir/expect.1" >"$WORK/want"
	grep -v -e '^e2fsck [0-9]' "$WORK/fsck.out" >"$WORK/got"
	if ! diff -u "$WORK/want" "$WORK/got"; then
		cat "$WORK/recover.out"
		fail "$name: e2fsck after e4lab recover differs from expect.1"
	fi
	n=$((n + 1))
done
[ $n -gt 0 ] || skip "no journal images in $CORPUS"
echo "PASS $TEST_NAME ($n images)"
