#!/bin/bash
# tests/journal_format.sh - the JBD2 format we write, judged by e2fsprogs: a log
# committed by journal/ (tests/unit/test_jbd_tool) and cut before checkpoint is
# seen by `e2fsck -fn` and `debugfs logdump`, replayed by `e2fsck -fy` and by
# `e4lab recover` to the same files; `e4lab journal` prints it.  For each
# feature set the kernel writes: checksum v3 with 64- and 32-bit tags, no
# checksums, 1 KiB and 4 KiB blocks.
. "$(dirname "$0")/lib.sh"

JBD_TOOL=$E4LAB_BUILDDIR/tests/unit/test_jbd_tool
[ -x "$JBD_TOOL" ] || fail "$JBD_TOOL is not built"
command -v e2fsck >/dev/null && command -v debugfs >/dev/null || skip "e2fsprogs not installed"

# files IMG: name and checksum of every file of the root directory, one per line.
files() {
	local img=$1 d
	d=$(mktemp -d "$WORK/rdump.XXXXXX")
	debugfs -R "rdump / $d" "$img" >/dev/null 2>&1
	(cd "$d" && find . -mindepth 1 -maxdepth 1 -name '[df][0-9]*' | sort | while read -r f; do
		if [ -d "$f" ]; then echo "$f dir"; else echo "$f $(md5sum <"$f" | cut -c1-32)"; fi
	done)
	rm -rf "$d"
}

check_features() {
	local features=$1 bs=$2 n=$3 img=$WORK/img
	step "features $features, block size $bs, $n transactions"
	REPLAY="mkfs.ext4 -q -F -b $bs -O $features IMG 64M; test_jbd_tool write IMG $n crash"
	mkfs.ext4 -q -F -b "$bs" -O "$features" "$img" 64M >/dev/null 2>&1 || fail "mkfs"
	expect 0 "$JBD_TOOL" write "$img" "$n" crash

	e2fsck -fn "$img" >"$OUT" 2>&1	# the home blocks are still the old, consistent ones
	grep -q "skipping journal recovery" "$OUT" || fail "e2fsck -fn does not see a journal to replay"
	debugfs -R logdump "$img" >"$WORK/logdump" 2>&1
	[ "$(grep -c 'type 2 (commit block)' "$WORK/logdump")" = "$n" ] ||
		fail "logdump does not show $n commit blocks: $(tail -3 "$WORK/logdump")"

	expect 0 "$E4LAB" journal "$img"
	grep -q "summary: $n complete transactions" "$OUT" || fail "e4lab journal: $(tail -3 "$OUT")"
	if grep -q BAD "$OUT"; then fail "e4lab journal reports a bad checksum"; fi
	case $features in
	metadata_csum,64bit) grep -q "features: 64bit csum_v3; tag size 16" "$OUT" ||
		fail "journal features: $(grep features: "$OUT")";;
	esac

	local before; before=$(md5sum <"$img")
	expect 0 "$E4LAB" recover -n "$img"
	grep -q "would replay" "$OUT" || fail "recover -n: $(cat "$OUT")"
	[ "$before" = "$(md5sum <"$img")" ] || fail "recover -n wrote the image"

	cp "$img" "$WORK/ours"; cp "$img" "$WORK/e2fsck"
	expect 0 "$E4LAB" recover "$WORK/ours"
	grep -q "replayed .* from $n transactions" "$OUT" || fail "recover: $(cat "$OUT")"
	expect 0 e2fsck -fn "$WORK/ours"
	e2fsck -fy "$WORK/e2fsck" >"$WORK/fy" 2>&1
	case $? in 0|1) ;; *) cat "$WORK/fy"; fail "e2fsck -fy could not recover our journal";; esac
	expect 0 e2fsck -fn "$WORK/e2fsck"
	files "$WORK/ours" >"$WORK/ours.files"
	files "$WORK/e2fsck" >"$WORK/e2fsck.files"
	[ "$(wc -l <"$WORK/ours.files")" = $((2 * n)) ] || fail "$(wc -l <"$WORK/ours.files") files after our replay, expected $((2 * n))"
	diff "$WORK/ours.files" "$WORK/e2fsck.files" || fail "our replay and e2fsck's differ"
	expect 0 "$E4LAB" recover "$WORK/ours"
	grep -q "journal clean" "$OUT" || fail "second recover: $(cat "$OUT")"
	dumpe2fs -h "$WORK/ours" 2>/dev/null | grep -q needs_recovery && fail "needs_recovery still set"
	rm -f "$img" "$WORK/ours" "$WORK/e2fsck"
}

check_features metadata_csum,64bit 1024 5
check_features metadata_csum,64bit 4096 40
check_features metadata_csum,^64bit 1024 5
check_features ^metadata_csum,^64bit 1024 5
check_features ^metadata_csum,64bit 4096 5

step "v1 (compat) transaction checksums: crc32 in the commit block"
mkfs.ext4 -q -F -O ^metadata_csum "$WORK/v1" 64M >/dev/null 2>&1 || fail mkfs
phys=$(debugfs -R "bmap <8> 0" "$WORK/v1" 2>/dev/null | tail -1)
printf '\x01' | dd of="$WORK/v1" bs=1 seek=$((phys * 1024 + 39)) conv=notrunc status=none
expect 0 "$JBD_TOOL" write "$WORK/v1" 4 crash
expect 0 "$E4LAB" journal "$WORK/v1"
grep -q "features: checksum_v1" "$OUT" && grep -q "checksum ok (v1)" "$OUT" ||
	fail "v1 checksums: $(grep -E 'features|commit' "$OUT" | head -3)"
cp "$WORK/v1" "$WORK/v1e"
expect 0 "$E4LAB" recover "$WORK/v1"
grep -q "from 4 transactions" "$OUT" || fail "v1 recover: $(cat "$OUT")"
e2fsck -fy "$WORK/v1e" >/dev/null 2>&1
diff <(files "$WORK/v1") <(files "$WORK/v1e") || fail "v1: our replay and e2fsck's differ"

step "a clean unmount leaves nothing to replay"
mkfs.ext4 -q -F -O metadata_csum,64bit "$WORK/u" 64M >/dev/null 2>&1 || fail mkfs
expect 0 "$JBD_TOOL" write "$WORK/u" 300 unmount
expect 0 e2fsck -fn "$WORK/u"
expect 0 "$E4LAB" journal "$WORK/u"
grep -q "log is empty" "$OUT" || fail "journal after unmount: $(cat "$OUT")"
[ "$(files "$WORK/u" | wc -l)" = 600 ] || fail "files missing after unmount"
echo "PASS $TEST_NAME"
