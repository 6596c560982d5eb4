/*
 * libfs/check block ownership: every block an inode maps is claimed once.
 * Claims outside the file system, over fixed metadata, or of a block already
 * claimed are findings.  Calls libext2fs bitmaps only.  chk_claim returns
 * -EEXIST for a block claimed before, so tree walks never descend twice.
 */
#include <errno.h>
#include <stdlib.h>
#include "libfs/check/chk_internal.h"

#define CHK_MAX_DUP_REPORTS 200

static void report_dups(struct chk_ctx *c, uint32_t ino, uint64_t blk, uint64_t len,
			const char *what)
{
	int shared_ok = ext2fs_has_feature_shared_blocks(c->sb);

	for (uint64_t b = blk; b < blk + len; b++) {
		if (!ext2fs_fast_test_block_bitmap2(c->used, b))
			continue;
		if (ext2fs_fast_test_block_bitmap2(c->meta, b)) {
			chk_err_ino(c, ino, "BLOCK_IN_METADATA",
				    "%s block %llu conflicts with fixed metadata",
				    what, (unsigned long long)b);
			return;
		}
		if (shared_ok)
			continue;
		if (c->dup_reports++ < CHK_MAX_DUP_REPORTS)
			chk_err_ino(c, ino, "BLOCK_MULTIPLY_CLAIMED",
				    "%s block %llu is claimed by more than one owner",
				    what, (unsigned long long)b);
		else
			c->rep->verdict = CHK_CORRUPT;
		return;
	}
}

int chk_claim(struct chk_ctx *c, uint32_t ino, uint64_t blk, uint64_t len,
	      const char *what)
{
	if (len == 0)
		return 0;
	if (!chk_block_valid(c, blk, len)) {
		chk_err_ino(c, ino, "BLOCK_ILLEGAL",
			    "%s block %llu (length %llu) is outside the file system",
			    what, (unsigned long long)blk, (unsigned long long)len);
		return -EUCLEAN;
	}
	if (!ext2fs_test_block_bitmap_range2(c->used, blk, len)) {
		/* bigalloc: the bitmaps count clusters, which files share */
		if (!ext2fs_has_feature_bigalloc(c->sb))
			report_dups(c, ino, blk, len, what);
		ext2fs_mark_block_bitmap_range2(c->used, blk, len);
		return -EEXIST;
	}
	ext2fs_mark_block_bitmap_range2(c->used, blk, len);
	return 0;
}

int chk_add_dblock(struct chk_ctx *c, uint32_t ino, uint64_t lblk, uint64_t pblk)
{
	/* more directory blocks than the fs has: shared blocks; stop listing */
	if (c->ndblk >= c->nblocks + 1024) {
		if (!c->dblk_overflow++)
			chk_err_ino(c, ino, "DIR_BLOCKS_OVERFLOW",
				    "directories map more blocks than the file system has");
		return -E2BIG;
	}
	if (c->ndblk == c->dblk_cap) {
		size_t cap = c->dblk_cap ? c->dblk_cap * 2 : 1024;
		struct chk_dblock *n = realloc(c->dblk, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->dblk = n;
		c->dblk_cap = cap;
	}
	c->dblk[c->ndblk].ino = ino;
	c->dblk[c->ndblk].lblk = (uint32_t)lblk;
	c->dblk[c->ndblk].pblk = pblk;
	c->ndblk++;
	return 0;
}
