#!/bin/bash
# tests/journal_crash_points.sh - the ordered guarantee of issue 4 under power
# cuts at many block writes.  tests/unit/crash_workload runs a fixed workload
# (about 300 files: inline, converting and multi-block; appends, overwrites,
# holes, truncates both ways, renames within and across directories and over
# existing files, unlinks, mkdirs, fsyncs) on an image whose free blocks hold a
# poison pattern, cut at block write N.  Every cut is recovered three ways, on
# copies: e4lab recover, e2fsck -fy, and the kernel (a loop mount, when
# permitted).  After each: e2fsck -fn exits 0; every file fsynced and not
# changed since holds exactly its fsynced bytes; every block of every file is
# a block some version of that same file had (no poison, no other file's
# bytes, nothing never written) -- crash_workload --check.
#
# E4LAB_CRASH_POINTS=N: how many cuts (default 200; every write when there are
# at most 300).  E4LAB_CRASH_KERNEL_EVERY=K: the kernel mount at every K-th
# point (default 1).  E4LAB_CRASH_DATA=writeback|journal runs the workload in
# that data mode: journal must pass, writeback must fail (it exposes poison:
# the test's own check).  E4LAB_CRASH_ONLY=N: only the cut at block write N
# (the replay of a failure).
#
# About 1000 image copies and flushes: the work directory goes to /dev/shm
# (tmpfs) when TMPDIR is not set and it has room, which makes the test 3x faster.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] &&
	[ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')" -gt 524288 ] 2>/dev/null; then
	export TMPDIR=/dev/shm
fi
. "$(dirname "$0")/lib.sh"

command -v e2fsck >/dev/null || skip "e2fsck not installed"
WL=$E4LAB_BUILDDIR/tests/unit/crash_workload
[ -x "$WL" ] || { echo "$WL is not built" >&2; exit 99; }
POINTS=${E4LAB_CRASH_POINTS:-200}
KEVERY=${E4LAB_CRASH_KERNEL_EVERY:-1}
KERNEL=0
if can_loop_mount; then
	KERNEL=1
else
	echo "(kernel recovery skipped: $LOOP_REASON)"
fi
MNT=$WORK/mnt
mkdir -p "$MNT"

step "base image: 32 MiB, 1 KiB blocks, free space poisoned with 0xe4"
expect 0 "$E4LAB" mkfs -b 1024 "$WORK/base" 32M
head -c $((24 * 1024 * 1024)) /dev/zero | tr '\0' '\344' >"$WORK/poison"
expect 0 "$E4LAB" put "$WORK/base" "$WORK/poison" /poison
expect 0 "$E4LAB" rm "$WORK/base" /poison
rm -f "$WORK/poison"

step "uncut run: count block writes"
"$WL" --count "$WORK/base" >"$WORK/count" 2>/dev/null || fail "crash_workload --count failed"
TOTAL=$(awk '$1 == "total" { print $2 }' "$WORK/count")
[ -n "$TOTAL" ] && [ "$TOTAL" -gt 0 ] || fail "no block count"
awk '$1 == "commit" { print $2, $3 }' "$WORK/count" >"$WORK/commits"
NCOMMITS=$(wc -l <"$WORK/commits")
cp "$WORK/base" "$WORK/img"
"$WL" "$WORK/img" 0 "$WORK/log" || fail "the uncut workload failed"
fsck_clean "$WORK/img"
rm -rf "$WORK/out"
"$E4LAB" get "$WORK/img" / "$WORK/out" >/dev/null || fail "e4lab get of the uncut image"
"$WL" --check "$WORK/out" "$WORK/log" || fail "the uncut image does not check"

# The cuts: every write when there are few; else a third spread evenly over
# the run, and the rest at the end of commits (their estimated last writes,
# one before, and the middle of the commit), commits taken evenly.
if [ -n "${E4LAB_CRASH_ONLY:-}" ]; then
	echo "$E4LAB_CRASH_ONLY" >"$WORK/points"
elif [ "$TOTAL" -le 300 ] && [ -z "${E4LAB_CRASH_POINTS:-}" ]; then
	seq 1 "$TOTAL" >"$WORK/points"
else
	awk -v n="$POINTS" -v total="$TOTAL" -v nc="$NCOMMITS" '
		NR == FNR { a[NR] = $1; b[NR] = $2; next }
		END {
			even = int(n / 3); dense = n - even
			for (i = 1; i <= even; i++) p[int(i * total / (even + 1))] = 1
			for (i = 0; i < dense; i++) {
				c = int(int(i / 3) * 3 * nc / dense) + 1; if (c > nc) c = nc
				k = i % 3
				x = k == 0 ? b[c] : k == 1 ? b[c] - 1 : int((a[c] + b[c]) / 2)
				# keep the count: a taken point moves on to the next write
				while ((x in p) || x < 1) x++
				if (x > total) x = total
				p[x] = 1
			}
			for (x in p) if (x + 0 >= 1 && x + 0 <= total) print x + 0
		}' "$WORK/commits" "$WORK/commits" | sort -n | uniq >"$WORK/points"
fi
NPOINTS=$(wc -l <"$WORK/points")
if [ $KERNEL = 1 ]; then
	KDESC="kernel loop mount at every $( [ "$KEVERY" = 1 ] && echo point || echo "$KEVERY-th point")"
else
	KDESC="no kernel ($LOOP_REASON)"
fi
step "$TOTAL block writes, $NCOMMITS commits; cutting at $NPOINTS points; recoveries: e4lab recover, e2fsck -fy, $KDESC"

FAILS=0
NKERN=0
# point_fail MSG: report one failure of the current cut and go on with the next.
point_fail() {
	FAILS=$((FAILS + 1))
	echo "FAIL cut at $cut: $*" >&2
	echo "  replay: $REPLAY" >&2
	return 1
}

# check_recovered IMG TREE WHO: e2fsck -fn, then the workload's check of TREE.
check_recovered() {
	local img=$1 tree=$2 who=$3
	e2fsck -fn "$img" >"$WORK/fsck.$who" 2>&1 ||
		{ head -n 20 "$WORK/fsck.$who" >&2; point_fail "$who: e2fsck -fn not clean"; return; }
	"$WL" --check "$tree" "$WORK/log" >"$WORK/check.$who" 2>&1 ||
		{ head -n 20 "$WORK/check.$who" >&2; point_fail "$who: files wrong"; return; }
	count_held "$WORK/check.$who"
}

# count_held CHECKOUTPUT: add up the files held to their fsynced bytes.
NHELD=0
count_held() {
	local n
	n=$(sed -n 's/.* \([0-9]*\) files held to their fsynced bytes.*/\1/p' "$1")
	NHELD=$((NHELD + ${n:-0}))
}

i=0
while read -r cut; do
	i=$((i + 1))
	REPLAY="E4LAB_CRASH_ONLY=$cut${E4LAB_CRASH_DATA:+ E4LAB_CRASH_DATA=$E4LAB_CRASH_DATA} make check TESTS=tests/journal_crash_points.sh (by hand: e4lab mkfs -b 1024 base 32M; put and rm a 24 MiB file of 0xe4 bytes; ${E4LAB_CRASH_DATA:+E4LAB_CRASH_DATA=$E4LAB_CRASH_DATA }tests/unit/crash_workload img $cut log; recover a copy; tests/unit/crash_workload --check TREE log)"
	cp "$WORK/base" "$WORK/img"
	"$WL" "$WORK/img" "$cut" "$WORK/log" >/dev/null 2>"$WORK/wl.err"
	st=$?
	if [ $st != 3 ] && ! { [ $st = 0 ] && grep -q '^done' "$WORK/log"; }; then
		head -n 5 "$WORK/wl.err" >&2
		point_fail "the cut workload exited $st"
		continue
	fi
	cp "$WORK/img" "$WORK/e2f"
	[ $KERNEL = 1 ] && [ $((i % KEVERY)) = 0 ] && cp "$WORK/img" "$WORK/kern"
	# (a) e4lab recover
	rm -rf "$WORK/out"
	if "$E4LAB" recover "$WORK/img" >"$WORK/rec.out" 2>&1; then
		if "$E4LAB" get "$WORK/img" / "$WORK/out" >"$WORK/get.out" 2>&1; then
			check_recovered "$WORK/img" "$WORK/out" "e4lab-recover"
		else
			head -n 5 "$WORK/get.out" >&2
			point_fail "e4lab get after e4lab recover failed"
		fi
	else
		head -n 5 "$WORK/rec.out" >&2
		point_fail "e4lab recover failed"
	fi
	# (b) e2fsck -fy
	rm -rf "$WORK/out"
	e2fsck -fy "$WORK/e2f" >"$WORK/fy.out" 2>&1
	st=$?
	if [ $st -le 1 ]; then
		if "$E4LAB" get "$WORK/e2f" / "$WORK/out" >"$WORK/get.out" 2>&1; then
			check_recovered "$WORK/e2f" "$WORK/out" "e2fsck"
		else
			head -n 5 "$WORK/get.out" >&2
			point_fail "e4lab get after e2fsck -fy failed"
		fi
	else
		head -n 20 "$WORK/fy.out" >&2
		point_fail "e2fsck -fy exited $st"
	fi
	# (c) the kernel: mount (replays the journal), read, unmount
	if [ $KERNEL = 1 ] && [ $((i % KEVERY)) = 0 ]; then
		NKERN=$((NKERN + 1))
		if loop_mount "$WORK/kern" "$MNT" 2>"$WORK/mount.err"; then
			if "$WL" --check "$MNT" "$WORK/log" >"$WORK/check.kernel" 2>&1; then
				count_held "$WORK/check.kernel"
			else
				head -n 20 "$WORK/check.kernel" >&2
				point_fail "kernel: files wrong"
			fi
			loop_umount "$MNT"
			e2fsck -fn "$WORK/kern" >"$WORK/fsck.kernel" 2>&1 ||
				{ head -n 20 "$WORK/fsck.kernel" >&2
				  point_fail "kernel: e2fsck -fn not clean after its replay"; }
		else
			cat "$WORK/mount.err" >&2
			point_fail "kernel: mount failed"
		fi
	fi
	[ $FAILS -ge 10 ] && { echo "(stopping after 10 failures)" >&2; break; }
done <"$WORK/points"

echo "summary: $i of $NPOINTS points tested (of $TOTAL block writes), $FAILS failures;" \
	"recoveries: e4lab recover $i, e2fsck -fy $i, kernel $NKERN;" \
	"$NHELD fsynced files found holding their fsynced bytes"
[ $FAILS = 0 ] || fail "$FAILS failures"
echo "PASS $TEST_NAME"
