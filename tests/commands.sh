#!/bin/bash
# tests/commands.sh - the small subcommands on a fresh image: ls, stat (inline or
# not), cat, write, mkdir -p, rm [-r], mv, truncate; gzip images read in memory
# and refused for writing; --data modes; --crash-after exits 3.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

img=$WORK/c.img
expect 0 "$E4LAB" mkfs -L cmdtest "$img" 64M
fsck_clean "$img"

step "info"
expect 0 "$E4LAB" info "$img"
grep -q "cmdtest" "$OUT" || fail "info does not show the label"
grep -q "inline_data" "$OUT" || fail "info does not list inline_data"

step "write and cat, small (inline) and large"
printf 'hello, inline world\n' >"$WORK/small"
head -c 3000000 /dev/urandom >"$WORK/large"
expect 0 "$E4LAB" write "$img" /small <"$WORK/small"
expect 0 "$E4LAB" write "$img" /large <"$WORK/large"
expect 0 "$E4LAB" cat "$img" /small
cmp "$OUT" "$WORK/small" || fail "cat /small"
expect 0 "$E4LAB" cat "$img" /large
cmp "$OUT" "$WORK/large" || fail "cat /large"
expect 0 "$E4LAB" stat "$img" /small
grep -q "^inline: *yes" "$OUT" || fail "a 20-byte file is not inline"
grep -q "^size: *20$" "$OUT" || fail "stat size of /small"
expect 0 "$E4LAB" stat "$img" /large
grep -q "^inline: *no" "$OUT" || fail "a 3 MB file says inline"
echo "replaced" | "$E4LAB" write "$img" /small || fail "rewrite /small"
[ "$("$E4LAB" cat "$img" /small)" = replaced ] || fail "write did not replace /small"

step "mkdir -p, ls, ls -l"
expect 0 "$E4LAB" mkdir -p "$img" /a/b/c
expect 0 "$E4LAB" mkdir -p "$img" /a/b/c
expect 2 "$E4LAB" mkdir "$img" /a/b/c
expect 2 "$E4LAB" mkdir "$img" /x/y
expect 0 "$E4LAB" ls "$img" /a/b
[ "$(cat "$OUT")" = c ] || fail "ls /a/b"
expect 0 "$E4LAB" ls -l "$img" /
grep -q "^d.* a$" "$OUT" || fail "ls -l shows no directory a"
grep -q "^-rw-r--r-- .* 3000000 .* large$" "$OUT" || fail "ls -l /large"

step "mv"
expect 0 "$E4LAB" mv "$img" /large /a/big
expect 0 "$E4LAB" mv "$img" /small /a/b
expect 0 "$E4LAB" ls "$img" /a/b
grep -qx small "$OUT" || fail "mv into a directory"
expect 0 "$E4LAB" cat "$img" /a/big
cmp "$OUT" "$WORK/large" || fail "the moved file differs"
expect 2 "$E4LAB" stat "$img" /large

step "truncate"
expect 0 "$E4LAB" truncate "$img" /a/big 1M
expect 0 "$E4LAB" cat "$img" /a/big
cmp "$OUT" <(head -c 1048576 "$WORK/large") || fail "truncate down"
expect 0 "$E4LAB" truncate "$img" /a/big 5M
expect 0 "$E4LAB" cat "$img" /a/big
[ "$(stat -c %s "$OUT")" = 5242880 ] || fail "truncate up: wrong size"
cmp -n 1048576 "$OUT" "$WORK/large" || fail "truncate up changed the data"
tail -c 4194304 "$OUT" | cmp -s - <(head -c 4194304 /dev/zero) || fail "truncate up: not zeros"
fsck_clean "$img"

step "rm and rm -r"
expect 2 "$E4LAB" rm "$img" /a
expect 0 "$E4LAB" rm "$img" /a/big
expect 0 "$E4LAB" rm -r "$img" /a
expect 0 "$E4LAB" ls "$img" /
[ "$(cat "$OUT")" = lost+found ] || fail "rm -r left: $(cat "$OUT")"
fsck_clean "$img"

step "gzip images: read in memory, never written"
expect 0 "$E4LAB" write "$img" /gz-file <"$WORK/large"
gzip -c "$img" >"$img.gz"
expect 0 "$E4LAB" info "$img.gz"
expect 0 "$E4LAB" cat "$img.gz" /gz-file
cmp "$OUT" "$WORK/large" || fail "cat from a .gz image"
expect 0 "$E4LAB" get "$img.gz" /gz-file "$WORK/from-gz"
cmp "$WORK/from-gz" "$WORK/large" || fail "get from a .gz image"
sum=$(md5sum <"$img.gz")
expect 2 "$E4LAB" write "$img.gz" /new </dev/null
expect 2 "$E4LAB" mkdir "$img.gz" /new
[ "$sum" = "$(md5sum <"$img.gz")" ] || fail "a .gz image was modified"

step "--data modes"
for mode in ordered writeback journal; do
	echo "$mode" | "$E4LAB" --data=$mode write "$img" "/$mode" || fail "--data=$mode write"
	[ "$("$E4LAB" cat "$img" "/$mode")" = "$mode" ] || fail "--data=$mode contents"
done
fsck_clean "$img"

step "--crash-after cuts the image and exits 3"
expect 3 "$E4LAB" --crash-after=1 write "$img" /crash <"$WORK/large"
grep -q "crash-after" "$ERR" || fail "the crash cut says nothing"
expect 3 "$E4LAB" --crash-after=20 put "$img" "$WORK/large" /crash2
echo "PASS $TEST_NAME"
