#!/bin/bash
# tests/fsck_corpus.sh - `e4lab fsck` on every image of e2fsprogs' test corpus
# (../shared/corpus/e2fsprogs), against the verdict each expect.1 implies
# (verdicts.tsv).  Prints the agreement and every disagreement; fails below
# 95%, on a crash or hang, or when the exit status does not match the verdict.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

CORPUS=${E4LAB_CORPUS:-$E4LAB_SRCDIR/../shared/corpus/e2fsprogs}
[ -r "$CORPUS/verdicts.tsv" ] || skip "no corpus at $CORPUS"
LIMIT=${E4LAB_FSCK_TIMEOUT:-60}

total=0 agree=0
disagree=()
while IFS=$'\t' read -r name _ _ _ want _; do
	[ "$name" = test ] && continue
	img=$CORPUS/$name/image.gz
	[ -r "$img" ] || continue
	total=$((total + 1))
	timeout "$LIMIT" "$E4LAB" fsck --json "$img" >"$OUT" 2>"$ERR"
	st=$?
	REPLAY="$E4LAB fsck $img"
	case $st in
	0|4|8) ;;
	124) fail "$name: no verdict within ${LIMIT}s (hang?)" ;;
	*) head -n 20 "$ERR"; fail "$name: exit status $st (crash?)" ;;
	esac
	got=$(sed -n '1s/.*"verdict": "\([a-z-]*\)".*/\1/p' "$OUT")
	[ -n "$got" ] || got="exit$st"
	case $got in
	clean|needs-recovery) [ $st = 0 ] || fail "$name: $got but exit $st" ;;
	corrupt) [ $st = 4 ] || fail "$name: corrupt but exit $st" ;;
	esac
	if [ "$got" = "$want" ]; then
		agree=$((agree + 1))
	else
		disagree+=("$name: expected $want, got $got")
	fi
done <"$CORPUS/verdicts.tsv"

[ $total -gt 0 ] || skip "corpus is empty"
pct=$((agree * 1000 / total))
echo "agreement: $agree/$total ($((pct / 10)).$((pct % 10))%)"
for d in "${disagree[@]}"; do echo "  disagree $d"; done
[ $((agree * 100)) -ge $((total * 95)) ] || fail "agreement below 95%"
exit 0
