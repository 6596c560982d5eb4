#!/bin/bash
# bench/study.sh - the kernel-model figures, run by hand (never by make check):
#   1. exploration rate: for every study and run, schedules explored, seconds and
#      schedules per second (from `e4lab study --all --json`); target: each
#      study's bounded space in under a second.
#   2. Nick Piggin's table (seed 003, "1GB dd" on tmpfs) on the real write loop,
#      scaled to SIZE_MIB (default 256): new file and overwrite of cached pages,
#      4 KiB and 64 KiB writes, each 2007 variant against today's loop, measured
#      in one run (interleaved, best of ROUNDS), as percentages of wall time.
#   3. The same table in instructions (valgrind --tool=callgrind, counting only
#      the dd phases; CG_MIB, default 16): exact and insensitive to machine load,
#      which on a shared 2-core box swamps the 1% differences of part 2.
# Usage: bench/study.sh [SIZE_MIB] [ROUNDS].  Needs python3 (parts 1 and 3) and
# valgrind (part 3, skipped without it).
# Build first: make && make check TESTS= (builds bench/study_write).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
E4LAB=${E4LAB:-$SRC/tools/e4lab}
BENCH_DIR=${BENCH_DIR:-$SRC/bench/out}
SIZE=${1:-256}
ROUNDS=${2:-3}
mkdir -p "$BENCH_DIR"

echo "== exploration rate (e4lab study --all --json)"
"$E4LAB" study --all --json --dir "$SRC/studies" >"$BENCH_DIR/study.json" || echo "(some expectation did not hold: see the ok column)"
python3 - "$BENCH_DIR/study.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("%-28s %-10s %5s %-10s %9s %8s %12s" % ("study", "run", "block", "verdict", "schedules", "seconds", "sched/s"))
for s in d["studies"]:
    tot_n = tot_t = 0
    for r in s["runs"]:
        rate = r["schedules_explored"] / r["seconds"] if r["seconds"] > 0 else float("inf")
        tot_n += r["schedules_explored"]; tot_t += r["seconds"]
        print("%-28s %-10s %5d %-10s %9d %8.3f %12.0f" % (s["study"], r["label"], r["block"],
              r["verdict"], r["schedules_explored"], r["seconds"], rate))
    print("%-28s %-10s %5s %-10s %9d %8.3f %12.0f" % (s["study"], "(all)", "", "ok" if s["ok"] else "FAIL",
          tot_n, tot_t, tot_n / tot_t if tot_t else 0))
PY

echo
echo "== Nick Piggin's table on the real write loop: ${SIZE} MiB, best of $ROUNDS"
"$SRC/bench/study_write" loops "$BENCH_DIR/study_write.img" "$SIZE" "$ROUNDS"
echo
echo "== the same through e4_pwrite (plain memory, no libfs/mm source)"
"$SRC/bench/study_write" pwrite "$BENCH_DIR/study_write.img" "$SIZE" "$ROUNDS"
rm -f "$BENCH_DIR/study_write.img"

command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null || {
	echo "(no valgrind: part 3 skipped)"; exit 0; }
CG_MIB=${CG_MIB:-16}
echo
echo "== Nick Piggin's table in instructions (callgrind, ${CG_MIB} MiB, dd phases only)"
for loop in today prepare_commit_2619 write_begin_2624 gup_pin_2007 zero_retry_2007 \
	    temp_page_2007 idea42_2007; do
	for kib in 4 64; do
		out=$BENCH_DIR/cg.$loop.$kib
		LD_LIBRARY_PATH=$SRC/.libs valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect=dd_new \
			--toggle-collect=dd_over "$SRC/bench/.libs/study_write" one "$loop" "$kib" \
			"$BENCH_DIR/study_write.img" "$CG_MIB" >/dev/null 2>&1 ||
			"$SRC/bench/study_write" one "$loop" "$kib" "$BENCH_DIR/study_write.img" 1 >/dev/null
		for fn in dd_new dd_over; do
			n=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
				grep -E "[: ]$fn( |\[|$)" | head -n 1 | awk '{print $1}' | tr -d ,)
			echo "$loop $kib $fn ${n:-0}"
		done
	done
done >"$BENCH_DIR/cg.txt"
rm -f "$BENCH_DIR/study_write.img" "$BENCH_DIR"/cg.*.4 "$BENCH_DIR"/cg.*.64
python3 - "$BENCH_DIR/cg.txt" <<'PY'
import sys
d = {}
for line in open(sys.argv[1]):
    loop, kib, fn, n = line.split()
    d[(loop, kib, fn)] = int(n)
cols = [("4", "dd_new", "new 4K"), ("64", "dd_new", "new 64K"),
        ("4", "dd_over", "overwrite 4K"), ("64", "dd_over", "overwrite 64K")]
print("%-20s" % "loop" + "".join("%22s" % c[2] for c in cols))
for loop in sorted({k[0] for k in d}, key=lambda l: (l != "today", l)):
    row = "%-20s" % loop
    for kib, fn, _ in cols:
        n, t = d.get((loop, kib, fn), 0), d.get(("today", kib, fn), 0)
        row += "%14.1fM %+6.1f%%" % (n / 1e6, (n / t - 1) * 100 if t else 0)
    print(row)
PY
