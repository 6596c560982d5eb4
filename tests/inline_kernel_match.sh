#!/bin/bash
# tests/inline_kernel_match.sh - for every file size 0..300 and inode sizes 256,
# 512 and 1024, `e4lab put` must make the same inline-or-extents choice as the
# kernel writing the same files on a loop mount, with the same inline size and
# the same bytes in i_block and the in-inode xattr area; then e2fsck -fn is
# clean and the kernel reads every file back.  Skips where mount is not allowed.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

can_loop_mount || skip "cannot loop-mount ext4 here: $LOOP_REASON"

MAXSIZE=${INLINE_MATCH_MAX:-300}
SRC=$WORK/src
mkdir -p "$SRC" "$WORK/mnt"
for n in $(seq 0 "$MAXSIZE"); do
	head -c "$n" /dev/zero | tr '\0' 'x' >"$SRC/f$n"
done
# Directories d0..d14 with 0..14 entries: inline in i_block, grown into
# system.data, converted to a block, at the kernel's counts.
DIRMAX=14
for k in $(seq 0 "$DIRMAX"); do
	mkdir "$SRC/d$k"
	for i in $(seq -w 1 "$DIRMAX" | head -n "$k"); do : >"$SRC/d$k/e$i"; done
done

# describe IMAGE: one line per file: name, i_flags, inline size ("-" if none),
# and a digest of i_block and of the in-inode xattr area (compared for inline
# files only: an extent's block numbers depend on the allocator).
describe() {
	local img=$1 n
	for n in $(seq 0 "$MAXSIZE"); do
		echo "stat /f$n"
		echo "inode_dump -b /f$n"
		echo "inode_dump -e /f$n"
	done >"$WORK/cmds"
	# debugfs -f echoes each command as "debugfs: CMD" before its output.
	debugfs -f "$WORK/cmds" "$img" 2>/dev/null | awk '
		function out() { if (name != "") print name, fl, il, (b == "" ? "-" : b), (e == "" ? "-" : e) }
		/^debugfs: stat / { out(); name = substr($3, 2); fl = "?"; il = "-"; b = ""; e = ""; sect = "stat"; next }
		/^debugfs: inode_dump -b/ { sect = "b"; next }
		/^debugfs: inode_dump -e/ { sect = "e"; next }
		sect == "stat" && /^Inode:/ { for (i = 1; i <= NF; i++) if ($i == "Flags:") fl = $(i+1) }
		sect == "stat" && /Size of inline data/ { il = $5 }
		sect == "b" { $NF = ""; gsub(/ /, ""); b = b "/" $0 }
		sect == "e" { $NF = ""; gsub(/ /, ""); e = e "/" $0 }
		END { out() }'
}

# describe_dirs IMAGE: per directory its flags, inline size, and its entries
# as debugfs lists them, "(rec_len) name" in on-disk order (inode numbers left
# out: the two allocators differ).
describe_dirs() {
	local img=$1 k
	for k in $(seq 0 "$DIRMAX"); do
		echo "stat /d$k"
		echo "ls /d$k"
	done >"$WORK/cmds"
	debugfs -f "$WORK/cmds" "$img" 2>/dev/null | awk '
		function out() { if (name != "") print name, fl, il, ents }
		/^debugfs: stat / { out(); name = substr($3, 2); fl = "?"; il = "-"; ents = ""; sect = "stat"; next }
		/^debugfs: ls / { sect = "ls"; next }
		sect == "stat" && /^Inode:/ { for (i = 1; i <= NF; i++) if ($i == "Flags:") fl = $(i+1) }
		sect == "stat" && /Size of inline data/ { il = $5 }
		sect == "ls" { for (i = 1; i < NF; i++) if ($i ~ /^\([0-9]+\)$/) ents = ents $i $(i+1) "," }
		END { out() }'
}

