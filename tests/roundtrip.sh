#!/bin/bash
# tests/roundtrip.sh - a generated tree (thousands of files, 0 bytes to 4 MiB,
# sparse files, deep and wide directories, symlinks, hard links, xattrs, special
# files) put into an image and got back is identical; the cp -r rules of the last
# path; holes stay holes; e2fsck -fn is clean.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

SEED=${E4LAB_SEED:-7}
FILES=${E4LAB_FILES:-2000}
REPLAY="E4LAB_SEED=$SEED E4LAB_FILES=$FILES make check TESTS=tests/roundtrip.sh"
img=$WORK/rt.img
tree=$WORK/tree

step "generate the tree (seed $SEED, $FILES files)"
gentree "$tree" test "$SEED" "$FILES"

step "put the tree into the root"
expect 0 "$E4LAB" mkfs "$img" 1G
expect 0 "$E4LAB" put "$img" "$tree" /
fsck_clean "$img"

step "get it back and compare"
expect 0 "$E4LAB" get "$img" / "$WORK/out"
"$E4LAB" cmptree --atime --ignore lost+found "$tree" "$WORK/out" || fail "cmptree --atime"
same_tree "$tree" "$WORK/out" lost+found

step "holes stay holes"
apparent=$(du -s -B1 --apparent-size "$tree" | cut -f1)
used_tree=$(du -s -B1 "$tree" | cut -f1)
used_out=$(du -s -B1 "$WORK/out" | cut -f1)
echo "apparent $apparent, tree uses $used_tree, copy uses $used_out"
[ "$used_out" -le $((used_tree + used_tree / 10)) ] || fail "the copy lost its holes"
"$E4LAB" info "$img" >"$WORK/info"
bs=$(awk '/^block size:/ {print $3}' "$WORK/info")
read -r total free < <(awk '/^blocks:/ {gsub(/[()]/, ""); print $2, $3}' "$WORK/info")
echo "image: $(( (total - free) * bs )) bytes in use"
[ $(( (total - free) * bs )) -lt "$apparent" ] || fail "the image stores the holes"

step "an existing directory receives a source directory's contents"
expect 0 "$E4LAB" mkdir "$img" /sub
sub=$(cd "$tree" && ls -d dir* | head -n 1)
expect 0 "$E4LAB" put "$img" "$tree/$sub" /sub
expect 0 "$E4LAB" get "$img" /sub "$WORK/sub"
same_subtree "$tree/$sub" "$WORK/sub"

step "a missing destination names the copy; a file goes inside a directory"
expect 0 "$E4LAB" put "$img" "$tree/$sub" /named
expect 0 "$E4LAB" ls "$img" /
grep -qx named "$OUT" || fail "/named was not made"
file=$(cd "$tree" && find . -maxdepth 2 -type f -size +1k | head -n 1)
expect 0 "$E4LAB" put "$img" "$tree/$file" /sub
expect 0 "$E4LAB" cat "$img" "/sub/$(basename "$file")"
cmp "$OUT" "$tree/$file" || fail "a file put into a directory differs"
mkdir "$WORK/into"
expect 0 "$E4LAB" get "$img" "/sub/$(basename "$file")" "$WORK/into"
cmp "$WORK/into/$(basename "$file")" "$tree/$file" || fail "get of a file into a directory"

step "putting the tree again replaces every file"
expect 0 "$E4LAB" put "$img" "$tree" /
force_rm "$WORK/out"
expect 0 "$E4LAB" get "$img" / "$WORK/out"
same_tree "$tree" "$WORK/out" lost+found sub named "$(basename "$file")"
fsck_clean "$img"
echo "PASS $TEST_NAME"
