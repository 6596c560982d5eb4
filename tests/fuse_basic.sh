#!/bin/bash
# tests/fuse_basic.sh - `e4lab mount`: files made with ordinary shell tools through
# the mount (create, write, rename, links, symlinks, xattrs, truncate, fallocate,
# chmod, chown) read back the same after umount and remount, e2fsck -fn is clean,
# and a kernel loop mount shows the same names, metadata and checksums.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$E4LAB_SRCDIR/tests/fuse_lib.sh"

fuse_require
img=$WORK/basic.img
mnt=$WORK/mnt
ref=$WORK/ref
mkdir -p "$mnt" "$ref"
REPLAY="make check TESTS=tests/fuse_basic.sh"
have_py=1
command -v python3 >/dev/null 2>&1 && python3 -c 'import os; os.setxattr' 2>/dev/null || have_py=0

# xattr set|get|list FILE [NAME [VALUE]]: through python's os.*xattr (no attr package needed).
xattr() {
	python3 - "$@" <<'EOF'
import os, sys
op, path = sys.argv[1], sys.argv[2]
if op == "set":
    os.setxattr(path, sys.argv[3], sys.argv[4].encode(), follow_symlinks=False)
elif op == "get":
    print(os.getxattr(path, sys.argv[3], follow_symlinks=False).decode())
elif op == "rm":
    os.removexattr(path, sys.argv[3], follow_symlinks=False)
else:
    print(" ".join(sorted(os.listxattr(path, follow_symlinks=False))))
EOF
}

step "usage"
expect 0 "$E4LAB" mkfs "$img" 256M
expect 0 "$E4LAB" mount --help
expect 0 "$E4LAB" umount --help
expect 1 "$E4LAB" mount "$img"
expect 1 "$E4LAB" mount -o data=sometimes "$img" "$mnt"
expect 2 "$E4LAB" mount "$WORK/no-such.img" "$mnt"
expect 2 "$E4LAB" mount "$img" "$img"	# the mount point must be a directory
expect 2 "$E4LAB" umount "$mnt"
grep -q "not a mount point" "$ERR" || fail "umount of a plain directory: $(cat "$ERR")"

step "mount in the background; a second mount of the same image is refused"
fuse_mount_daemon "$img" "$mnt"
mkdir -p "$WORK/mnt2"
expect 2 "$E4LAB" mount "$img" "$WORK/mnt2"
grep -q "in use\|already mounted" "$ERR" || fail "the refusal does not say why: $(cat "$ERR")"

step "create, write, read"
head -c 3000000 /dev/urandom >"$ref/big"
printf 'small inline file\n' >"$ref/small"
cp "$ref/big" "$mnt/big" || fail "cp big"
cp "$ref/small" "$mnt/small" || fail "cp small"
cmp "$ref/big" "$mnt/big" || fail "big reads back different"
cmp "$ref/small" "$mnt/small" || fail "small reads back different"
echo "appended line" >>"$ref/small"
echo "appended line" >>"$mnt/small"
cmp "$ref/small" "$mnt/small" || fail "append"
printf 'XXXXXXXX' | dd of="$ref/big" bs=1 seek=123457 conv=notrunc status=none
printf 'XXXXXXXX' | dd of="$mnt/big" bs=1 seek=123457 conv=notrunc status=none
cmp "$ref/big" "$mnt/big" || fail "overwrite in the middle"
for i in $(seq 1 40); do echo "file $i" >"$mnt/f$i"; done
[ "$(cat "$mnt/f17")" = "file 17" ] || fail "f17"

