/*
 * libfs/check pass 5: the on-disk block and inode bitmaps (and their
 * checksums) against what passes 1-2 found in use, and the free counts per
 * group and in the superblock.  Compares whole groups as byte ranges; walks
 * bits only in groups that differ.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

static uint64_t popcount(const uint8_t *p, size_t nbits)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i + 8 <= nbits; i += 8)
		n += (uint64_t)__builtin_popcount(p[i / 8]);
	for (; i < nbits; i++)
		n += (p[i / 8] >> (i % 8)) & 1;
	return n;
}

/* Reports a group whose on-disk bits differ from the computed ones. */
static int bits_differ(const uint8_t *a, const uint8_t *b, size_t nbits)
{
	uint8_t mask = (uint8_t)((1U << (nbits % 8)) - 1);

	if (memcmp(a, b, nbits / 8))
		return 1;
	return nbits % 8 && ((a[nbits / 8] ^ b[nbits / 8]) & mask);
}

/* Bit i stands for block (or inode) first + (i << shift). */
static void report_diff(struct chk_ctx *c, const char *code, const char *what, dgrp_t g,
			uint64_t first, int shift, const uint8_t *disk, const uint8_t *want, size_t nbits)
{
	uint64_t plus = 0, minus = 0, first_plus = 0, first_minus = 0;
	enum chk_where where = strcmp(what, "inodes") ? CHK_AT_BLOCK : CHK_AT_INODE;

	for (size_t i = 0; i < nbits; i++) {
		int d = (disk[i / 8] >> (i % 8)) & 1, w = (want[i / 8] >> (i % 8)) & 1;

		if (w && !d && !plus++)
			first_plus = first + ((uint64_t)i << shift);
		if (d && !w && !minus++)
			first_minus = first + ((uint64_t)i << shift);
	}
	/* named by the first differing block or inode, as the findings' "block"/"inode" */
	if (plus)
		chk_add(c, CHK_ERROR, code, where, first_plus,
			"group %u: %llu %s in use but marked free (first %llu)", g,
			(unsigned long long)plus, what, (unsigned long long)first_plus);
	if (minus)
		chk_add(c, CHK_ERROR, code, where, first_minus,
			"group %u: %llu %s marked in use but free (first %llu)", g,
			(unsigned long long)minus, what, (unsigned long long)first_minus);
}

static void check_bitmap_csums(struct chk_ctx *c, dgrp_t g, uint8_t *buf)
{
	ext2_filsys fs = c->fs;
	uint64_t bb = ext2fs_block_bitmap_loc(fs, g), ib = ext2fs_inode_bitmap_loc(fs, g);

	if (!c->csum || !c->group_ok[g])
		return;
	if (!ext2fs_bg_flags_test(fs, g, EXT2_BG_BLOCK_UNINIT) && chk_block_valid(c, bb, 1) &&
	    chk_read_block(c, bb, buf) == 0 &&
	    !ext2fs_block_bitmap_csum_verify(fs, g, (char *)buf, EXT2_CLUSTERS_PER_GROUP(c->sb) / 8))
		chk_err_grp(c, g, "BITMAP_BLOCK_CSUM", "group %u block bitmap does not match its checksum", g);
	if (!ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT) && chk_block_valid(c, ib, 1) &&
	    chk_read_block(c, ib, buf) == 0 &&
	    !ext2fs_inode_bitmap_csum_verify(fs, g, (char *)buf, c->ipg / 8))
		chk_err_grp(c, g, "BITMAP_INODE_CSUM", "group %u inode bitmap does not match its checksum", g);
}

struct counts {
	uint64_t free_blocks, free_inodes;
};

static void check_group_blocks(struct chk_ctx *c, dgrp_t g, uint8_t *disk, uint8_t *want,
			       struct counts *t)
{
	ext2_filsys fs = c->fs;
	uint64_t cpg = EXT2_CLUSTERS_PER_GROUP(c->sb);
	uint64_t total = EXT2FS_B2C(fs, c->nblocks - 1) - EXT2FS_B2C(fs, c->first_data) + 1;
	uint64_t start = (uint64_t)g * cpg, n = total - start < cpg ? total - start : cpg;
	uint64_t first = EXT2FS_B2C(fs, c->first_data) + start;
	uint64_t free_n;

