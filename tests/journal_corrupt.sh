#!/bin/bash
# tests/journal_corrupt.sh - bad input stops replay where the kernel stops it,
# with a message, never a crash: a bad commit checksum (the transaction and
# everything after it dropped), a bad data block checksum, a bad descriptor
# checksum, a wrong sequence number, a truncated log, a corrupt journal
# superblock.  Where e2fsck recovers too, both end with the same files.
. "$(dirname "$0")/lib.sh"

JBD_TOOL=$E4LAB_BUILDDIR/tests/unit/test_jbd_tool
[ -x "$JBD_TOOL" ] || fail "$JBD_TOOL is not built"
command -v e2fsck >/dev/null && command -v debugfs >/dev/null || skip "e2fsprogs not installed"

BASE=$WORK/base
mkfs.ext4 -q -F -b 1024 -O metadata_csum,64bit "$BASE" 64M >/dev/null 2>&1 || fail mkfs
expect 0 "$JBD_TOOL" write "$BASE" 3 crash		# transactions 2, 3, 4
"$E4LAB" journal "$BASE" >"$WORK/layout" || fail "e4lab journal"

# logblock KIND TID: the log block of transaction TID's descriptor or commit.
logblock() {
	awk -v k="$1," -v t="$2" '$1 == "block" && $3 == k && $5 == t"," { sub(":", "", $2); print $2; exit }
		$1 == "block" && $3 == k && $5 == t { sub(":", "", $2); print $2; exit }' "$WORK/layout"
}
# poke IMG LOGBLOCK OFFSET HEXBYTE: overwrite one byte of a log block.
poke() {
	local phys
	phys=$(debugfs -R "bmap <8> $2" "$1" 2>/dev/null | tail -1)
	[ -n "$phys" ] || fail "no physical block for log block $2"
	printf "\\x$4" | dd of="$1" bs=1 seek=$((phys * 1024 + $3)) conv=notrunc status=none
}
files() {
	local img=$1 d
	d=$(mktemp -d "$WORK/rdump.XXXXXX")
	debugfs -R "rdump / $d" "$img" >/dev/null 2>&1
	(cd "$d" && find . -mindepth 1 -maxdepth 1 -name '[df][0-9]*' | sort | while read -r f; do
		if [ -d "$f" ]; then echo "$f dir"; else echo "$f $(md5sum <"$f" | cut -c1-32)"; fi
	done)
	rm -rf "$d"
}

# case NAME STATUS MESSAGE NFILES: the corrupted $WORK/img is recovered by us
# (exit STATUS, stderr matching MESSAGE) leaving NFILES files; then e2fsck -fy
# on our result and on the untouched copy must agree.
case_check() {
	local name=$1 status=$2 msg=$3 nfiles=$4
	cp "$WORK/img" "$WORK/ours"; cp "$WORK/img" "$WORK/theirs"
	expect 0 "$E4LAB" journal "$WORK/img"		# prints, never crashes
	expect "$status" "$E4LAB" recover "$WORK/ours"
	grep -q -- "$msg" "$ERR" "$OUT" || fail "$name: no message matching '$msg': $(cat "$ERR")"
	if [ "$nfiles" != - ]; then
		[ "$(files "$WORK/ours" | wc -l)" = "$nfiles" ] ||
			fail "$name: $(files "$WORK/ours" | wc -l) files after replay, expected $nfiles"
	fi
	e2fsck -fy "$WORK/ours" >/dev/null 2>&1
	e2fsck -fy "$WORK/theirs" >"$WORK/theirs.out" 2>&1
	expect 0 e2fsck -fn "$WORK/ours"
	files "$WORK/ours" >"$WORK/a"; files "$WORK/theirs" >"$WORK/b"
	diff "$WORK/a" "$WORK/b" || fail "$name: our recovery and e2fsck's differ ($(head -3 "$WORK/theirs.out"))"
}

C3=$(logblock commit 3); C4=$(logblock commit 4); D3=$(logblock descriptor 3); D4=$(logblock descriptor 4)
[ -n "$C3" ] && [ -n "$C4" ] && [ -n "$D3" ] && [ -n "$D4" ] || fail "log layout: $(cat "$WORK/layout")"

step "bad commit checksum in transaction 3: replay stops before it"
cp "$BASE" "$WORK/img"; poke "$WORK/img" "$C3" 57 ff
REPLAY="commit block $C3 byte 57 (commit_nsec)"
case_check commit-csum 2 "transaction 3 was corrupt" 2
grep -q "transaction 3 was corrupt" "$WORK/theirs.out" || fail "e2fsck did not see the corrupt transaction"

step "bad data block checksum in transaction 3: that block is not replayed"
cp "$BASE" "$WORK/img"; poke "$WORK/img" $((D3 + 2)) 300 ff
REPLAY="log block $((D3 + 2)) byte 300"
case_check data-csum 2 "bad checksum of fs block" -

step "bad descriptor checksum, later commit: invalid journal"
cp "$BASE" "$WORK/img"; poke "$WORK/img" "$D3" 900 ff
REPLAY="descriptor $D3 byte 900"
case_check descriptor-csum 2 "invalid checksum in transaction 3" -

step "wrong sequence number in transaction 4: the log ends after 3"
cp "$BASE" "$WORK/img"; poke "$WORK/img" "$D4" 11 63
REPLAY="descriptor $D4 sequence byte"
case_check sequence 0 "block of transaction .*, expected 4" 4

step "truncated log: transaction 4 has no commit block"
cp "$BASE" "$WORK/img"
phys=$(debugfs -R "bmap <8> $C4" "$WORK/img" 2>/dev/null | tail -1)
dd if=/dev/zero of="$WORK/img" bs=1024 seek="$phys" count=1 conv=notrunc status=none
REPLAY="zeroed commit block $C4"
case_check truncated 0 "no journal magic" 4

step "journal superblock: bad magic, bad checksum"
cp "$BASE" "$WORK/img"; poke "$WORK/img" 0 0 00
expect 2 "$E4LAB" recover "$WORK/img"
grep -q "bad magic" "$ERR" || fail "bad magic: $(cat "$ERR")"
expect 2 "$E4LAB" journal "$WORK/img"
cp "$BASE" "$WORK/img"; poke "$WORK/img" 0 300 5a
expect 2 "$E4LAB" recover "$WORK/img"
grep -q "checksum .* does not match" "$ERR" || fail "bad sb checksum: $(cat "$ERR")"
cmp -s <(dumpe2fs -h "$WORK/img" 2>/dev/null | grep features) \
	<(dumpe2fs -h "$BASE" 2>/dev/null | grep features) || fail "a refused recovery changed the image"
echo "PASS $TEST_NAME"