step "directories and renames"
mkdir -p "$mnt/a/b/c" "$mnt/d" || fail "mkdir -p"
mv "$mnt/f1" "$mnt/a/b/c/moved" || fail "mv file across directories"
mv "$mnt/a/b" "$mnt/d/b2" || fail "mv directory"
[ "$(cat "$mnt/d/b2/c/moved")" = "file 1" ] || fail "moved file content"
echo replaced >"$mnt/victim"
mv "$mnt/f2" "$mnt/victim" || fail "mv over an existing file"
[ "$(cat "$mnt/victim")" = "file 2" ] || fail "rename did not replace"
mkdir "$mnt/empty" && rmdir "$mnt/empty" || fail "mkdir/rmdir"
rmdir "$mnt/d" 2>/dev/null && fail "rmdir of a non-empty directory succeeded"
rm "$mnt/f3" && [ ! -e "$mnt/f3" ] || fail "rm"
if mv --help 2>&1 | grep -q -- --no-clobber; then
	mv -n "$mnt/f4" "$mnt/f5" 2>/dev/null
	[ "$(cat "$mnt/f5")" = "file 5" ] || fail "mv -n replaced the target"
fi

step "hard links and symlinks"
ln "$mnt/big" "$mnt/d/big.link" || fail "ln"
[ "$(stat -c %h "$mnt/big")" = 2 ] || fail "link count of big is $(stat -c %h "$mnt/big")"
[ "$(stat -c %i "$mnt/big")" = "$(stat -c %i "$mnt/d/big.link")" ] || fail "hard link has another inode"
ln -s small "$mnt/sym" || fail "ln -s"
ln -s "$(printf 'long/%.0s' $(seq 1 40))target" "$mnt/longsym" || fail "ln -s (long target)"
[ "$(readlink "$mnt/sym")" = small ] || fail "readlink"
[ "$(readlink "$mnt/longsym")" = "$(printf 'long/%.0s' $(seq 1 40))target" ] || fail "long readlink"
cmp "$ref/small" "$mnt/sym" || fail "reading through a symlink"

step "truncate, fallocate, punch"
truncate -s 5000000 "$mnt/f6" && [ "$(stat -c %s "$mnt/f6")" = 5000000 ] || fail "truncate up"
truncate -s 3 "$mnt/f7" && [ "$(cat "$mnt/f7")" = "fil" ] || fail "truncate down"
head -c 1000000 /dev/urandom >"$ref/shrunk"
cp "$ref/shrunk" "$mnt/shrunk"
truncate -s 70000 "$ref/shrunk" "$mnt/shrunk"
cmp "$ref/shrunk" "$mnt/shrunk" || fail "truncate of a large file"
if command -v fallocate >/dev/null 2>&1; then
	fallocate -l 2M "$mnt/falloc" || fail "fallocate -l 2M"
	[ "$(stat -c %s "$mnt/falloc")" = 2097152 ] || fail "fallocate size"
	cp "$ref/big" "$ref/punched"
	fallocate -p -o 8192 -l 65536 "$ref/punched" || fail "punch in the reference copy"
	cp "$ref/big" "$mnt/punched"
	fallocate -p -o 8192 -l 65536 "$mnt/punched" || fail "fallocate -p through the mount"
	cmp "$ref/punched" "$mnt/punched" || fail "punched file differs"
fi

step "modes, owners, times, special files"
chmod 640 "$mnt/f8" && [ "$(stat -c %a "$mnt/f8")" = 640 ] || fail "chmod"
chmod 4755 "$mnt/f9" && [ "$(stat -c %a "$mnt/f9")" = 4755 ] || fail "chmod setuid"
if [ "$(id -u)" = 0 ]; then
	chown 1234:5678 "$mnt/f10" || fail "chown"
	[ "$(stat -c %u:%g "$mnt/f10")" = 1234:5678 ] || fail "chown shows $(stat -c %u:%g "$mnt/f10")"
	chown -h 42:43 "$mnt/sym" || fail "chown -h on a symlink"
	[ "$(stat -c %u:%g "$mnt/sym")" = 42:43 ] || fail "lchown"
