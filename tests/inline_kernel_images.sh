#!/bin/bash
# tests/inline_kernel_images.sh - images the kernel made, with inline files,
# inline directories (in i_block only, grown into system.data, converted) and
# symlinks (fast, block, and an inline one made by debugfs), are read by e4lab
# byte for byte; after e4lab edits them (rewrites across the max, renames into
# an inline directory until it converts, truncates) e2fsck -fn is clean and the
# kernel reads what e4lab wrote.  Skips where mount is not permitted.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

can_loop_mount || skip "cannot loop-mount ext4 here: $LOOP_REASON"

IMG=$WORK/k.img
M=$WORK/mnt
mkdir -p "$M" "$WORK/want"
truncate -s 32M "$IMG"
mkfs.ext4 -q -F -b 4096 -I 256 -N 2048 -O inline_data "$IMG" || fail "mkfs.ext4"

step "the kernel makes inline files, dirs and symlinks"
loop_mount "$IMG" "$M" || fail "mount"
for n in 1 59 60 61 100 127 128 129 300; do
	head -c "$n" /dev/zero | tr '\0' 'k' >"$M/f$n"
done
mkdir "$M/small" "$M/grown" "$M/big" "$M/target" "$M/empty" "$M/gone"
for i in 1 2 3 4 5 6; do echo "x$i" >"$M/gone/x$i"; done
touch "$M/small/a" "$M/small/b"
for i in 1 2 3 4 5 6 7; do touch "$M/grown/g$i"; done
for i in $(seq 1 20); do touch "$M/big/b$i"; done
for i in 1 2 3; do echo "mv$i" >"$M/m$i"; done
ln -s short "$M/fast"
ln -s "$(head -c 100 /dev/zero | tr '\0' 'L')" "$M/blocklink"
loop_umount "$M"
# debugfs (libext2fs) makes inline symlinks for targets of 60..128 bytes.
debugfs -w -R "symlink /inlink $(head -c 80 /dev/zero | tr '\0' 'I')" "$IMG" >/dev/null 2>&1 ||
	fail "debugfs symlink"
debugfs -R "stat /inlink" "$IMG" 2>/dev/null | grep -q "Flags: 0x10000000" ||
	skip "debugfs did not make an inline symlink"
debugfs -R "stat /grown" "$IMG" 2>/dev/null | grep -q "system.data (68)" ||
	fail "the kernel's /grown is not an inline dir grown into system.data"

step "e4lab reads the kernel's image as the kernel does"
loop_mount "$IMG" "$M" -o ro || fail "mount ro"
cp -a "$M/." "$WORK/want/" || fail "copy out of the kernel mount"
loop_umount "$M"
rm -rf "$WORK/want/lost+found"
REPLAY="$E4LAB get $IMG / $WORK/got"
"$E4LAB" get "$IMG" / "$WORK/got" || fail "e4lab get"
rm -rf "$WORK/got/lost+found"
diff -r --no-dereference "$WORK/want" "$WORK/got" >"$WORK/diff.out" 2>&1 ||
	{ head -n 20 "$WORK/diff.out"; fail "e4lab reads other contents than the kernel"; }
for l in fast blocklink inlink; do
	[ "$(readlink "$WORK/got/$l")" = "$(readlink "$WORK/want/$l")" ] ||
		fail "symlink $l reads '$(readlink "$WORK/got/$l")'"
done

# has PATH PATTERN: debugfs stat of PATH shows PATTERN.
has() { debugfs -R "stat $1" "$IMG" 2>/dev/null | grep -q "$2"; }

step "e4lab edits: rewrite across the max, truncate, rename into an inline dir"
head -c 200 /dev/zero | tr '\0' 'w' >"$WORK/w200"
e4 write "$IMG" /f100 <"$WORK/w200" || fail "write /f100"
cp "$WORK/w200" "$WORK/want/f100"
e4 truncate "$IMG" /f128 70 || fail "truncate /f128 70"
head -c 70 "$WORK/want/f128" >"$WORK/t" && mv "$WORK/t" "$WORK/want/f128"
e4 truncate "$IMG" /f61 61 || fail "truncate /f61 61"
e4 truncate "$IMG" /f60 200 || fail "truncate /f60 200"
truncate -s 200 "$WORK/want/f60"
e4 truncate "$IMG" /f1 0 || fail "truncate /f1 0"
: >"$WORK/want/f1"
for i in 1 2 3; do
	e4 mv "$IMG" "/m$i" "/small/m$i" || fail "mv /m$i /small/m$i"
	mv "$WORK/want/m$i" "$WORK/want/small/m$i"
done
# Unlink an inline file; remove an empty inline dir and a grown one with inline files.
e4 rm "$IMG" /f59 || fail "rm /f59"
rm "$WORK/want/f59"
e4 rm "$IMG" /empty || fail "rm /empty"
rmdir "$WORK/want/empty"
e4 rm -r "$IMG" /gone || fail "rm -r /gone"
rm -r "$WORK/want/gone"
# Removal and renames out of inline dirs (i_block part and system.data part).
for f in g2 g6; do
	e4 rm "$IMG" "/grown/$f" || fail "rm /grown/$f"
	rm "$WORK/want/grown/$f"
done
e4 mv "$IMG" /grown/g7 /g7 || fail "mv /grown/g7 /g7"
mv "$WORK/want/grown/g7" "$WORK/want/g7"
e4 mv "$IMG" /small/a /grown/a || fail "mv /small/a /grown/a"
mv "$WORK/want/small/a" "$WORK/want/grown/a"
for f in f300 f129; do
	e4 mv "$IMG" "/$f" "/target/$f" || fail "mv /$f /target/$f"
	mv "$WORK/want/$f" "$WORK/want/target/$f"
done
for i in $(seq 1 12); do
	echo "n$i" >"$WORK/n$i"
	e4 put "$IMG" "$WORK/n$i" "/target/n$i" || fail "put /target/n$i"
	cp "$WORK/n$i" "$WORK/want/target/n$i"
	# 4 entries fit in i_block; the 5th grows system.data to 68 bytes.
	[ "$i" = 3 ] && { has "/target" "system.data (68)" ||
		fail "/target did not grow into system.data at its 5th entry"; }
done
debugfs -R "stat /target" "$IMG" 2>/dev/null | grep -q "Flags: 0x80000" ||
	fail "/target did not convert to a block directory after 13+ entries"
has /f100 "Flags: 0x80000" || fail "/f100 rewritten with 200 bytes is still inline"
has /f128 "Size of inline data: 70" || fail "/f128 truncated to 70 is not inline with 70 bytes"
has /f61 "Size of inline data: 61" || fail "/f61 truncated to its size is not inline"
has /f60 "Flags: 0x80000" || fail "/f60 truncated up to 200 did not convert"
has /f1 "Size of inline data: 60" || fail "/f1 truncated to 0 is not inline"
has /small "system.data (68)" || fail "/small (5 entries) did not grow into system.data"
fsck_clean "$IMG"

step "the kernel reads what e4lab wrote"
loop_mount "$IMG" "$M" -o ro || fail "mount ro after the edits"
diff -r --no-dereference -x lost+found "$WORK/want" "$M" >"$WORK/diff.out" 2>&1 ||
	{ head -n 20 "$WORK/diff.out"; loop_umount "$M"; fail "the kernel reads other contents"; }
loop_umount "$M"
echo "PASS $TEST_NAME"
