/*
 * libfs/check pass 1a: the superblock and the group descriptors.  Marks the
 * fixed metadata (superblocks, descriptors, bitmaps, inode tables) in c->meta
 * and c->used, and sets c->group_ok[g] when a group's inode table lies inside
 * the file system.  Calls libext2fs for checksums and backup locations.
 */
#include <errno.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

static void check_sb_fields(struct chk_ctx *c)
{
	struct ext2_super_block *sb = c->sb;
	static const uint8_t zero[16];

	if (c->csum && !ext2fs_superblock_csum_verify(c->fs, sb))
		chk_err_fs(c, "SUPER_CSUM", "superblock checksum does not match");
	if (memcmp(sb->s_uuid, zero, sizeof(zero)) == 0)
		chk_err_fs(c, "SUPER_NO_UUID", "file system has no UUID");
	if (ext2fs_free_blocks_count(sb) > c->nblocks)
		chk_err_fs(c, "SUPER_FREE_BLOCKS", "free blocks count %llu exceeds block count",
			   (unsigned long long)ext2fs_free_blocks_count(sb));
	if (sb->s_free_inodes_count > c->ninodes)
		chk_err_fs(c, "SUPER_FREE_INODES", "free inodes count %u exceeds inode count",
			   sb->s_free_inodes_count);
	if (sb->s_state & EXT2_ERROR_FS)
		chk_add(c, CHK_INFO, "SUPER_ERROR_STATE", CHK_AT_FS, 0,
			"file system is marked as having errors");
	if (sb->s_rev_level > EXT2_GOOD_OLD_REV &&
	    ext2fs_has_feature_extra_isize(sb)) {
		unsigned max = c->isz - EXT2_GOOD_OLD_INODE_SIZE;

		if (sb->s_min_extra_isize > max || (sb->s_min_extra_isize & 3))
			chk_err_fs(c, "SUPER_EXTRA_ISIZE", "bad required extra isize %u",
				   sb->s_min_extra_isize);
		if (sb->s_want_extra_isize > max || (sb->s_want_extra_isize & 3))
			chk_err_fs(c, "SUPER_EXTRA_ISIZE", "bad desired extra isize %u",
				   sb->s_want_extra_isize);
	}
	if (ext2fs_has_feature_resize_inode(sb) && ext2fs_has_feature_meta_bg(sb))
		chk_err_fs(c, "SUPER_FEATURE_CONFLICT", "resize_inode and meta_bg both set");
	if (ext2fs_has_feature_inline_data(sb) && !ext2fs_has_feature_xattr(sb))
		chk_err_fs(c, "SUPER_FEATURE_CONFLICT", "inline_data without ext_attr");
	if (sb->s_first_ino < EXT2_GOOD_OLD_FIRST_INO && sb->s_rev_level > EXT2_GOOD_OLD_REV)
		chk_err_fs(c, "SUPER_FIRST_INO", "first inode %u is too small", sb->s_first_ino);
}

/* Marks @len blocks at @blk as fixed metadata of group @g. */
static int mark_meta(struct chk_ctx *c, dgrp_t g, uint64_t blk, uint64_t len,
		     const char *what)
{
	if (!chk_block_valid(c, blk, len))
		return -EUCLEAN;	/* the caller reports it */
	if (!ext2fs_has_feature_bigalloc(c->sb) && !ext2fs_test_block_bitmap_range2(c->meta, blk, len))
		chk_err_grp(c, g, "GROUP_DESC_OVERLAP",
			    "group %u: %s at block %llu overlaps other metadata",
			    g, what, (unsigned long long)blk);
	ext2fs_mark_block_bitmap_range2(c->meta, blk, len);
	ext2fs_mark_block_bitmap_range2(c->used, blk, len);
	return 0;
}

/* Without flex_bg a group's bitmaps and table must lie inside the group. */
static int in_group(struct chk_ctx *c, dgrp_t g, uint64_t blk, uint64_t len)
{
	uint64_t first, last;

	if (ext2fs_has_feature_flex_bg(c->sb))
		return 1;
	first = ext2fs_group_first_block2(c->fs, g);
	last = ext2fs_group_last_block2(c->fs, g);
	return blk >= first && blk + len - 1 <= last;
}

static void check_group(struct chk_ctx *c, dgrp_t g)
{
	ext2_filsys fs = c->fs;
	uint64_t itab_len = ((uint64_t)c->ipg * c->isz + c->bs - 1) / c->bs;
	uint64_t bb = ext2fs_block_bitmap_loc(fs, g);
	uint64_t ib = ext2fs_inode_bitmap_loc(fs, g);
	uint64_t it = ext2fs_inode_table_loc(fs, g);
	uint16_t flags = ext2fs_bg_flags(fs, g);

	if (c->gdt_csum && !ext2fs_group_desc_csum_verify(fs, g))
		chk_err_grp(c, g, "GROUP_DESC_CSUM", "group %u descriptor checksum 0x%04x, should be 0x%04x",
			    g, ext2fs_bg_checksum(fs, g), ext2fs_group_desc_csum(fs, g));
	if (!c->gdt_csum && ((flags & (EXT2_BG_INODE_UNINIT | EXT2_BG_BLOCK_UNINIT)) ||
			     ext2fs_bg_itable_unused(fs, g)))
		chk_err_grp(c, g, "GROUP_UNINIT_NO_FEATURE",
			    "group %u marked uninitialized without uninit_bg/metadata_csum", g);
	if (!in_group(c, g, bb, 1) || mark_meta(c, g, bb, 1, "block bitmap"))
		chk_err_grp(c, g, "GROUP_BLOCK_BITMAP_BAD", "group %u: bad block bitmap location %llu",
			    g, (unsigned long long)bb);
	if (!in_group(c, g, ib, 1) || mark_meta(c, g, ib, 1, "inode bitmap"))
		chk_err_grp(c, g, "GROUP_INODE_BITMAP_BAD", "group %u: bad inode bitmap location %llu",
			    g, (unsigned long long)ib);
	if (!in_group(c, g, it, itab_len) || mark_meta(c, g, it, itab_len, "inode table"))
		chk_err_grp(c, g, "GROUP_INODE_TABLE_BAD", "group %u: bad inode table location %llu",
			    g, (unsigned long long)it);
	else
		c->group_ok[g] = 1;
	if (ext2fs_bg_free_inodes_count(fs, g) > c->ipg)
		chk_err_grp(c, g, "GROUP_FREE_INODES", "group %u free inodes count %u exceeds inodes per group",
			    g, ext2fs_bg_free_inodes_count(fs, g));
	if (c->gdt_csum && (ext2fs_bg_itable_unused(fs, g) > ext2fs_bg_free_inodes_count(fs, g) ||
			    ext2fs_bg_itable_unused(fs, g) > c->ipg))
		chk_err_grp(c, g, "GROUP_ITABLE_UNUSED", "group %u has invalid unused inodes count %u",
			    g, ext2fs_bg_itable_unused(fs, g));
}

int chk_super(struct chk_ctx *c)
{
	check_sb_fields(c);
	for (dgrp_t g = 0; g < c->ngroups; g++) {
		ext2fs_reserve_super_and_bgd(c->fs, g, c->meta);
		ext2fs_reserve_super_and_bgd(c->fs, g, c->used);
	}
	for (dgrp_t g = 0; g < c->ngroups; g++)
		check_group(c, g);
	return 0;
}