	if (ext2fs_get_block_bitmap_range2(c->used, first, n, want))
		return;
	free_n = n - popcount(want, n);
	t->free_blocks += free_n;
	if (fs->block_map && ext2fs_get_block_bitmap_range2(fs->block_map, first, n, disk) == 0 &&
	    bits_differ(disk, want, n))
		report_diff(c, "BITMAP_BLOCK_DIFF", "blocks", g, EXT2FS_C2B(fs, first),
			    fs->cluster_ratio_bits, disk, want, n);
	if (ext2fs_bg_free_blocks_count(fs, g) != free_n)
		chk_err_grp(c, g, "GROUP_FREE_BLOCKS_COUNT", "group %u free blocks count is %u, counted %llu",
			    g, ext2fs_bg_free_blocks_count(fs, g), (unsigned long long)free_n);
}

static void check_group_inodes(struct chk_ctx *c, dgrp_t g, uint8_t *disk, uint8_t *want,
			       struct counts *t)
{
	ext2_filsys fs = c->fs;
	uint64_t first = (uint64_t)g * c->ipg + 1, n = c->ipg, free_n;
	uint32_t dirs = 0;

	if (ext2fs_get_inode_bitmap_range2(c->iused, first, n, want))
		return;
	free_n = n - popcount(want, n);
	t->free_inodes += free_n;
	if (fs->inode_map && ext2fs_get_inode_bitmap_range2(fs->inode_map, first, n, disk) == 0 &&
	    bits_differ(disk, want, n))
		report_diff(c, "BITMAP_INODE_DIFF", "inodes", g, first, 0, disk, want, n);
	if (ext2fs_bg_free_inodes_count(fs, g) != free_n)
		chk_err_grp(c, g, "GROUP_FREE_INODES_COUNT", "group %u free inodes count is %u, counted %llu",
			    g, ext2fs_bg_free_inodes_count(fs, g), (unsigned long long)free_n);
	for (uint64_t i = first; i < first + n && i <= c->ninodes; i++)
		dirs += (c->ino[i].state & (CHK_I_USED | CHK_I_DIR)) == (CHK_I_USED | CHK_I_DIR);
	if (ext2fs_bg_used_dirs_count(fs, g) != dirs)
		chk_err_grp(c, g, "GROUP_DIRS_COUNT", "group %u directories count is %u, counted %u",
			    g, ext2fs_bg_used_dirs_count(fs, g), dirs);
}

static void check_totals(struct chk_ctx *c, const struct counts *t)
{
	/* The kernel keeps these in memory while mounted; stale after a crash. */
	enum chk_severity sev = c->needs_recovery ? CHK_INFO : CHK_ERROR;
	uint64_t fb = EXT2FS_C2B(c->fs, t->free_blocks);

	chk_verbose(c, "%llu/%u inodes, %llu/%llu blocks in use",
		    (unsigned long long)(c->ninodes - t->free_inodes), c->ninodes,
		    (unsigned long long)(c->nblocks - fb), (unsigned long long)c->nblocks);
	if (ext2fs_free_blocks_count(c->sb) != fb)
		chk_add(c, sev, "SUPER_FREE_BLOCKS_COUNT", CHK_AT_FS, 0, "free blocks count is %llu, counted %llu",
			(unsigned long long)ext2fs_free_blocks_count(c->sb), (unsigned long long)fb);
	if (c->sb->s_free_inodes_count != t->free_inodes)
		chk_add(c, sev, "SUPER_FREE_INODES_COUNT", CHK_AT_FS, 0, "free inodes count is %u, counted %llu",
			c->sb->s_free_inodes_count, (unsigned long long)t->free_inodes);
}

int chk_bitmaps(struct chk_ctx *c)
{
	size_t len = (EXT2_CLUSTERS_PER_GROUP(c->sb) > c->ipg ? EXT2_CLUSTERS_PER_GROUP(c->sb) : c->ipg) / 8 + 8;
	uint8_t *disk = calloc(1, len > c->bs ? len : c->bs), *want = calloc(1, len);
	struct counts t = { 0, 0 };
	errcode_t err;

	if (!disk || !want) {
		free(disk);
		free(want);
		return -ENOMEM;
	}
	err = ext2fs_read_bitmaps(c->fs);
	if (err)
		chk_err_fs(c, "BITMAP_READ", "bitmaps cannot be read: %s", error_message(err));
	for (dgrp_t g = 0; g < c->ngroups; g++) {
		check_bitmap_csums(c, g, disk);
		memset(disk, 0, len);
		memset(want, 0, len);
		check_group_blocks(c, g, disk, want, &t);
		memset(disk, 0, len);
		memset(want, 0, len);
		check_group_inodes(c, g, disk, want, &t);
	}
	check_totals(c, &t);
	free(disk);
	free(want);
	return 0;
}
