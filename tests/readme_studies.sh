#!/bin/bash
# tests/readme_studies.sh - the README's Studies table is what
# `e4lab study --all --json` says now (tools/gen-studies-table --no-seconds).
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "python3 not installed"
readme=$E4LAB_SRCDIR/README.md
sed -n '/<!-- studies-table begin -->/,/<!-- studies-table end -->/p' "$readme" |
	sed '1d;$d' >"$WORK/readme.md"
E4LAB=$E4LAB python3 "$E4LAB_SRCDIR/tools/gen-studies-table" --no-seconds \
	--dir "$E4LAB_SRCDIR/studies" >"$WORK/now.md" ||
	fail "e4lab study --all did not hold (see the table below)"
if ! diff -u "$WORK/readme.md" "$WORK/now.md"; then
	fail "README.md's Studies table is stale: regenerate it with tools/gen-studies-table --no-seconds"
fi
echo "README Studies table: $(grep -c '^| ' "$WORK/now.md") lines, current"
