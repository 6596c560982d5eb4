/*
 * libfs/disk, the metadata flush: writes the bitmaps, group descriptors and
 * superblock that libext2fs keeps in memory, but only the blocks that changed
 * since they were last written, so a commit writes (and journals) the changed
 * groups, not the whole tables; finding them is a scan of memory (bitmaps only
 * when libext2fs marked them dirty).  Calls libext2fs only; I/O via fs->io.
 * Invariant: a known sum (non-zero) is that of the block as it is on disk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libfs/disk/disk_internal.h"

/*
 * What was last written, per group and per descriptor block.  Bitmap blocks
 * are remembered by a 64-bit sum (0: unknown, write at the next flush);
 * descriptor blocks by a copy, as they are few.
 */
struct disk_flush {
	dgrp_t groups;
	blk64_t desc_blocks;
	uint64_t *bb_sum;		/* block bitmap of each group */
	uint64_t *ib_sum;		/* inode bitmap of each group */
	char *desc;			/* the descriptor table as on disk */
	char *buf;			/* one block, scratch */
};

/* ---- sums ---- */

static uint64_t rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

#define SUM_MUL 0xff51afd7ed558ccdULL

/* One word into a lane: a bijection of the lane for any given word. */
static uint64_t sum_step(uint64_t lane, uint64_t w)
{
	return rotl64((lane ^ w) * SUM_MUL, 29);
}

/*
 * Four lanes over interleaved words (for speed: the steps of one lane are a
 * serial chain), folded by the same steps.  Every step is a bijection of its
 * lane, so two blocks that differ in a single word never share a sum; 0 is
 * reserved for "unknown".  @len is a multiple of 32 (a block).
 */
static uint64_t block_sum(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t lane[4] = { 0x9e3779b97f4a7c15ULL, len, ~0ULL, 0x243f6a8885a308d3ULL };
	uint64_t w[4], h;
	size_t i;
	int k;

	for (i = 0; i + 32 <= len; i += 32) {
		memcpy(w, b + i, 32);
		for (k = 0; k < 4; k++)
			lane[k] = sum_step(lane[k], w[k]);
	}
	h = lane[0];
	for (k = 1; k < 4; k++)
		h = sum_step(h, lane[k]);
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return h ? h : 1;
}

/* ---- building the on-disk images of the in-memory state ---- */

static int group_uninit(ext2_filsys fs, dgrp_t g, uint16_t flag)
{
	return ext2fs_has_group_desc_csum(fs) && ext2fs_bg_flags_test(fs, g, flag);
}

static unsigned block_bitmap_bytes(ext2_filsys fs)
{
	return EXT2_CLUSTERS_PER_GROUP(fs->super) / 8;
}

static unsigned inode_bitmap_bytes(ext2_filsys fs)
{
	return (EXT2_INODES_PER_GROUP(fs->super) + 7) / 8;
}

/* Bits of the last group's block bitmap past the end of the fs read as used. */
static void pad_last_group(ext2_filsys fs, unsigned char *buf)
{
	uint64_t span = ext2fs_blocks_count(fs->super) - fs->super->s_first_data_block;
	unsigned used = EXT2FS_NUM_B2C(fs, span % EXT2_BLOCKS_PER_GROUP(fs->super));
	unsigned bit, end = fs->blocksize * 8;

	if (!used)
		return;
	for (bit = used; bit < end && bit % 8; bit++)
		ext2fs_set_bit(bit, buf);
	if (bit < end)
		memset(buf + bit / 8, 0xff, (end - bit) / 8);
}

/* @buf: group @g's block bitmap block, padding bytes set as libext2fs sets them. */
static int build_block_bitmap(ext2_filsys fs, dgrp_t g, unsigned char *buf)
{
	unsigned nbytes = block_bitmap_bytes(fs);
	blk64_t start = EXT2FS_B2C(fs, fs->super->s_first_data_block) +
			(blk64_t)g * EXT2_CLUSTERS_PER_GROUP(fs->super);
	errcode_t rc;

	memset(buf, 0xff, fs->blocksize);
	rc = ext2fs_get_block_bitmap_range2(fs->block_map, start, nbytes * 8, buf);
	if (rc)
		return disk_err(rc);
	if (g == fs->group_desc_count - 1)
		pad_last_group(fs, buf);
	return 0;
}

static int build_inode_bitmap(ext2_filsys fs, dgrp_t g, unsigned char *buf)
{
	unsigned nbytes = inode_bitmap_bytes(fs);
	ext2_ino_t start = g * EXT2_INODES_PER_GROUP(fs->super) + 1;

	memset(buf, 0xff, fs->blocksize);
	return disk_err(ext2fs_get_inode_bitmap_range2(fs->inode_map, start,
						       nbytes * 8, buf));
}

/* A bitmap block of group @g: where it lives, how it is built and summed. */
struct bitmap_kind {
	uint16_t uninit_flag;
	int (*build)(ext2_filsys fs, dgrp_t g, unsigned char *buf);
	blk64_t (*loc)(ext2_filsys fs, dgrp_t g);
	errcode_t (*csum_set)(ext2_filsys fs, dgrp_t g, char *bitmap, int size);
	unsigned (*bytes)(ext2_filsys fs);
};

