# tests/fuse_lib.sh - sourced by the FUSE tests after tests/lib.sh: skip where
# FUSE cannot be used, mount an image with `e4lab mount -f` in the background,
# and a trap that always unmounts and waits for the server before lib.sh cleans up.

FUSE_DIRS=()	# mount points, unmounted by the trap
FUSE_PIDS=()	# their servers (e4lab mount -f), killed if still alive at exit
FUSE_PID=""	# the server of the last fuse_mount

fuse_cleanup() {
	local i d p
	for i in "${!FUSE_DIRS[@]}"; do
		d=${FUSE_DIRS[$i]} p=${FUSE_PIDS[$i]}
		[ -n "$d" ] || continue
		"$E4LAB" umount -t 30 "$d" >/dev/null 2>&1 || umount -l "$d" 2>/dev/null ||
			fusermount3 -u -z "$d" 2>/dev/null
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
			sleep 1
			kill -9 "$p" 2>/dev/null
		fi
		[ -n "$p" ] && wait "$p" 2>/dev/null
	done
}
trap 'fuse_cleanup; lib_cleanup' EXIT

# fuse_require: exit 77 unless this machine can serve a FUSE mount.
fuse_require() {
	[ -c /dev/fuse ] || skip "/dev/fuse does not exist (no FUSE in this kernel or container)"
	( exec 9<>/dev/fuse ) 2>/dev/null ||
		skip "/dev/fuse cannot be opened read-write by $(id -un)"
	if [ "$(id -u)" != 0 ]; then
		command -v fusermount3 >/dev/null 2>&1 ||
			skip "fusermount3 is not installed (needed to mount without root)"
	fi
	"$E4LAB" mount --help >/dev/null 2>&1 ||
		skip "this e4lab was built without libfuse3: no mount command"
}

# fuse_mounted DIR: is DIR an e4lab FUSE mount right now?
fuse_mounted() {
	awk -v d="$1" '$5 == d { t = $0 } END { exit !(t ~ / - fuse\.e4lab /) }' \
		/proc/self/mountinfo
}

# fuse_mount IMAGE DIR [e4lab mount options...]: serve in the foreground in the
# background (so $FUSE_PID is the server), wait until the mount is up.
fuse_mount() {
	local img=$1 dir=$2 log i
	shift 2
	dir=$(cd "$dir" && pwd -P) || fail "no mount point $2"
	log=$WORK/server.$(basename "$dir").log
	echo "+ e4lab mount -f $* $img $dir &"
	"$E4LAB" mount -f "$@" "$img" "$dir" >"$log" 2>&1 &
	FUSE_PID=$!
	FUSE_DIRS+=("$dir")
	FUSE_PIDS+=("$FUSE_PID")
	for i in $(seq 200); do
		fuse_mounted "$dir" && return 0
		if ! kill -0 "$FUSE_PID" 2>/dev/null; then
			cat "$log"
			fail "e4lab mount $img $dir exited before the mount was up"
		fi
		sleep 0.05
	done
	cat "$log"
	fail "e4lab mount $img $dir: not mounted after 10 s"
}

# fuse_mount_daemon IMAGE DIR [options...]: `e4lab mount` without -f must return
# with the mount up and the server in the background.
fuse_mount_daemon() {
	local img=$1 dir
	dir=$(cd "$2" && pwd -P) || fail "no mount point $2"
	shift 2
	expect 0 "$E4LAB" mount "$@" "$img" "$dir"
	FUSE_DIRS+=("$dir")
	FUSE_PIDS+=("")
	fuse_mounted "$dir" || fail "e4lab mount returned but $dir is not mounted"
}

# fuse_forget DIR: the trap no longer needs to unmount DIR.
fuse_forget() {
	local i
	for i in "${!FUSE_DIRS[@]}"; do
		[ "${FUSE_DIRS[$i]}" = "$1" ] && FUSE_DIRS[$i]="" && FUSE_PIDS[$i]=""
	done
}

# fuse_umount DIR: e4lab umount must succeed, the server must exit 0, and the
# image must be free (the server's lock released) when umount returns.
fuse_umount() {
	local dir img pid i st
	dir=$(cd "$1" && pwd -P) || dir=$1
	img=$(awk -v d="$dir" '$5 == d && / - fuse\.e4lab / { for (i = 1; i <= NF; i++)
		if ($i ~ /^e4lab:/) s = substr($i, 7) } END { print s }' /proc/self/mountinfo)
	pid=""
	for i in "${!FUSE_DIRS[@]}"; do
		[ "${FUSE_DIRS[$i]}" = "$dir" ] && pid=${FUSE_PIDS[$i]}
	done
	expect 0 "$E4LAB" umount "$dir"
	if [ -n "$img" ] && command -v flock >/dev/null 2>&1; then
		flock -n -x "$img" true ||
			fail "umount returned while the server still held $img"
	fi
	fuse_mounted "$dir" && fail "$dir still mounted after e4lab umount"
	if [ -n "$pid" ]; then
		wait "$pid"
		st=$?
		if [ $st != 0 ]; then
			cat "$WORK/server.$(basename "$dir").log"
			fail "the server of $dir exited $st"
		fi
	fi
	fuse_forget "$dir"
}

# sums DIR: a sorted listing (tree_listing) and sha256 of every regular file.
sums() {
	tree_listing "$1" lost+found
	(cd "$1" && find . -path ./lost+found -prune -o -type f -print0 | LC_ALL=C sort -z |
		xargs -0 -r sha256sum)
}
