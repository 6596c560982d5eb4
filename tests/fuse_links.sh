#!/bin/bash
# tests/fuse_links.sh - hard links through `e4lab mount`, as they are with
# libfuse's path API: every name is a node of its own, so the kernel holds two
# inodes (two page caches) for two links of one file.  What holds: st_ino and
# the link count agree across names (use_ino, attr_timeout=0); data written
# through one name is what a later open of the other reads (no kernel_cache:
# each open drops that name's cached pages), so does O_DIRECT at any time.
# What does not: a descriptor of the other name opened before the write keeps
# its pages and reads the old data until reopened.  The test asserts the first
# and reports the second (it fails if that ever changes, so this header gets
# updated with it).
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$E4LAB_SRCDIR/tests/fuse_lib.sh"

fuse_require
command -v python3 >/dev/null 2>&1 || skip "python3 is needed (pread on an open descriptor)"
img=$WORK/links.img
mnt=$WORK/mnt
mkdir -p "$mnt"
REPLAY="make check TESTS=tests/fuse_links.sh"

step "two names of one file"
expect 0 "$E4LAB" mkfs "$img" 64M
fuse_mount "$img" "$mnt"
mkdir "$mnt/d" || fail "mkdir"
head -c 65536 /dev/zero | tr '\0' a >"$mnt/a" || fail "write a"
ln "$mnt/a" "$mnt/d/b" || fail "ln"
[ "$(stat -c %i "$mnt/a")" = "$(stat -c %i "$mnt/d/b")" ] || fail "st_ino differs across links"
[ "$(stat -c %h "$mnt/a")/$(stat -c %h "$mnt/d/b")" = 2/2 ] ||
	fail "link counts $(stat -c %h "$mnt/a")/$(stat -c %h "$mnt/d/b")"

step "written through one name, read through the other after an open"
head -c 65536 /dev/zero | tr '\0' b | dd of="$mnt/a" conv=notrunc status=none || fail "rewrite a"
[ "$(head -c 4 "$mnt/d/b")" = bbbb ] || fail "d/b does not show what a was given ($REPLAY)"
printf cccc | dd of="$mnt/d/b" bs=4 seek=100 conv=notrunc status=none || fail "write d/b"
[ "$(dd if="$mnt/a" bs=4 skip=100 count=1 status=none)" = cccc ] ||
	fail "a does not show what d/b was given"
truncate -s 1000 "$mnt/a" || fail "truncate a"
[ "$(stat -c %s "$mnt/d/b")" = 1000 ] || fail "size through d/b: $(stat -c %s "$mnt/d/b")"

step "a descriptor of the other name opened before the write"
python3 - "$mnt/a" "$mnt/d/b" >"$WORK/open.out" <<'EOF' || fail "python: $(cat "$WORK/open.out")"
import os, sys
a, b = sys.argv[1], sys.argv[2]
fb = os.open(b, os.O_RDONLY)
before = os.pread(fb, 4, 0)              # caches d/b's first page in the kernel
fa = os.open(a, os.O_WRONLY)
os.pwrite(fa, b"dddd", 0)
os.close(fa)
cached = os.pread(fb, 4, 0)
try:
    fd = os.open(b, os.O_RDONLY | os.O_DIRECT)
    direct = os.pread(fd, 4096, 0)[:4]
    os.close(fd)
except OSError as e:
    direct = ("error " + str(e)).encode()
os.close(fb)
fresh = open(b, "rb").read(4)
print(before.decode(), cached.decode(), direct.decode(), fresh.decode())
EOF
read -r before cached direct fresh <"$WORK/open.out"
echo "d/b before: $before; same descriptor after writing a: $cached; O_DIRECT: $direct; reopened: $fresh"
[ "$before" = bbbb ] || fail "d/b read $before before the write"
[ "$direct" = dddd ] || fail "O_DIRECT through d/b read $direct after writing a"
[ "$fresh" = dddd ] || fail "reopened d/b read $fresh after writing a"
[ "$cached" = bbbb ] ||
	fail "the descriptor opened before the write read '$cached', no longer the old data: update this test's header"
echo "(known: that descriptor still reads the old data, from its own kernel page cache)"

step "unlink one name: the other keeps the data"
rm "$mnt/a" || fail "rm a"
[ "$(stat -c %h "$mnt/d/b")" = 1 ] || fail "link count after rm: $(stat -c %h "$mnt/d/b")"
[ "$(head -c 4 "$mnt/d/b")" = dddd ] || fail "d/b after rm a"
fuse_umount "$mnt"
fsck_clean "$img"
echo "PASS $TEST_NAME"