static const struct bitmap_kind block_kind = {
	EXT2_BG_BLOCK_UNINIT, build_block_bitmap, ext2fs_block_bitmap_loc,
	ext2fs_block_bitmap_csum_set, block_bitmap_bytes,
};

static const struct bitmap_kind inode_kind = {
	EXT2_BG_INODE_UNINIT, build_inode_bitmap, ext2fs_inode_bitmap_loc,
	ext2fs_inode_bitmap_csum_set, inode_bitmap_bytes,
};

/* ---- the flush ---- */

/*
 * Writes group @g's bitmap of @kind if it differs from @sum (updated).
 * Uninitialized groups are not written (their bitmaps are computed on read)
 * and forgotten, so the first write after the flag is cleared happens.
 * Returns 1 when the block was written, 0 when not, or -errno.
 */
static int flush_bitmap(struct disk_flush *fl, ext2_filsys fs, dgrp_t g,
			const struct bitmap_kind *kind, uint64_t *sum)
{
	unsigned char *buf = (unsigned char *)fl->buf;
	blk64_t blk;
	uint64_t now;
	int err;

	if (group_uninit(fs, g, kind->uninit_flag)) {
		*sum = 0;
		return 0;
	}
	err = kind->build(fs, g, buf);
	if (err)
		return err;
	now = block_sum(buf, fs->blocksize);
	if (now == *sum)
		return 0;
	err = disk_err(kind->csum_set(fs, g, fl->buf, kind->bytes(fs)));
	if (err)
		return err;
	ext2fs_group_desc_csum_set(fs, g);
	blk = kind->loc(fs, g);
	if (blk && blk < ext2fs_blocks_count(fs->super)) {
		err = disk_err(io_channel_write_blk64(fs->io, blk, 1, buf));
		if (err)	/* the sum stays: the next flush retries */
			return err;
	}
	*sum = now;
	return 1;
}

/*
 * Only a bitmap libext2fs marked dirty is scanned (the allocation calls mark
 * it, as its own flush assumes), so a flush with no allocation since the last
 * one, as the second of fsync's two, costs nothing here.
 */
