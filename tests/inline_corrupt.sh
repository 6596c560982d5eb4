#!/bin/bash
# tests/inline_corrupt.sh - inline inodes corrupted with debugfs (system.data
# missing, INLINE_DATA together with EXTENTS, i_size past the inline size, a
# system.data value running past the end of the inode) through the whole
# engine: `e4lab cat`, `write`, `truncate` fail and name the inode and the
# defect, nothing crashes, and the inode's bytes on disk are unchanged.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

IMG=$WORK/bad.img

# corrupt CASE: a fresh image whose /f (100 bytes, inline) has defect CASE.
corrupt() {
	rm -f "$IMG"
	truncate -s 16M "$IMG"
	mkfs.ext4 -q -F -b 4096 -I 256 -O inline_data "$IMG" || fail "mkfs.ext4"
	head -c 100 /dev/zero | tr '\0' 'c' >"$WORK/c100"
	debugfs -w -R "write $WORK/c100 f" "$IMG" >/dev/null 2>&1 || fail "debugfs write"
	case $1 in
	missing) debugfs -w -R "ea_rm /f system.data" "$IMG" ;;
	extents) debugfs -w -R "sif /f flags 0x10080000" "$IMG" ;;
	size)	 debugfs -w -R "sif /f size 200" "$IMG" ;;
	value)	 set -- $(debugfs -R "imap /f" "$IMG" 2>/dev/null |
			  sed -n 's/.*block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p')
		 # e_value_size of the first in-inode entry (inode + 128 + 32 + 4 + 8)
		 printf '\000\002' | dd of="$IMG" bs=1 seek=$(($1 * 4096 + $2 + 172)) \
			conv=notrunc 2>/dev/null
		 debugfs -n -w -R "sif /f checksum calc" "$IMG" ;;
	esac >/dev/null 2>&1 || fail "debugfs: corrupting ($1)"
}

for c in missing:missing extents:EXTENTS_FL size:i_size value:"past the end"; do
	name=${c%%:*} want=${c#*:}
	step "$name"
	corrupt "$name"
	debugfs -R "inode_dump /f" "$IMG" >"$WORK/before" 2>/dev/null
	REPLAY="$E4LAB cat $IMG /f (after corrupting: $name)"
	for cmd in "cat $IMG /f" "truncate $IMG /f 10" "write $IMG /f"; do
		echo xyz | "$E4LAB" $cmd >"$WORK/out" 2>"$WORK/err"
		st=$?
		[ $st != 0 ] || fail "e4lab $cmd succeeded on a corrupt inode ($name)"
		[ $st -lt 128 ] || fail "e4lab $cmd died with status $st ($name)"
		! grep -q "AddressSanitizer\|runtime error" "$WORK/err" ||
			{ cat "$WORK/err"; fail "e4lab $cmd: sanitizer report ($name)"; }
		grep -q "inode 12: corrupt inline data: .*$want" "$WORK/err" ||
			{ cat "$WORK/err"; fail "e4lab $cmd did not name inode 12 and '$want'"; }
	done
	debugfs -R "inode_dump /f" "$IMG" >"$WORK/after" 2>/dev/null
	cmp -s "$WORK/before" "$WORK/after" || fail "inode 12 was written back ($name)"
done
echo "PASS $TEST_NAME"
