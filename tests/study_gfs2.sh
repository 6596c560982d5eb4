#!/bin/bash
# tests/study_gfs2.sh - the gfs2/iomap studies of seed 001 (issue 7) hold, and the
# schedule each bug run reports, replayed, gives the same verdict.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

DIR=$E4LAB_SRCDIR/studies
STUDIES="gfs2-short-write-punch iomap-write-failed-off-by-one gfs2-prefault-hides"

for s in $STUDIES; do
	step "$s holds"
	REPLAY="e4lab study $s --dir $DIR"
	expect 0 "$E4LAB" study "$s" --dir "$DIR"
	cat "$OUT"
	grep -q "FAIL" "$OUT" && fail "$s: a FAIL line"
done

step "replays reproduce the verdicts"
command -v python3 >/dev/null || skip "python3 is needed to read the JSON"
for s in $STUDIES; do
	expect 0 "$E4LAB" study "$s" --dir "$DIR" --json
	python3 - "$OUT" >"$WORK/runs" <<'PY'
import json, sys
for st in json.load(open(sys.argv[1]))["studies"]:
    for r in st["runs"]:
        if r["schedule"] is not None:
            print(st["study"], r["label"], r["block"], r["verdict"], r["schedule"] or "-")
PY
	while read -r study label block verdict sched; do
		[ "$sched" = - ] && sched=""
		REPLAY="e4lab explore $DIR/$study.e4s --run $label --block $block --replay \"$sched\" --trace"
		"$E4LAB" explore "$DIR/$study.e4s" --run "$label" --block "$block" \
			--replay "$sched" --json >"$OUT" 2>"$ERR"
		got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["studies"][0]["runs"][0]["verdict"])' "$OUT") ||
			fail "no JSON from the replay of $study $label"
		[ "$got" = "$verdict" ] || fail "$study $label block=$block: replay gave $got, expected $verdict"
		echo "$study $label block=$block: $got (schedule \"$sched\")"
	done <"$WORK/runs"
done
REPLAY=""

step "the traces show what each policy changes"
F=$DIR/iomap-write-failed-off-by-one.e4s
# Both failure paths of iomap_write_failed, each ending in clean under both ends:
# the short copy accepted in the uptodate EOF page (truncate from the new i_size)
# and the rejected copy into the new page 1 (the range reaching byte 0 of page 2).
for c in "pos_len 4096 12 3096, 4096" "pos_len_1 4096 12 3096, 4095" \
	 "pos_len 4096 111112 4096, 8192" "pos_len_1 4096 111112 4096, 8191" \
	 "pos_len 1024 11111112 4096, 8192" "pos_len_1 1024 11111112 4096, 8191"; do
	set -- $c
	REPLAY="e4lab explore $F --run $1 --block $2 --replay \"$3\" --trace"
	expect 0 "$E4LAB" explore "$F" --run "$1" --block "$2" --replay "$3" --trace
	grep -q "truncate_pagecache_range($4 $5)" "$OUT" ||
		fail "$1 block=$2: no truncate_pagecache_range($4 $5)"
	grep -q "got=clean" "$OUT" || fail "$1 block=$2 schedule $3: not clean"
done
REPLAY=""
expect 0 "$E4LAB" study iomap-write-failed-off-by-one --dir "$DIR"
[ "$(grep -c "ok expect=clean got=clean .* complete" "$OUT")" = 4 ] ||
	fail "iomap-write-failed-off-by-one: not clean over the whole bound in all four runs"
expect 0 "$E4LAB" explore "$DIR/gfs2-prefault-hides.e4s" --run trim --block 4096 --replay 2 --trace
grep -q "WARN_ON_ONCE(!bytes)" "$OUT" || fail "trim: the short write did not pass through !bytes"
expect 0 "$E4LAB" explore "$DIR/gfs2-short-write-punch.e4s" --run bug --block 4096 --replay 2 --trace
grep -q "punch \[8192, 12288)" "$OUT" || fail "gfs2 punch range is not [8192, 12288)"
expect 0 "$E4LAB" explore "$DIR/gfs2-short-write-punch.e4s" --run fixed --block 4096 --replay 2 --trace
grep -q "punch \[8192, 16384)" "$OUT" || fail "fixed punch range is not [8192, 16384)"
exit 0
