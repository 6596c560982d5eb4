/*
 * libfs/check orphans: the s_last_orphan chain (linked through i_dtime) and
 * the orphan file's blocks.  Pending orphans make the verdict needs-recovery;
 * a broken chain is corruption.  The chain walk stops after s_inodes_count
 * steps, so a loop cannot hang it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

static int orphan_inode(struct chk_ctx *c, uint32_t ino, struct ext2_inode *in)
{
	if (ino < c->first_ino || ino > c->ninodes)
		return -EUCLEAN;
	if (ext2fs_read_inode(c->fs, ino, in))
		return -EUCLEAN;
	return in->i_mode ? 0 : -EUCLEAN;
}

static void orphan_chain(struct chk_ctx *c)
{
	uint32_t ino = c->sb->s_last_orphan, n = 0;
	struct ext2_inode in;

	if (!ino)
		return;
	chk_add(c, CHK_RECOVERY, "ORPHANS_PENDING", CHK_AT_INODE, ino,
		"orphan list starts at inode %u: inodes to truncate or delete", ino);
	while (ino) {
		if (++n > c->ninodes || (ino <= c->ninodes && (c->ino[ino].state & CHK_I_ORPHAN))) {
			chk_err_ino(c, ino, "ORPHAN_LIST_LOOP", "orphan list loops back to inode %u", ino);
			return;
		}
		if (orphan_inode(c, ino, &in)) {
			chk_err_ino(c, ino, "ORPHAN_LIST_CORRUPT", "orphan list names invalid or unused inode %u", ino);
			return;
		}
		c->ino[ino].state |= CHK_I_ORPHAN;
		ino = in.i_dtime;
	}
}

/* Each orphan file block: inode numbers, then a tail with magic and checksum. */
static void orphan_file(struct chk_ctx *c)
{
	uint32_t oino = c->sb->s_orphan_file_inum, pending = 0;
	struct ext2_inode in;
	uint8_t *buf;
	uint64_t nblk;

	if (!oino || !ext2fs_has_feature_orphan_file(c->sb))
		return;
	if (oino > c->ninodes || ext2fs_read_inode(c->fs, oino, &in)) {
		chk_err_fs(c, "ORPHAN_FILE_BAD", "orphan file inode %u cannot be read", oino);
		return;
	}
	buf = malloc(c->bs);
	if (!buf)
		return;
	nblk = EXT2_I_SIZE(&in) / c->bs;
	for (uint64_t l = 0; l < nblk && l < 1024; l++) {
		blk64_t p = 0;
		const struct ext4_orphan_block_tail *t = (const void *)(buf + c->bs - sizeof(*t));

		if (ext2fs_bmap2(c->fs, oino, &in, NULL, 0, l, NULL, &p) || !p || chk_read_block(c, p, buf)) {
			chk_err_ino(c, oino, "ORPHAN_FILE_BAD", "orphan file block %llu is unmapped or unreadable",
				    (unsigned long long)l);
			break;
		}
		if (t->ob_magic != EXT4_ORPHAN_BLOCK_MAGIC ||
		    (c->csum && !ext2fs_orphan_file_block_csum_verify(c->fs, oino, p, (char *)buf))) {
			chk_err_ino(c, oino, "ORPHAN_FILE_BLOCK", "orphan file block %llu has a bad magic or checksum",
				    (unsigned long long)l);
			continue;
		}
		for (const uint32_t *e = (const void *)buf; (const uint8_t *)e < (const uint8_t *)t; e++) {
			if (!*e)
				continue;
			if (*e < c->first_ino || *e > c->ninodes) {
				chk_err_ino(c, oino, "ORPHAN_FILE_ENTRY", "orphan file names invalid inode %u", *e);
				continue;
			}
			c->ino[*e].state |= CHK_I_ORPHAN;
			pending++;
		}
	}
	free(buf);
	if (pending)
		chk_add(c, CHK_RECOVERY, "ORPHANS_PENDING", CHK_AT_INODE, oino,
			"orphan file holds %u inodes to process", pending);
	else if (ext2fs_has_feature_orphan_present(c->sb))
		chk_add(c, CHK_INFO, "ORPHAN_PRESENT_CLEAN", CHK_AT_FS, 0,
			"orphan_present is set but the orphan file is empty");
}

int chk_orphans(struct chk_ctx *c)
{
	orphan_chain(c);
	orphan_file(c);
	return 0;
}
