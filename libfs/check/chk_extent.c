/*
 * libfs/check extent trees, walked from the inode's i_block: header magic,
 * depth, entry counts, ordering, bounds, index starts, block checksums.  A
 * child is read only after its index block was claimed for the first time and
 * depth falls by one per level, so the walk is bounded by the fs size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

#define EXT_MAX_DEPTH		5


struct ext_walk {
	struct chk_ctx *c;
	uint32_t ino;
	struct chk_blocks *b;
	uint8_t *buf[EXT_MAX_DEPTH + 1];	/* one block per level */
	uint32_t num[EXT_MAX_DEPTH + 1];	/* entries per level, root = 0 */
	uint32_t max[EXT_MAX_DEPTH + 1];	/* room per level */
};

static int check_header(struct ext_walk *w, const struct ext3_extent_header *eh,
			unsigned capacity, int depth, uint64_t blk)
{
	struct chk_ctx *c = w->c;

	if (eh->eh_magic != EXT3_EXT_MAGIC) {
		chk_err_ino(c, w->ino, "EXTENT_BAD_MAGIC", "extent header at %s %llu has bad magic 0x%04x",
			    blk ? "block" : "inode", (unsigned long long)(blk ? blk : w->ino), eh->eh_magic);
		return -EUCLEAN;
	}
	if (eh->eh_max > capacity || eh->eh_entries > eh->eh_max) {
		chk_err_ino(c, w->ino, "EXTENT_BAD_ENTRIES",
			    "extent node at block %llu: %u entries, max %u, room for %u",
			    (unsigned long long)blk, eh->eh_entries, eh->eh_max, capacity);
		return -EUCLEAN;
	}
	if (depth >= 0 && eh->eh_depth != depth) {
		chk_err_ino(c, w->ino, "EXTENT_BAD_DEPTH", "extent node at block %llu has depth %u, expected %d",
			    (unsigned long long)blk, eh->eh_depth, depth);
		return -EUCLEAN;
	}
	if (eh->eh_depth > EXT_MAX_DEPTH) {
		chk_err_ino(c, w->ino, "EXTENT_TOO_DEEP", "extent tree depth %u exceeds %d",
			    eh->eh_depth, EXT_MAX_DEPTH);
		return -EUCLEAN;
	}
	return 0;
}

static void note_dir_blocks(struct ext_walk *w, uint64_t lblk, uint64_t pblk, uint64_t len)
{
	struct chk_ctx *c = w->c;
	uint64_t limit = 1ULL << (ext2fs_has_feature_largedir(c->sb) ? 32 : 31);

	if (!w->b->is_dir)
		return;
	for (uint64_t i = 0; i < len; i++) {
		if ((lblk + i) * c->bs >= limit) {
			chk_err_ino(c, w->ino, "DIR_TOO_BIG", "directory block %llu is beyond the directory size limit",
				    (unsigned long long)(lblk + i));
			w->b->bad = 1;
			return;
		}
		if (chk_add_dblock(c, w->ino, lblk + i, pblk + i))
			return;
	}
}

static void walk_leaf_entry(struct ext_walk *w, const struct ext3_extent *ex,
			    int64_t *next_lblk, uint64_t end)
{
	struct chk_ctx *c = w->c;
	uint32_t len = ex->ee_len;
	int uninit = len > EXT_INIT_MAX_LEN;
	uint64_t pblk = ((uint64_t)ex->ee_start_hi << 32) | ex->ee_start;
	uint64_t lblk = ex->ee_block;

	if (uninit)
		len -= EXT_INIT_MAX_LEN;
	if (len == 0) {
		chk_err_ino(c, w->ino, "EXTENT_ZERO_LEN", "extent at logical block %llu (physical %llu) has zero length",
			    (unsigned long long)lblk, (unsigned long long)pblk);
		w->b->bad = 1;
		return;
	}
	if ((int64_t)lblk < *next_lblk || lblk + len > end) {
		chk_err_ino(c, w->ino, "EXTENT_ORDER", "extent at logical block %llu (length %u) is out of order or beyond its index",
			    (unsigned long long)lblk, len);
		w->b->bad = 1;
		return;
	}
	if (!chk_block_valid(c, pblk, len)) {
		chk_err_ino(c, w->ino, "EXTENT_BAD_BLOCK", "extent at logical block %llu points to invalid physical block %llu (length %u)",
			    (unsigned long long)lblk, (unsigned long long)pblk, len);
		w->b->bad = 1;
		return;
	}
	if (uninit && w->b->is_dir) {
		chk_err_ino(c, w->ino, "DIR_UNINIT_EXTENT", "directory has an uninitialized extent at logical block %llu",
			    (unsigned long long)lblk);
		w->b->bad = 1;
	}
	*next_lblk = (int64_t)(lblk + len);
	chk_claim(c, w->ino, pblk, len, "extent");
	w->b->nblocks += len;
	w->b->nmapped += len;
	if (lblk == 0)
		w->b->first_pblk = pblk;
	if ((int64_t)(lblk + len - 1) > w->b->last_lblk)
		w->b->last_lblk = (int64_t)(lblk + len - 1);
	if (!uninit && (int64_t)(lblk + len - 1) > w->b->last_init)
		w->b->last_init = (int64_t)(lblk + len - 1);
	if (!uninit)
		note_dir_blocks(w, lblk, pblk, len);
}

static int walk_node(struct ext_walk *w, const struct ext3_extent_header *eh,
		     uint64_t start, uint64_t end, int level);

