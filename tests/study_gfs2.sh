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
expect 0 "$E4LAB" explore "$F" --run pos_len --block 4096 --replay 2 --trace
grep -q "truncate_pagecache_range(4096, 8192)" "$OUT" || fail "pos_len: no truncate to 8192"
expect 0 "$E4LAB" explore "$F" --run pos_len_1 --block 4096 --replay 2 --trace
grep -q "truncate_pagecache_range(4096, 8191)" "$OUT" || fail "pos_len_1: no truncate to 8191"
expect 0 "$E4LAB" explore "$DIR/gfs2-prefault-hides.e4s" --run trim --block 4096 --replay 2 --trace
grep -q "WARN_ON_ONCE(!bytes)" "$OUT" || fail "trim: the short write did not pass through !bytes"
expect 0 "$E4LAB" explore "$DIR/gfs2-short-write-punch.e4s" --run bug --block 4096 --replay 2 --trace
grep -q "punch \[8192, 12288)" "$OUT" || fail "gfs2 punch range is not [8192, 12288)"
expect 0 "$E4LAB" explore "$DIR/gfs2-short-write-punch.e4s" --run fixed --block 4096 --replay 2 --trace
grep -q "punch \[8192, 16384)" "$OUT" || fail "fixed punch range is not [8192, 16384)"
exit 0