fi
touch -m -d "2001-02-03 04:05:06.789" "$mnt/f11" || fail "touch -d"
[ "$(stat -c %Y "$mnt/f11")" = "$(date -d "2001-02-03 04:05:06" +%s)" ] || fail "mtime"
mkfifo "$mnt/fifo" || fail "mkfifo"
[ -p "$mnt/fifo" ] || fail "fifo type"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	step "permissions and ownership as another user (default_permissions)"
	chmod 711 "$WORK"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
	mkdir -m 1777 "$mnt/tmp" && echo secret >"$mnt/tmp/secret" && chmod 600 "$mnt/tmp/secret"
	as_nobody cat "$mnt/tmp/secret" >/dev/null 2>&1 && fail "nobody read a 0600 root file"
	as_nobody sh -c "echo mine >'$mnt/tmp/mine'" || fail "nobody cannot create in a 1777 directory"
	[ "$(stat -c %u:%g "$mnt/tmp/mine")" = 65534:65534 ] ||
		fail "a file nobody made belongs to $(stat -c %u:%g "$mnt/tmp/mine")"
	as_nobody rm "$mnt/tmp/secret" 2>/dev/null && fail "nobody removed root's file from a sticky directory"
	echo x >"$mnt/tmp/suid" && chmod 4777 "$mnt/tmp/suid"
	as_nobody sh -c "echo y >>'$mnt/tmp/suid'" || fail "nobody cannot write a 0777 file"
	[ "$(stat -c %a "$mnt/tmp/suid")" = 777 ] ||
		fail "writing as another user left mode $(stat -c %a "$mnt/tmp/suid") (set-user-ID not cleared)"
fi

if [ $have_py = 1 ]; then
	step "xattrs"
	xattr set "$mnt/small" user.color blue || fail "setxattr"
	xattr set "$mnt/big" user.big "$(printf 'v%.0s' $(seq 1 300))" || fail "setxattr (300 bytes)"
	xattr set "$mnt/d" user.dir yes || fail "setxattr on a directory"
	[ "$(xattr get "$mnt/small" user.color)" = blue ] || fail "getxattr"
	xattr set "$mnt/small" user.tmp x && xattr rm "$mnt/small" user.tmp || fail "removexattr"
	[ "$(xattr list "$mnt/small")" = user.color ] || fail "listxattr: $(xattr list "$mnt/small")"
else
	echo "(python3 not found: xattr checks skipped)"
fi

if [ $have_py = 1 ]; then
	step "renameat2: RENAME_EXCHANGE of files, of a file and a directory across directories"
	# exchange A B: prints 0 or the errno name of renameat2(A, B, RENAME_EXCHANGE).
	exchange() {
		python3 - "$1" "$2" <<'EOF2'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
r = libc.renameat2(AT_FDCWD, sys.argv[1].encode(), AT_FDCWD, sys.argv[2].encode(),
                   RENAME_EXCHANGE)
print(0 if r == 0 else errno.errorcode[ctypes.get_errno()])
EOF2
	}
	echo one >"$mnt/x1" && echo two >"$mnt/x2" || fail "x1, x2"
	i1=$(stat -c %i "$mnt/x1") i2=$(stat -c %i "$mnt/x2")
	[ "$(exchange "$mnt/x1" "$mnt/x2")" = 0 ] || fail "exchange of two files"
	[ "$(cat "$mnt/x1")$(cat "$mnt/x2")" = twoone ] || fail "exchange: contents not swapped"
	[ "$(stat -c %i "$mnt/x1")/$(stat -c %i "$mnt/x2")" = "$i2/$i1" ] ||
		fail "exchange: inode numbers not swapped"
	mkdir -p "$mnt/xd/sub" && echo inside >"$mnt/xd/sub/f" && mkdir "$mnt/xe" || fail "xd, xe"
	[ "$(exchange "$mnt/xd/sub" "$mnt/xe/../x1")" = 0 ] ||
		fail "exchange of a directory and a file in another directory"
	[ "$(cat "$mnt/x1/f")" = inside ] && [ "$(cat "$mnt/xd/sub")" = two ] ||
		fail "directory/file exchange: wrong contents"
	[ "$(stat -c %i "$mnt/x1/..")" = "$(stat -c %i "$mnt")" ] ||
		fail "exchanged directory: '..' is not its new parent"
	[ "$(stat -c %h "$mnt/xd")" = 2 ] || fail "xd lost its subdirectory: link count $(stat -c %h "$mnt/xd")"
	[ "$(exchange "$mnt/xd" "$mnt/xd/sub")" = EINVAL ] ||
		fail "exchanging a directory with a name below it was not EINVAL"
	[ "$(exchange "$mnt/x2" "$mnt/no-such")" = ENOENT ] || fail "exchange with a missing name"
	mkdir "$mnt/xf" && [ "$(exchange "$mnt/xe" "$mnt/xf")" = 0 ] || fail "exchange of two directories"
