#!/bin/bash
# tests/study_all.sh - every study in studies/ holds (e4lab study --all exits 0) in
# the world its file names, and the write-loop studies (world=engine: the real page
# cache, allocator and journal) hold in the model world too; the --json output has
# the documented shape; malformed scenario files are reported with their line
# number and exit status 2.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

DIR=$E4LAB_SRCDIR/studies

step "every study holds"
REPLAY="e4lab study --all --dir $DIR"
expect 0 "$E4LAB" study --all --dir "$DIR"
cat "$OUT"
n=$(ls "$DIR"/*.e4s | wc -l)
[ "$n" -ge 10 ] || fail "only $n studies in $DIR"
grep -q "FAIL" "$OUT" && fail "a FAIL line in the output"

step "the engine's studies hold in the model world too"
engine=$(grep -l '^image .*world=engine' "$DIR"/*.e4s | wc -l)
[ "$engine" -ge 10 ] || fail "only $engine studies run on the engine"
[ "$(grep -c 'world=engine$' "$OUT")" -ge $((engine * 4)) ] || fail "too few runs on the engine"
REPLAY="e4lab study --all --world model --dir $DIR"
expect 0 "$E4LAB" study --all --world model --dir "$DIR"
grep -q "FAIL" "$OUT" && fail "a FAIL line in the model's output"
grep -q "world=engine" "$OUT" && fail "--world model ran something on the engine"

step "--list names every study"
expect 0 "$E4LAB" study --list --dir "$DIR"
[ "$(wc -l <"$OUT")" = "$n" ] || fail "--list printed $(wc -l <"$OUT") lines for $n studies"

step "--json shape"
expect 0 "$E4LAB" study --all --json --dir "$DIR"
if command -v python3 >/dev/null; then
	python3 - "$OUT" "$n" <<'PY' || fail "the JSON does not have the documented shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"studies"}, d.keys()
assert len(d["studies"]) == int(sys.argv[2])
for s in d["studies"]:
    assert isinstance(s["study"], str) and s["ok"] is True, s
    assert s["runs"], s
    for r in s["runs"]:
        assert r["world"] in ("model", "engine"), r
        for k in ("policy", "expect", "verdict", "oracle", "schedule", "schedules_explored", "seconds"):
            assert k in r, (s["study"], k)
        assert r["expect"] in ("bug", "clean")
        assert r["schedules_explored"] >= 1 and r["seconds"] >= 0
        if r["expect"] == "clean":
            assert r["verdict"] == "clean" and r["oracle"] is None and r["schedule"] is None
        else:
            assert r["verdict"] == r["oracle"] != "clean" and isinstance(r["schedule"], str)
PY
else
	grep -q '^{"studies": \[{"study": ' "$OUT" || fail "the JSON does not start as documented"
fi

step "malformed files: line number, what was expected, exit 2"
bad() {	# bad LINE-TEXT EXPECTED-MESSAGE
	sed "s|^run bug .*|$1|" "$DIR/deadlock-same-page-2007.e4s" >"$WORK/x.e4s"
	expect 2 "$E4LAB" explore "$WORK/x.e4s"
	grep -q "$2" "$ERR" || { cat "$ERR"; fail "no '$2' in the error"; }
}
line=$(grep -n "^run bug" "$DIR/deadlock-same-page-2007.e4s" | cut -d: -f1)
bad "run bug write_loop=today2 expect=deadlock" "x.e4s:$line: \"write_loop=today2\" is not a value of write_loop"
bad "run bug write_loop=today" "x.e4s:$line: expected \"expect=VERDICT\""
bad "imgae size=1M" "x.e4s:$line: unknown directive \"imgae\""
bad "run bug write_loop=today expect=deadlock tasks=T9" "x.e4s:$line: \"T9\" in tasks= is not a task"
sed 's|world=engine|world=kernel|' "$DIR/deadlock-same-page-2007.e4s" >"$WORK/x.e4s"
expect 2 "$E4LAB" explore "$WORK/x.e4s"
grep -q 'expected "world=model" or "world=engine", got "kernel"' "$ERR" || fail "bad world= not reported: $(cat "$ERR")"
expect 1 "$E4LAB" study deadlock-same-page-2007 --world kernel --dir "$DIR"
printf 'study x\nimage size=64K block=1024\ntask T1 t\n  write /f off=0 src=m len=1\nend\n' >"$WORK/x.e4s"
expect 2 "$E4LAB" explore "$WORK/x.e4s"
grep -q "x.e4s:4: \"/f\" is not a file of this study" "$ERR" || fail "missing file not reported: $(cat "$ERR")"
expect 2 "$E4LAB" study no-such-study --dir "$DIR"
expect 1 "$E4LAB" study
expect 1 "$E4LAB" explore
exit 0
