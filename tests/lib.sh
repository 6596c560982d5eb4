# tests/lib.sh - sourced by the script tests (bash).  Gives each test a work
# directory removed by a trap, the tree generator, exit-status checks, e2fsck,
# and loop mounts that the trap always unmounts and detaches.
#
# Exit statuses of a test: 0 pass, 77 skip (with the reason), anything else fail.
# Environment (set by `make check`): E4LAB, E4LAB_SRCDIR, E4LAB_BUILDDIR.

set -u
set -o pipefail

E4LAB_SRCDIR=${E4LAB_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
E4LAB_BUILDDIR=${E4LAB_BUILDDIR:-$E4LAB_SRCDIR}
E4LAB=${E4LAB:-$E4LAB_BUILDDIR/tools/e4lab}
PATH=$PATH:/usr/sbin:/sbin
TEST_NAME=$(basename "$0" .sh)

if [ ! -x "$E4LAB" ]; then
	echo "$TEST_NAME: $E4LAB is not built" >&2
	exit 99
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/e4lab-$TEST_NAME.XXXXXX") || exit 99
LIB_MOUNTS=()	# mount points, unmounted by the trap
LIB_LOOPS=()	# loop devices, detached by the trap

# force_rm PATH...: rm -rf, also through read-only directories of copied trees.
force_rm() {
	chmod -R u+rwx "$@" 2>/dev/null
	rm -rf "$@"
}

lib_cleanup() {
	local m l
	for m in "${LIB_MOUNTS[@]}"; do
		[ -n "$m" ] || continue
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for l in "${LIB_LOOPS[@]}"; do
		[ -n "$l" ] && losetup -d "$l" 2>/dev/null
	done
	force_rm "$WORK"
}
trap lib_cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- reporting ----

step() { echo "== $*"; }
skip() { echo "SKIP $TEST_NAME: $*"; exit 77; }
fail() {
	echo "FAIL $TEST_NAME: $*" >&2
	[ -n "${REPLAY:-}" ] && echo "replay: $REPLAY" >&2
	exit 1
}

# e4 ARGS...: run the built e4lab, echoing the command.
e4() {
	echo "+ e4lab $*"
	"$E4LAB" "$@"
}

# expect STATUS CMD...: run CMD (its output kept in $OUT and $ERR) and fail
# unless it exits with STATUS.
OUT=$WORK/.stdout
ERR=$WORK/.stderr
expect() {
	local want=$1 got
	shift
	echo "+ $* (expect $want)"
	"$@" >"$OUT" 2>"$ERR"
	got=$?
	if [ "$got" != "$want" ]; then
		echo "--- stdout"; head -n 20 "$OUT"
		echo "--- stderr"; head -n 20 "$ERR"
		fail "'$*' exited $got, expected $want"
	fi
}

# ---- trees ----

# gentree DIR PROFILE SEED [FILES]: a deterministic tree (see e4lab gentree).
gentree() {
	local dir=$1 profile=$2 seed=$3 files=${4:-}
	"$E4LAB" gentree --profile "$profile" --seed "$seed" ${files:+--files "$files"} "$dir" ||
		fail "gentree $dir $profile $seed $files"
}

# same_tree A B [IGNORE...]: A and B must match in names, types, modes, owners,
# mtimes, symlink targets, hard links, xattrs and contents (e4lab cmptree), and
# in `diff -r` and a listing made by find(1) as independent oracles.  IGNORE
# names entries directly under A and B to leave out (lost+found).
same_tree() { tree_compare 1 "$@"; }
# same_subtree A B: the same, but link counts may differ (B was copied from a
# part of a tree, so links to outside it are not there).
same_subtree() { tree_compare 0 "$@"; }

tree_compare() {
	local nlink=$1 a=$2 b=$3 ign
	shift 3
	local cmpargs=() diffargs=(-x fifo -x socket -x chardev -x blockdev)
	for ign in "$@"; do
		cmpargs+=(--ignore "$ign")
		diffargs+=(-x "$ign")
	done
	"$E4LAB" cmptree "${cmpargs[@]}" "$a" "$b" || fail "cmptree $a $b"
	diff -r --no-dereference "${diffargs[@]}" "$a" "$b" >"$WORK/diff.out" 2>&1 ||
		{ head -n 20 "$WORK/diff.out"; fail "diff -r $a $b"; }
	LISTING_NLINK=$nlink tree_listing "$a" "$@" >"$WORK/list.a"
	LISTING_NLINK=$nlink tree_listing "$b" "$@" >"$WORK/list.b"
	diff "$WORK/list.a" "$WORK/list.b" >"$WORK/diff.out" ||
		{ head -n 20 "$WORK/diff.out"; fail "find listings of $a and $b differ"; }
}

# tree_listing DIR [IGNORE...]: one sorted line per entry: path, type, mode,
# owner, mtime (ns), size of regular files, symlink target, and the link count
# of non-directories (left out when LISTING_NLINK=0).
tree_listing() {
	local dir=$1 n=" %n" ign prune=()
	[ "${LISTING_NLINK:-1}" = 0 ] && n=""
	shift
	for ign in "$@"; do
		prune+=(-path "./$ign" -prune -o)
	done
	(cd "$dir" && find . -mindepth 1 "${prune[@]}" \( -type d -printf '%p d %m %U:%G %T@\n' \
		-o -type f -printf "%p f %m %U:%G %T@ %s$n\\n" \
		-o -type l -printf "%p l %U:%G %T@ -> %l$n\\n" \
		-o -printf "%p %y %m %U:%G %T@$n\\n" \) | LC_ALL=C sort)
}

# ---- images ----

have_e2fsck() { command -v e2fsck >/dev/null 2>&1; }

# fsck_clean IMAGE: e2fsck -fn must exit 0.
fsck_clean() {
	local st
	have_e2fsck || { echo "(e2fsck not installed: check skipped)"; return 0; }
	e2fsck -fn "$1" >"$WORK/fsck.log" 2>&1
	st=$?
	if [ $st != 0 ]; then
		head -n 40 "$WORK/fsck.log"
		fail "e2fsck -fn $1 exited $st"
	fi
	echo "e2fsck -fn $1: clean"
}

# ---- loop mounts ----

LOOP_REASON=""

# can_loop_mount: 0 when this machine lets us loop-mount ext4 (root, losetup,
# and a trial mount of a mkfs.ext4 image); else 1 with $LOOP_REASON set.
can_loop_mount() {
	local img=$WORK/.trial.img mnt=$WORK/.trial.mnt
	if [ "$(id -u)" != 0 ]; then LOOP_REASON="not root"; return 1; fi
	for p in losetup mount umount mkfs.ext4; do
		command -v $p >/dev/null 2>&1 || { LOOP_REASON="$p not installed"; return 1; }
	done
	truncate -s 8M "$img" && mkfs.ext4 -q -F "$img" >/dev/null 2>&1 ||
		{ LOOP_REASON="mkfs.ext4 failed"; return 1; }
	mkdir -p "$mnt"
	if ! loop_mount "$img" "$mnt" -o ro 2>"$WORK/.trial.err"; then
		LOOP_REASON="a trial loop mount failed: $(head -c 200 "$WORK/.trial.err")"
		return 1
	fi
	loop_umount "$mnt"
	rm -f "$img"
	return 0
}

# loop_mount IMAGE DIR [MOUNT OPTIONS...]: attach and mount; the trap undoes both.
loop_mount() {
	local img=$1 dir=$2 dev
	shift 2
	dev=$(losetup -f --show "$img") || return 1
	LIB_LOOPS+=("$dev")
	if ! mount -t ext4 "$@" "$dev" "$dir"; then
		losetup -d "$dev"
		return 1
	fi
	LIB_MOUNTS+=("$dir")
}

# loop_umount DIR: unmount and detach the loop device behind it.
loop_umount() {
	local dir=$1 dev i
	dev=$(findmnt -n -o SOURCE --target "$dir" 2>/dev/null)
	umount "$dir" || fail "umount $dir"
	for i in "${!LIB_MOUNTS[@]}"; do
		[ "${LIB_MOUNTS[$i]}" = "$dir" ] && LIB_MOUNTS[$i]=""
	done
	for i in "${!LIB_LOOPS[@]}"; do
		if [ "${LIB_LOOPS[$i]}" = "$dev" ]; then
			losetup -d "$dev" 2>/dev/null
			LIB_LOOPS[$i]=""
		fi
	done
}
