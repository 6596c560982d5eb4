#!/bin/bash
# tests/usage.sh - wrong arguments exit 1 with a usage message; --help works on
# the command and on every subcommand; operational errors exit 2 naming the path.
. "${E4LAB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

img=$WORK/u.img

step "global usage"
expect 1 "$E4LAB"
grep -q "usage: e4lab" "$ERR" || fail "no usage on stderr"
expect 1 "$E4LAB" no-such-command
grep -q "usage: e4lab" "$ERR" || fail "no usage for an unknown command"
expect 1 "$E4LAB" --bogus info "$img"
expect 1 "$E4LAB" --crash-after=0 info "$img"
expect 1 "$E4LAB" --crash-after=x info "$img"
expect 1 "$E4LAB" --data=sometimes info "$img"
expect 0 "$E4LAB" --help
grep -q "Commands" "$OUT" || fail "--help does not list the commands"
expect 0 "$E4LAB" --version

step "--help on every subcommand"
for c in mkfs info ls stat cat write put get mkdir rm mv truncate demo gentree cmptree; do
	expect 0 "$E4LAB" "$c" --help
	grep -q "usage: e4lab $c" "$OUT" || fail "$c --help prints no usage"
done

step "wrong arguments: exit 1 and a usage line"
while read -r line; do
	# shellcheck disable=SC2086
	expect 1 "$E4LAB" $line
	grep -q "usage: e4lab" "$ERR" || fail "'$line' printed no usage"
done <<EOF2
mkfs
mkfs $img
mkfs $img 10X
mkfs $img 0
mkfs -b 3000 $img 64M
mkfs -I 100 $img 64M
mkfs -I 8192 $img 64M
mkfs -q $img 64M
mkfs $img 64M extra
info
info $img extra
ls
ls -z $img /
ls $img / extra
stat $img
cat $img
write $img
put $img $WORK
get $img /
mkdir $img
mkdir -x $img /a
rm $img
mv $img /a
truncate $img /a
truncate $img /a 12Q
demo a b
gentree
gentree --profile nope $WORK/t
cmptree $WORK
EOF2

step "operational errors: exit 2 naming the path"
expect 2 "$E4LAB" info "$WORK/no-such.img"
grep -q "no-such.img" "$ERR" || fail "the message does not name the image"
printf 'not an ext4 image at all' >"$WORK/junk.img"
truncate -s 1M "$WORK/junk.img"
expect 2 "$E4LAB" info "$WORK/junk.img"
expect 2 "$E4LAB" ls "$WORK/junk.img" /
expect 0 "$E4LAB" mkfs "$img" 32M
expect 2 "$E4LAB" cat "$img" /no/such/file
grep -q "/no/such/file" "$ERR" || fail "cat's message does not name the path"
expect 2 "$E4LAB" put "$img" "$WORK/no-such-dir" /x
expect 2 "$E4LAB" get "$img" /nothing "$WORK/x"
expect 2 "$E4LAB" rm "$img" /
expect 2 "$E4LAB" rm "$img" /lost+found/nothing
echo "PASS $TEST_NAME"