fi

step "statfs"
df -P "$mnt" | tail -1 | awk '$2 > 200000 { ok = 1 } END { exit !ok }' || fail "df shows $(df -P "$mnt" | tail -1)"

step "fsync, then unmount: umount returns only when the image is complete"
sync "$mnt/big" 2>/dev/null || sync
sums "$mnt" >"$WORK/sums.fuse"
fuse_umount "$mnt"
fsck_clean "$img"

step "remount through e4lab: the same files"
fuse_mount "$img" "$mnt"
sums "$mnt" >"$WORK/sums.again"
diff "$WORK/sums.fuse" "$WORK/sums.again" || fail "the image changed across umount/mount"
if [ $have_py = 1 ]; then
	[ "$(xattr get "$mnt/small" user.color)" = blue ] || fail "xattr lost across remount"
fi
fuse_umount "$mnt"

step "data=journal and data=writeback mounts"
for mode in journal writeback; do
	fuse_mount "$img" "$mnt" -o data=$mode
	head -c 200000 /dev/urandom >"$ref/$mode"
	cp "$ref/$mode" "$mnt/$mode" && cmp "$ref/$mode" "$mnt/$mode" || fail "data=$mode write"
	fuse_umount "$mnt"
	fsck_clean "$img"
done
fuse_mount "$img" "$mnt"
cmp "$ref/journal" "$mnt/journal" && cmp "$ref/writeback" "$mnt/writeback" ||
	fail "files written with data=journal/writeback differ after remount"
sums "$mnt" >"$WORK/sums.fuse"	# what the kernel must see
fuse_umount "$mnt"

step "SIGTERM to the server unmounts cleanly"
fuse_mount "$img" "$mnt" -o commit=1
echo "before the signal" >"$mnt/term"
kill -TERM "$FUSE_PID"
wait "$FUSE_PID" || fail "the server exited $? after SIGTERM"
fuse_forget "$(cd "$mnt" && pwd -P)"
fuse_mounted "$(cd "$mnt" && pwd -P)" && fail "still mounted after SIGTERM"
fsck_clean "$img"
fuse_mount "$img" "$mnt"
[ "$(cat "$mnt/term")" = "before the signal" ] || fail "file written before SIGTERM"
rm "$mnt/term"
fuse_umount "$mnt"

step "read-only mount"
fuse_mount "$img" "$mnt" -o ro
touch "$mnt/new" 2>/dev/null && fail "created a file on a read-only mount"
cmp "$ref/small" "$mnt/small" || fail "read on a read-only mount"
fuse_umount "$mnt"
fsck_clean "$img"

step "the kernel sees the same tree"
if can_loop_mount; then
	mkdir -p "$WORK/kmnt"
	loop_mount "$img" "$WORK/kmnt" -o ro || fail "loop mount of $img"
	sums "$WORK/kmnt" >"$WORK/sums.kernel"
	if ! diff "$WORK/sums.fuse" "$WORK/sums.kernel"; then
		loop_umount "$WORK/kmnt"
		fail "the kernel sees other files or contents than FUSE did"
	fi
	if [ $have_py = 1 ]; then
		[ "$(xattr get "$WORK/kmnt/small" user.color)" = blue ] || fail "kernel: xattr"
		[ "$(xattr get "$WORK/kmnt/d" user.dir)" = yes ] || fail "kernel: directory xattr"
	fi
	expect 2 "$E4LAB" mount "$img" "$mnt"
	grep -q "already mounted" "$ERR" || fail "a kernel-mounted image was not refused clearly"
	loop_umount "$WORK/kmnt"
	fuse_mount_daemon "$img" "$mnt"	# free again
	fuse_umount "$mnt"
else
	echo "(kernel comparison skipped: $LOOP_REASON)"
fi
echo "PASS $TEST_NAME"
