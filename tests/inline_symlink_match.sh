#!/bin/bash
# tests/inline_symlink_match.sh - symlinks of 1..300 bytes made by `e4lab put`
# must be of the kind the kernel makes (6.18: fast in i_block below 60 bytes,
# flags 0; one block with EXTENTS_FL from 60 on; never inline), e2fsck -fn
# clean, and read back by the kernel.  Skips where mount is not permitted.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

can_loop_mount || skip "cannot loop-mount ext4 here: $LOOP_REASON"

MAXLEN=300
SRC=$WORK/src
mkdir -p "$SRC" "$WORK/mnt"
for n in $(seq 1 "$MAXLEN"); do
	ln -s "$(head -c "$n" /dev/zero | tr '\0' 's')" "$SRC/l$n"
done

# kinds IMAGE: "name flags kind" per link (fast, inline or block).
kinds() {
	local n
	for n in $(seq 1 "$MAXLEN"); do echo "stat /l$n"; done >"$WORK/cmds"
	debugfs -f "$WORK/cmds" "$1" 2>/dev/null | awk '
		function out() { if (name != "") print name, fl, kind }
		/^Inode:/ { out(); name = "l" (++n); kind = "block"
			    for (i = 1; i <= NF; i++) if ($i == "Flags:") fl = $(i+1) }
		/Fast link dest/ { kind = "fast" }
		/system.data|Size of inline data/ { kind = "inline" }
		END { out() }'
}

for who in kernel e4lab; do
	truncate -s 32M "$WORK/$who.img"
	mkfs.ext4 -q -F -b 4096 -I 256 -N 1024 -O inline_data "$WORK/$who.img" || fail "mkfs.ext4"
done
loop_mount "$WORK/kernel.img" "$WORK/mnt" || fail "mount kernel.img"
cp -a "$SRC/." "$WORK/mnt/" || fail "cp -a into the kernel mount"
loop_umount "$WORK/mnt"
REPLAY="$E4LAB put $WORK/e4lab.img $SRC /"
"$E4LAB" put "$WORK/e4lab.img" "$SRC" / || fail "e4lab put"
fsck_clean "$WORK/e4lab.img"
kinds "$WORK/kernel.img" >"$WORK/kernel.kinds"
kinds "$WORK/e4lab.img" >"$WORK/e4lab.kinds"
same=$(paste -d' ' "$WORK/kernel.kinds" "$WORK/e4lab.kinds" |
       awk '$2 == $5 && $3 == $6 { m++ } END { print m + 0 }')
echo "symlinks: kind and flags match the kernel for $same/$MAXLEN lengths"
loop_mount "$WORK/e4lab.img" "$WORK/mnt" -o ro || fail "mount e4lab.img"
for n in $(seq 1 "$MAXLEN"); do
	[ "$(readlink "$WORK/mnt/l$n")" = "$(readlink "$SRC/l$n")" ] ||
		fail "the kernel reads symlink l$n as '$(readlink "$WORK/mnt/l$n")'"
done
loop_umount "$WORK/mnt"
if [ "$same" != "$MAXLEN" ]; then
	paste -d' ' "$WORK/kernel.kinds" "$WORK/e4lab.kinds" |
		awk '!($2 == $5 && $3 == $6) { print "  differs: kernel", $1, $2, $3, " e4lab", $5, $6 }' |
		head -n 8
	fail "symlink kinds differ from the kernel's"
fi
echo "PASS $TEST_NAME"