/* Reads, checks and walks the child node @blk, which must start at @start. */
static void walk_child(struct ext_walk *w, uint64_t blk, uint64_t start, uint64_t end,
		       int depth, int level)
{
	struct chk_ctx *c = w->c;
	struct ext3_extent_header *ceh;
	unsigned cap = (c->bs - sizeof(*ceh)) / sizeof(struct ext3_extent);

	if (!chk_block_valid(c, blk, 1)) {
		chk_err_ino(c, w->ino, "EXTENT_BAD_BLOCK", "extent index for logical block %llu points to invalid block %llu",
			    (unsigned long long)start, (unsigned long long)blk);
		w->b->bad = 1;
		return;
	}
	w->b->nblocks++;
	if (chk_claim(c, w->ino, blk, 1, "extent tree") == -EEXIST)
		return;
	if (level > EXT_MAX_DEPTH || chk_read_block(c, blk, w->buf[level])) {
		w->b->bad = 1;
		return;
	}
	ceh = (struct ext3_extent_header *)w->buf[level];
	if (check_header(w, ceh, cap, depth, blk)) {
		w->b->bad = 1;
		return;
	}
	if (c->csum && !ext2fs_extent_block_csum_verify(c->fs, w->ino, ceh))
		chk_err_ino(c, w->ino, "EXTENT_BLOCK_CSUM", "extent block %llu checksum does not match",
			    (unsigned long long)blk);
	if (ceh->eh_entries == 0) {
		chk_err_ino(c, w->ino, "EXTENT_EMPTY_NODE", "extent block %llu has no entries",
			    (unsigned long long)blk);
		return;
	}
	if (((struct ext3_extent *)(ceh + 1))->ee_block != start) {
		chk_err_ino(c, w->ino, "EXTENT_INDEX_START",
			    "index says logical block %llu but extent block %llu starts at %u",
			    (unsigned long long)start, (unsigned long long)blk,
			    ((struct ext3_extent *)(ceh + 1))->ee_block);
	}
	walk_node(w, ceh, start, end, level);
}

static int walk_node(struct ext_walk *w, const struct ext3_extent_header *eh,
		     uint64_t start, uint64_t end, int level)
{
	int64_t next = (int64_t)start;

	w->num[level] += eh->eh_entries;
	/* a non-full block split on append keeps a free slot: count one less */
	w->max[level] += eh->eh_max - (level && eh->eh_entries < eh->eh_max);
	if (eh->eh_depth == 0) {
		const struct ext3_extent *ex = (const void *)(eh + 1);

		for (unsigned i = 0; i < eh->eh_entries; i++)
			walk_leaf_entry(w, &ex[i], &next, end);
		return 0;
	}
	const struct ext3_extent_idx *ix = (const void *)(eh + 1);

	for (unsigned i = 0; i < eh->eh_entries; i++) {
		uint64_t lblk = ix[i].ei_block;
		uint64_t cend = i + 1 < eh->eh_entries ? ix[i + 1].ei_block : end;
		uint64_t blk = ((uint64_t)ix[i].ei_leaf_hi << 32) | ix[i].ei_leaf;

		if ((int64_t)lblk < next || cend > end || cend <= lblk) {
			chk_err_ino(w->c, w->ino, "EXTENT_ORDER", "extent index at logical block %llu is out of order",
				    (unsigned long long)lblk);
			w->b->bad = 1;
			return -EUCLEAN;
		}
		next = (int64_t)cend;
		walk_child(w, blk, lblk, cend, eh->eh_depth - 1, level + 1);
	}
	return 0;
}

/*
 * Like e2fsck's pass 1E: a level with more than a block's worth of free room
 * could be narrower; a level whose entries fit in a level above could be
 * collapsed.  e2fsck offers these as optimizations that do not count as
 * fixes (its exit status stays 0), so they are information only.
 */
static void note_optimizable(struct ext_walk *w, int depth)
{
	unsigned per_block = (w->c->bs - sizeof(struct ext3_extent_header)) / sizeof(struct ext3_extent);

	for (int i = 0; i <= depth; i++) {
		if (w->max[i] > w->num[i] + per_block) {
			chk_add(w->c, CHK_INFO, "EXTENT_TREE_NARROWER", CHK_AT_INODE, w->ino,
				"extent tree level %d could be narrower", i);
			return;
		}
		for (int j = 0; j < i; j++) {
			if (w->num[i] < w->max[j]) {
				chk_add(w->c, CHK_INFO, "EXTENT_TREE_SHORTER", CHK_AT_INODE, w->ino,
					"extent tree level %d could be collapsed (depth %d)", i, depth);
				return;
			}
		}
	}
}

int chk_extent_tree(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
		    struct chk_blocks *b)
{
	const struct ext3_extent_header *eh = (const void *)in->i_block;
	struct ext_walk w = { .c = c, .ino = ino, .b = b };
	int ret;

	ret = check_header(&w, eh, (sizeof(in->i_block) - sizeof(*eh)) / sizeof(struct ext3_extent), -1, 0);
	if (ret) {
		b->bad = 1;
		return ret;
	}
	for (int i = 1; i <= eh->eh_depth; i++) {
		w.buf[i] = malloc(c->bs);
		if (!w.buf[i]) {
			ret = -ENOMEM;
			goto out;
		}
	}
	ret = walk_node(&w, eh, 0, 1ULL << 32, 0);
	if (!b->bad)
		note_optimizable(&w, eh->eh_depth);
out:
	for (int i = 1; i <= EXT_MAX_DEPTH; i++)
		free(w.buf[i]);
	return ret == -EUCLEAN ? 0 : ret;
}
