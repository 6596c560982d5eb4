#!/bin/bash
# tests/badimages.sh - every image of e2fsprogs' test corpus (most of them corrupt)
# through `info`, `ls -l /` and a recursive `get /`, each under a timeout: the exit
# status must be 0 or 2, never a crash (signal, sanitizer report) or a hang.
# Images run $E4LAB_JOBS (default: the CPU count) at a time.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

CORPUS=${E4LAB_CORPUS:-$E4LAB_SRCDIR/../shared/corpus/e2fsprogs}
LIMIT=${E4LAB_TIMEOUT:-20}
JOBS=${E4LAB_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ -d "$CORPUS" ] || skip "no corpus at $CORPUS"
command -v timeout >/dev/null || skip "timeout(1) is not installed"
# A sanitizer report must not look like an orderly exit status.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=66"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:exitcode=66:print_stacktrace=1"
mkdir "$WORK/res"

# run_one NAME WHAT CMD...: one command under the timeout; appends "WHAT=STATUS"
# to NAME's summary line and its status to NAME.st; on failure, NAME.fail.
run_one() {
	local name=$1 what=$2 st r=$WORK/res/$1
	shift 2
	timeout -k 5 "$LIMIT" "$E4LAB" "$@" >"$r.out" 2>"$r.err"
	st=$?
	printf ' %s=%s' "$what" "$st" >>"$r.line"
	echo "$st" >>"$r.st"
	[ -s "$r.msg" ] || head -n 1 "$r.err" | cut -c 1-100 >"$r.msg"
	case $st in
	0 | 2) ;;
	*)
		{
			echo "FAIL $name: $what exited $st$([ $st = 124 ] && echo ' (timeout)')"
			echo "  replay: $E4LAB $*"
			head -n 15 "$r.err" | sed 's/^/  /'
		} >>"$r.fail"
		;;
	esac
}

# run_image IMAGE: the three commands on one image.
run_image() {
	local img=$1 name
	name=$(basename "$(dirname "$img")")
	: >"$WORK/res/$name.line"
	run_one "$name" info info "$img"
	run_one "$name" ls ls -l "$img" /
	mkdir "$WORK/res/$name.get"
	run_one "$name" get get "$img" / "$WORK/res/$name.get"
	force_rm "$WORK/res/$name.get"
}

n=0
for img in "$CORPUS"/*/image.gz; do
	[ -e "$img" ] || continue
	n=$((n + 1))
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n
	done
	run_image "$img" &
done
wait
[ $n -gt 0 ] || skip "the corpus at $CORPUS is empty"

for img in "$CORPUS"/*/image.gz; do
	name=$(basename "$(dirname "$img")")
	printf '%-30s%s  %s\n' "$name" "$(cat "$WORK/res/$name.line")" "$(cat "$WORK/res/$name.msg")"
done
cat "$WORK"/res/*.fail 2>/dev/null
ok0=$(cat "$WORK"/res/*.st | grep -cx 0)
ok2=$(cat "$WORK"/res/*.st | grep -cx 2)
total=$(cat "$WORK"/res/*.st | wc -l)
bad=$((total - ok0 - ok2))
echo "$n images, $total commands: $ok0 exited 0, $ok2 exited 2, $bad failed"
[ "$total" = $((n * 3)) ] || fail "only $total of $((n * 3)) commands ran"
[ $bad = 0 ] || fail "$bad commands crashed or hung"
echo "PASS $TEST_NAME"
