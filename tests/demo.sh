#!/bin/bash
# tests/demo.sh - `e4lab demo DIR` runs every step and exits 0.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

expect 0 "$E4LAB" demo "$WORK/demo"
cat "$OUT"
grep -q "All .* steps passed" "$OUT" || fail "the demo did not report success"
[ -f "$WORK/demo/demo.img" ] || fail "no image left in the demo directory"
expect 2 "$E4LAB" demo "$WORK/demo"
echo "PASS $TEST_NAME"
