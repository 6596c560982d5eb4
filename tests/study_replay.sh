#!/bin/bash
# tests/study_replay.sh - replaying the schedule a study reports reproduces its
# verdict (every bug run of every study, each block size), and --trace / --svg
# show the interleaving.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

DIR=$E4LAB_SRCDIR/studies
command -v python3 >/dev/null || skip "python3 is needed to read the JSON"

step "collect the reported schedules"
expect 0 "$E4LAB" study --all --json --dir "$DIR"
python3 - "$OUT" >"$WORK/runs" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["studies"]:
    for r in s["runs"]:
        if r["schedule"] is not None:
            print(s["study"], r["label"], r["block"], r["verdict"], r["schedule"] or "-")
PY
[ -s "$WORK/runs" ] || fail "no bug run reported a schedule"

step "each replay gives the same verdict"
while read -r study label block verdict sched; do
	[ "$sched" = - ] && sched=""
	REPLAY="e4lab explore $DIR/$study.e4s --run $label --block $block --replay \"$sched\" --trace"
	"$E4LAB" explore "$DIR/$study.e4s" --run "$label" --block "$block" --replay "$sched" \
		--json >"$OUT" 2>"$ERR"
	got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["studies"][0]["runs"][0]["verdict"])' "$OUT") ||
		fail "no JSON from the replay of $study $label"
	[ "$got" = "$verdict" ] || fail "$study $label block=$block: replay gave $got, expected $verdict"
	echo "$study $label block=$block: $got"
done <"$WORK/runs"
REPLAY=""

step "--trace and --svg"
expect 1 "$E4LAB" explore "$DIR/fix-idea42-2007.e4s" --run bug --block 4096 --strategy scripted
expect 0 "$E4LAB" study fix-idea42-2007 --dir "$DIR" --run bug --block 4096 --trace --svg "$WORK/t.svg"
grep -Eq "filemap_(nopage|fault)" "$OUT" || fail "the trace does not show the fault taking the page lock"
expect 0 "$E4LAB" study fix-zero-retry-2007 --dir "$DIR" --run transient --block 1024 --trace
grep -q "zeroed the uncopied tail" "$OUT" || fail "the trace has no page-state notes"
grep -q "<svg" "$WORK/t.svg" || fail "no SVG written"
grep -q "writer-a" "$WORK/t.svg" || fail "the SVG has no lane for writer-a"
exit 0