total_fail=0
for isize in 256 512 1024; do
	step "inode size $isize"
	for who in kernel e4lab; do
		rm -f "$WORK/$who.img"
		truncate -s 32M "$WORK/$who.img"
		mkfs.ext4 -q -F -b 4096 -I "$isize" -N 2048 -O inline_data "$WORK/$who.img" ||
			fail "mkfs.ext4 -I $isize"
	done
	loop_mount "$WORK/kernel.img" "$WORK/mnt" || fail "mount kernel.img"
	# In sorted order, as e4lab put copies (cp -a would follow readdir order).
	(cd "$SRC" && for p in $(find . -mindepth 1 | LC_ALL=C sort); do
		if [ -d "$p" ]; then mkdir "$WORK/mnt/$p"; else cp "$p" "$WORK/mnt/$p"; fi
	done) || fail "copying into the kernel mount"
	loop_umount "$WORK/mnt"
	REPLAY="$E4LAB put $WORK/e4lab.img $SRC /"
	"$E4LAB" put "$WORK/e4lab.img" "$SRC" / || fail "e4lab put (isize $isize)"
	fsck_clean "$WORK/e4lab.img"
	describe "$WORK/kernel.img" >"$WORK/kernel.$isize"
	describe "$WORK/e4lab.img" >"$WORK/e4lab.$isize"
	# Fields: name flags inline_size iblock_digest xattr_digest
	choice=$(paste -d' ' "$WORK/kernel.$isize" "$WORK/e4lab.$isize" |
		 awk '$2 == $7 && $3 == $8 { m++ } END { print m + 0 }')
	bytes=$(paste -d' ' "$WORK/kernel.$isize" "$WORK/e4lab.$isize" |
		awk '$2 == $7 && $3 == $8 && ($3 == "-" || ($4 == $9 && $5 == $10)) { m++ }
		     END { print m + 0 }')
	count=$((MAXSIZE + 1))
	echo "inode size $isize: inline choice and size match for $choice/$count sizes," \
	     "i_block and xattr bytes for $bytes/$count"
	if [ "$choice" != "$count" ] || [ "$bytes" != "$count" ]; then
		paste -d' ' "$WORK/kernel.$isize" "$WORK/e4lab.$isize" |
			awk '!($2 == $7 && $3 == $8 && ($3 == "-" || ($4 == $9 && $5 == $10))) {
				print "  differs: kernel", $1, $2, $3, $4, $5, " e4lab", $7, $8, $9, $10 }' |
			head -n 12
		total_fail=1
	fi
	describe_dirs "$WORK/kernel.img" >"$WORK/kdirs.$isize"
	describe_dirs "$WORK/e4lab.img" >"$WORK/edirs.$isize"
	dirs=$(paste -d' ' "$WORK/kdirs.$isize" "$WORK/edirs.$isize" |
	       awk '$2 == $6 && $3 == $7 && $4 == $8 { m++ } END { print m + 0 }')
	echo "inode size $isize: directories with 0..$DIRMAX entries: flags, inline size" \
	     "and entry layout match for $dirs/$((DIRMAX + 1))"
	if [ "$dirs" != "$((DIRMAX + 1))" ]; then
		paste -d' ' "$WORK/kdirs.$isize" "$WORK/edirs.$isize" |
			awk '!($2 == $6 && $3 == $7 && $4 == $8) {
				print "  differs: kernel", $1, $2, $3, $4; print "           e4lab ", $5, $6, $7, $8 }' |
			head -n 8
		total_fail=1
	fi
	# The kernel reads what we wrote.
	loop_mount "$WORK/e4lab.img" "$WORK/mnt" -o ro || fail "mount e4lab.img"
	diff -r "$SRC" "$WORK/mnt" -x lost+found >"$WORK/diff.out" 2>&1 ||
		{ head "$WORK/diff.out"; fail "the kernel reads other bytes (isize $isize)"; }
	loop_umount "$WORK/mnt"
done
[ "$total_fail" = 0 ] || fail "e4lab's inline decisions differ from the kernel's"
echo "PASS $TEST_NAME"
