#!/bin/bash
# tests/study_ext4_inline.sh - the ext4 inline-data studies of seed 004 (issue 6):
# each holds (bug found under the buggy policy, fixes clean over the whole bounded
# space), replaying each reported schedule reproduces its verdict, and the trace
# shows the three pieces of inline state and the BUG the kernel has.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

DIR=$E4LAB_SRCDIR/studies
STUDIES="ext4-inline-mkwrite-writeback ext4-inline-mkwrite-race-a ext4-inline-mkwrite-race-b
ext4-inline-convert-at-mmap ext4-inline-retry-evict ext4-inline-retry-evict-gup
ext4-inline-fallocate-race ext4-inline-truncate-grow"

for s in $STUDIES; do
	step "$s"
	REPLAY="e4lab study $s"
	expect 0 "$E4LAB" study "$s" --dir "$DIR"
	cat "$OUT"
	grep -q "FAIL" "$OUT" && fail "$s: a run did not hold"
	# every (block, run) line with a schedule: replay it
	sed -n 's/^\([^ ]*\) block=\([0-9]*\) \([^:]*\): ok expect=[^ ]* got=\([^ ]*\) oracle=[^ ]* schedule="\([0-9a-zA-Z]*\)".*/\2 \3 \4 \5/p' "$OUT" >"$WORK/runs"
	while read -r block label verdict sched; do
		REPLAY="e4lab explore $DIR/$s.e4s --run $label --block $block --replay \"$sched\" --trace"
		"$E4LAB" explore "$DIR/$s.e4s" --run "$label" --block "$block" --replay "$sched" \
			>"$WORK/replay" 2>&1
		grep -q "got=$verdict " "$WORK/replay" ||
			fail "$s $label block=$block: the replay did not give $verdict"
	done <"$WORK/runs"
	REPLAY=""
done

step "race-b: the other order of the same race reaches block_write_end with no buffers"
REPLAY="e4lab explore $DIR/ext4-inline-mkwrite-race-b.e4s --run bug --block 4096 --replay 2222221 --trace"
expect 0 "$E4LAB" explore "$DIR/ext4-inline-mkwrite-race-b.e4s" --run bug --block 4096 \
	--replay 2222221 --trace
grep -q "block_write_end on /f folio 0 with no buffers" "$OUT" || fail "no NULL-buffers BUG"
grep -q "write_begin /f: inline folio, no buffers" "$OUT" || fail "the trace misses write_begin's path"
REPLAY=""

step "race-a: the trace shows the inline state destroyed and restored"
expect 0 "$E4LAB" study ext4-inline-mkwrite-race-a --dir "$DIR" --run bug --block 1024 --trace
grep -q "may_inline=0 INLINE_DATA=0 i_inline_size=0 (ext4_destroy_inline_data_nolock)" "$OUT" ||
	fail "the trace does not show the destroyed inline state"
grep -q "may_inline=1 INLINE_DATA=1 i_inline_size=60 (ext4_restore_inline_data)" "$OUT" ||
	fail "the trace does not show the restored inline state"
grep -q "BUG_ON(pos + len > i_inline_size)" "$OUT" || fail "no BUG_ON in the report"

step "retry-evict-gup: the get_user_pages caller gets the fallback"
expect 0 "$E4LAB" study ext4-inline-retry-evict-gup --dir "$DIR" --run fallback --block 4096 \
	--trace
grep -q "no FAULT_FLAG_ALLOW_RETRY: SIGBUS" "$OUT" || fail "no fallback in the trace"
step "the scenario format's ext4 words: errors name the line and what was expected"
cat >"$WORK/x.e4s" <<'E4S'
study x
image size=64K block=4096
file /f size=200 inline
task T1 t
  fsync /f
end
run r inline=mkwrite_xattr expect=clean
E4S
expect 2 "$E4LAB" explore "$WORK/x.e4s"
grep -q "x.e4s:3: an inline file holds at most 100 bytes" "$ERR" || fail "no error for a 200-byte inline file"
sed -i 's/size=200/size=20/; s/inline=mkwrite_xattr/inline=bogus/' "$WORK/x.e4s"
expect 2 "$E4LAB" explore "$WORK/x.e4s"
grep -q 'x.e4s:7: "inline=bogus" is not a value of inline (.*retry_evict.*tso_2025)' "$ERR" ||
	fail "no list of the inline= values"

step "e4lab stat shows the three pieces of inline state side by side"
expect 0 "$E4LAB" mkfs "$WORK/img" 8M
printf 'hello, inline world\n' >"$WORK/small"
expect 0 "$E4LAB" write "$WORK/img" /small <"$WORK/small"
expect 0 "$E4LAB" stat "$WORK/img" /small
grep -q "^inline state: may_inline=1 INLINE_DATA=1 i_inline_size=60$" "$OUT" ||
	fail "stat does not show may_inline, INLINE_DATA and i_inline_size"
exit 0