static int flush_bitmaps(struct disk_flush *fl, ext2_filsys fs)
{
	int blocks = !!(fs->flags & EXT2_FLAG_BB_DIRTY);
	int inodes = !!(fs->flags & EXT2_FLAG_IB_DIRTY);
	dgrp_t g;
	int ret = 0;

	for (g = 0; g < fl->groups && (blocks || inodes); g++) {
		if (blocks)
			ret = flush_bitmap(fl, fs, g, &block_kind, &fl->bb_sum[g]);
		if (ret >= 0 && inodes)
			ret = flush_bitmap(fl, fs, g, &inode_kind, &fl->ib_sum[g]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
/* @n descriptors in @buf to on-disk (little-endian) order. */
static void desc_to_disk(ext2_filsys fs, char *buf, dgrp_t n)
{
	dgrp_t i;

	for (i = 0; i < n; i++)
		ext2fs_swap_group_desc2(fs, (struct ext2_group_desc *)
					(buf + (size_t)i * EXT2_DESC_SIZE(fs->super)));
}

/* The superblock through libext2fs, which swaps it (descriptors are ours). */
static int write_super(ext2_filsys fs)
{
	int flags = fs->flags;
	errcode_t rc;

	fs->flags |= EXT2_FLAG_SUPER_ONLY;
	rc = ext2fs_flush2(fs, EXT2_FLAG_FLUSH_NO_SYNC);
	fs->flags = (fs->flags & ~EXT2_FLAG_SUPER_ONLY) | (flags & EXT2_FLAG_SUPER_ONLY);
	return disk_err(rc);
}
#else
static void desc_to_disk(ext2_filsys fs, char *buf, dgrp_t n)
{
	(void)fs; (void)buf; (void)n;
}

/* The whole primary superblock at its byte offset; libext2fs's orig_super
 * (its idea of what is on disk) follows. */
static int write_super(ext2_filsys fs)
{
	struct ext2_super_block *sb = fs->super;
	errcode_t rc;

	rc = ext2fs_superblock_csum_set(fs, sb);
	if (rc)
		return disk_err(rc);
	if (fs->orig_super && !memcmp(fs->orig_super, sb, SUPERBLOCK_SIZE))
		return 0;
	rc = io_channel_write_byte(fs->io, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, sb);
	if (rc == EXT2_ET_UNIMPLEMENTED) {
		io_channel_set_blksize(fs->io, SUPERBLOCK_OFFSET);
		rc = io_channel_write_blk64(fs->io, 1, -SUPERBLOCK_SIZE, sb);
		io_channel_set_blksize(fs->io, fs->blocksize);
	}
	if (rc)
		return disk_err(rc);
	if (fs->orig_super)
		memcpy(fs->orig_super, sb, SUPERBLOCK_SIZE);
	return 0;
}
#endif

/* Groups whose descriptors live in descriptor block @i: [*first, *first + n). */
static dgrp_t desc_block_groups(ext2_filsys fs, blk64_t i, dgrp_t *first)
{
	dgrp_t per = EXT2_DESC_PER_BLOCK(fs->super);

	*first = (dgrp_t)(i * per);
	return fs->group_desc_count - *first < per ? fs->group_desc_count - *first : per;
}

/*
 * Writes descriptor block @i if it differs from the copy last written; only
 * then are its groups' checksums refreshed (an unchanged block kept the ones
 * it was written with).
 */
static int flush_desc_block(struct disk_flush *fl, ext2_filsys fs, blk64_t i)
{
	size_t bs = fs->blocksize;
	char *mem = (char *)fs->group_desc + i * bs, *disk = fl->desc + i * bs;
	dgrp_t first, n, g;
	blk64_t blk;
	int err;

	n = desc_block_groups(fs, i, &first);
	memcpy(fl->buf, mem, bs);
	desc_to_disk(fs, fl->buf, n);
	if (!memcmp(fl->buf, disk, bs))
		return 0;
	for (g = first; g < first + n; g++)
		ext2fs_group_desc_csum_set(fs, g);
	memcpy(fl->buf, mem, bs);
	desc_to_disk(fs, fl->buf, n);
	blk = ext2fs_descriptor_block_loc2(fs, fs->super->s_first_data_block, i);
	err = disk_err(io_channel_write_blk64(fs->io, blk, 1, fl->buf));
	if (err)
		return err;
	memcpy(disk, fl->buf, bs);
	return 0;
}

/*
 * The primary superblock (free counts, write time) when it changed since
 * libext2fs or we last wrote it; backups are not rewritten (MASTER_SB_ONLY).
 */
static int flush_super(ext2_filsys fs)
{
	fs->super->s_wtime = fs->now ? fs->now : time(NULL);
	fs->super->s_block_group_nr = 0;
	return write_super(fs);
}

int disk_flush_changed(struct disk_fs *dfs)
{
	struct disk_flush *fl = dfs->flush;
	ext2_filsys fs = dfs->fs;
	blk64_t i;
	int err;

	if (!fl || fl->groups != fs->group_desc_count ||
	    fl->desc_blocks != fs->desc_blocks)
		return disk_err(ext2fs_flush2(fs, EXT2_FLAG_FLUSH_NO_SYNC));
	err = flush_bitmaps(fl, fs);
	for (i = 0; !err && i < fl->desc_blocks; i++)
		err = flush_desc_block(fl, fs, i);
	if (!err)
		err = flush_super(fs);
	if (!err)
		fs->flags &= ~(EXT2_FLAG_BB_DIRTY | EXT2_FLAG_IB_DIRTY | EXT2_FLAG_DIRTY);
	return err;
}

/* ---- state ---- */

/* Sums of the bitmaps as the fs holds them now, taken to be what is on disk. */
static int seed_bitmaps(struct disk_flush *fl, ext2_filsys fs)
{
	unsigned char *buf = (unsigned char *)fl->buf;
	dgrp_t g;
	int err;

	for (g = 0; g < fl->groups; g++) {
		if (!group_uninit(fs, g, EXT2_BG_BLOCK_UNINIT) &&
		    g != fl->groups - 1) {	/* the last: padding written once */
			err = build_block_bitmap(fs, g, buf);
			if (err)
				return err;
			fl->bb_sum[g] = block_sum(buf, fs->blocksize);
		}
		if (!group_uninit(fs, g, EXT2_BG_INODE_UNINIT)) {
			err = build_inode_bitmap(fs, g, buf);
			if (err)
				return err;
			fl->ib_sum[g] = block_sum(buf, fs->blocksize);
		}
	}
	return 0;
}

void disk_flush_free(struct disk_fs *dfs)
{
	struct disk_flush *fl = dfs->flush;

	if (!fl)
		return;
	free(fl->bb_sum);
	free(fl->ib_sum);
	free(fl->desc);
	free(fl->buf);
	free(fl);
	dfs->flush = NULL;
}

int disk_flush_init(struct disk_fs *dfs)
{
	ext2_filsys fs = dfs->fs;
	struct disk_flush *fl = calloc(1, sizeof(*fl));
	size_t table = (size_t)fs->desc_blocks * fs->blocksize;
	int err = -ENOMEM;

	dfs->flush = fl;
	if (!fl)
		goto fail;
	fl->groups = fs->group_desc_count;
	fl->desc_blocks = fs->desc_blocks;
	fl->bb_sum = calloc(fl->groups, sizeof(*fl->bb_sum));
	fl->ib_sum = calloc(fl->groups, sizeof(*fl->ib_sum));
	fl->desc = malloc(table ? table : 1);
	fl->buf = malloc(fs->blocksize);
	if (!fl->bb_sum || !fl->ib_sum || !fl->desc || !fl->buf)
		goto fail;
	memcpy(fl->desc, fs->group_desc, table);
	desc_to_disk(fs, fl->desc, fs->group_desc_count);
	err = seed_bitmaps(fl, fs);
	if (err)
		goto fail;
	return 0;
fail:
	disk_flush_free(dfs);
	return err;
}
