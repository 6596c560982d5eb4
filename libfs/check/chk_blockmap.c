/*
 * libfs/check block-mapped (ext2/ext3 style) files: direct blocks and the
 * single, double and triple indirect trees.  An indirect block is read only
 * the first time it is claimed, so the walk is bounded by the fs size.
 */
#include <errno.h>
#include <stdlib.h>
#include "libfs/check/chk_internal.h"

struct map_walk {
	struct chk_ctx *c;
	uint32_t ino;
	struct chk_blocks *b;
	uint32_t per;			/* block numbers per block */
	uint32_t *buf[3];		/* one per level */
	int illegal;			/* illegal block numbers seen */
};

static void map_data(struct map_walk *w, uint64_t lblk, uint32_t pblk)
{
	struct chk_ctx *c = w->c;

	if (!chk_block_valid(c, pblk, 1)) {
		if (w->illegal++ < 8)
			chk_err_ino(c, w->ino, "BLOCK_ILLEGAL", "logical block %llu maps to illegal block %u",
				    (unsigned long long)lblk, pblk);
		w->b->bad = 1;
		return;
	}
	chk_claim(c, w->ino, pblk, 1, "data");
	w->b->nblocks++;
	w->b->nmapped++;
	if (lblk == 0)
		w->b->first_pblk = pblk;
	if ((int64_t)lblk > w->b->last_lblk)
		w->b->last_lblk = (int64_t)lblk;
	w->b->last_init = w->b->last_lblk;
	if (w->b->is_dir) {
		if (lblk * c->bs >= (1ULL << 31) && !ext2fs_has_feature_largedir(c->sb)) {
			chk_err_ino(c, w->ino, "DIR_TOO_BIG", "directory block %llu is beyond the directory size limit",
				    (unsigned long long)lblk);
			w->b->bad = 1;
			return;
		}
		chk_add_dblock(c, w->ino, lblk, pblk);
	}
}

/* Walks the indirect block @pblk of @level (0: single) covering from @lblk. */
static void map_ind(struct map_walk *w, uint32_t pblk, int level, uint64_t lblk)
{
	struct chk_ctx *c = w->c;
	uint64_t span = 1;

	if (!chk_block_valid(c, pblk, 1)) {
		if (w->illegal++ < 8)
			chk_err_ino(c, w->ino, "BLOCK_ILLEGAL", "indirect block %u (level %d) is illegal",
				    pblk, level + 1);
		w->b->bad = 1;
		return;
	}
	w->b->nblocks++;
	if (chk_claim(c, w->ino, pblk, 1, "indirect") == -EEXIST)
		return;
	if (chk_read_block(c, pblk, w->buf[level]))
		return;
	for (int i = 0; i < level; i++)
		span *= w->per;
	for (uint32_t i = 0; i < w->per; i++) {
		uint32_t e = w->buf[level][i];

		if (!e)
			continue;
		if (level == 0)
			map_data(w, lblk + i, e);
		else
			map_ind(w, e, level - 1, lblk + i * span);
	}
}

int chk_blockmap(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
		 struct chk_blocks *b)
{
	struct map_walk w = { .c = c, .ino = ino, .b = b, .per = c->bs / 4 };
	uint64_t lblk = EXT2_NDIR_BLOCKS, span = w.per;
	int ret = 0;

	for (int i = 0; i < 3; i++) {
		w.buf[i] = malloc(c->bs);
		if (!w.buf[i]) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (int i = 0; i < EXT2_NDIR_BLOCKS; i++)
		if (in->i_block[i])
			map_data(&w, i, in->i_block[i]);
	for (int level = 0; level < 3; level++) {
		if (in->i_block[EXT2_IND_BLOCK + level])
			map_ind(&w, in->i_block[EXT2_IND_BLOCK + level], level, lblk);
		lblk += span;
		span *= w.per;
	}
	if (w.illegal > 8)
		chk_err_ino(c, ino, "BLOCK_ILLEGAL", "%d illegal block numbers in all", w.illegal);
out:
	for (int i = 0; i < 3; i++)
		free(w.buf[i]);
	return ret;
}
