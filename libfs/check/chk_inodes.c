/*
 * libfs/check pass 1: every inode, read a whole group's inode table at a time.
 * Checks mode, flags, dtime, checksums, block maps (extent trees, indirect
 * blocks), xattrs, inline data, symlinks, i_size and i_blocks; records the
 * facts later passes use in c->ino, c->used, c->iused and the directory list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

static uint8_t mode_ftype(uint16_t mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG: return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR: return EXT2_FT_DIR;
	case LINUX_S_IFCHR: return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK: return EXT2_FT_BLKDEV;
	case LINUX_S_IFIFO: return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK: return EXT2_FT_SOCK;
	case LINUX_S_IFLNK: return EXT2_FT_SYMLINK;
	default: return EXT2_FT_UNKNOWN;
	}
}

static int is_special(uint16_t mode)
{
	return LINUX_S_ISCHR(mode) || LINUX_S_ISBLK(mode) || LINUX_S_ISFIFO(mode) ||
	       LINUX_S_ISSOCK(mode);
}

/* Inodes the superblock names (journal, quota, orphan file): no dir entry. */
static int sb_special_inode(struct chk_ctx *c, uint32_t ino)
{
	struct ext2_super_block *sb = c->sb;

	return ino == sb->s_journal_inum || ino == sb->s_usr_quota_inum ||
	       ino == sb->s_grp_quota_inum || ino == sb->s_prj_quota_inum ||
	       ino == sb->s_orphan_file_inum;
}

static void check_flags(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in)
{
	uint32_t fl = in->i_flags;
	uint16_t mode = in->i_mode;

	if ((fl & EXT4_EXTENTS_FL) && !ext2fs_has_feature_extents(c->sb))
		chk_err_ino(c, ino, "INODE_EXTENTS_NO_FEATURE", "EXTENTS flag set but the extents feature is off");
	if ((fl & EXT2_IMAGIC_FL) && !ext2fs_has_feature_imagic_inodes(c->sb))
		chk_err_ino(c, ino, "INODE_IMAGIC", "imagic flag set without the imagic_inodes feature");
	if ((fl & EXT4_EA_INODE_FL) && !LINUX_S_ISREG(mode))
		chk_err_ino(c, ino, "INODE_EA_INODE_FLAG", "ea_inode flag set but not a regular file");
	if ((fl & EXT4_CASEFOLD_FL) && (!LINUX_S_ISDIR(mode) || !ext2fs_has_feature_casefold(c->sb)))
		chk_err_ino(c, ino, "INODE_CASEFOLD_FLAG", "casefold flag set on a %s",
			    LINUX_S_ISDIR(mode) ? "file system without casefold" : "non-directory");
	if ((fl & EXT2_INDEX_FL) && !LINUX_S_ISDIR(mode))
		chk_err_ino(c, ino, "INODE_INDEX_FLAG", "htree index flag set on a non-directory");
	if ((fl & EXT2_INDEX_FL) && LINUX_S_ISDIR(mode) && !ext2fs_has_feature_dir_index(c->sb))
		chk_err_ino(c, ino, "INODE_INDEX_NO_FEATURE", "htree index flag set without the dir_index feature");
	if ((fl & EXT4_ENCRYPT_FL) && !ext2fs_has_feature_encrypt(c->sb))
		chk_err_ino(c, ino, "INODE_ENCRYPT_NO_FEATURE", "encrypt flag set without the encrypt feature");
	if ((fl & EXT4_INLINE_DATA_FL) && (fl & EXT4_EXTENTS_FL))
		chk_err_ino(c, ino, "INLINE_AND_EXTENTS", "both INLINE_DATA and EXTENTS flags are set");
}

/* Special files: no block map flags, no immutable, no size. */
static void check_special(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in)
{
	if (in->i_flags & (EXT2_INDEX_FL | EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL))
		chk_err_ino(c, ino, "SPECIAL_BAD_FLAGS", "device/fifo/socket has extent, index or inline-data flags");
	if (in->i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		chk_err_ino(c, ino, "SPECIAL_IMMUTABLE", "special file has the immutable or append-only flag");
	if (EXT2_I_SIZE(in) != 0)
		chk_err_ino(c, ino, "SPECIAL_NONZERO_SIZE", "special file has non-zero size %llu",
			    (unsigned long long)EXT2_I_SIZE(in));
}

static void check_symlink(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
			  const struct chk_blocks *b)
{
	uint64_t size = EXT2_I_SIZE(in);
	const uint8_t *buf = (const uint8_t *)in->i_block;
	size_t buflen = sizeof(in->i_block), len;
	uint8_t *blk = NULL;
	const char *why = NULL;

	if (in->i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		chk_err_ino(c, ino, "SPECIAL_IMMUTABLE", "symlink has the immutable or append-only flag");
	if (in->i_flags & EXT4_INLINE_DATA_FL) {
		int v = chk_inline_data_xattr(c, in, &buf);

		/* the target fills i_block and the system.data value exactly */
		if (v < 0 || size != sizeof(in->i_block) + (size_t)v)
			why = "i_size does not match the inline data size";
		goto out;
	}
	if (in->i_size_high || size == 0 || (in->i_flags & EXT2_INDEX_FL)) {
		why = "bad size or flags";
		goto out;
	}
	if (b->nmapped == 0 && ext2fs_is_fast_symlink((struct ext2_inode *)in)) {
		if (in->i_flags & EXT4_EXTENTS_FL) {
			chk_err_ino(c, ino, "SYMLINK_FAST_EXTENTS", "fast symlink has the EXTENTS flag");
			return;
		}
	} else {
		if (b->nmapped != 1 || b->first_pblk == 0 || b->last_lblk != 0) {
			why = "slow symlink does not map exactly block 0";
			goto out;
		}
		blk = malloc(c->bs);
		if (!blk || chk_read_block(c, b->first_pblk, blk))
			goto out;
		buf = blk;
		buflen = c->bs;
	}
	if (in->i_flags & EXT4_ENCRYPT_FL)
		len = (size_t)(buf[0] | buf[1] << 8) + 2;
	else
		len = strnlen((const char *)buf, buflen);
	if (len >= buflen)
		why = "target is not terminated";
	else if (len != size)
		why = "i_size does not match the target length";
out:
	if (why)
		chk_err_ino(c, ino, "SYMLINK_BAD", "invalid symlink (size %llu): %s",
			    (unsigned long long)size, why);
	free(blk);
}

/* i_size against the mapped blocks, and i_blocks against what was counted. */
static void check_sizes(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
			const struct chk_blocks *b)
{
	uint64_t size = EXT2_I_SIZE(in), iblocks = in->i_blocks, want;
	int huge = ext2fs_has_feature_huge_file(c->sb);

	if (huge)
		iblocks |= (uint64_t)in->osd2.linux2.l_i_blocks_hi << 32;
	if (huge && (in->i_flags & EXT4_HUGE_FILE_FL))
		iblocks *= c->bs / 512;
	want = b->nblocks * (c->bs / 512);
	if (!b->bad && !b->ea_inode_refs && !ext2fs_has_feature_bigalloc(c->sb) && iblocks != want)
		chk_err_ino(c, ino, "INODE_I_BLOCKS", "i_blocks is %llu, should be %llu",
			    (unsigned long long)iblocks, (unsigned long long)want);
	if (b->bad || b->orphan)
		return;
	if (LINUX_S_ISDIR(in->i_mode)) {
		uint64_t nblock = size / c->bs, have = (uint64_t)(b->last_lblk + 1);

		if (size % c->bs)
			chk_err_ino(c, ino, "DIR_SIZE", "directory i_size %llu is not a multiple of the block size",
				    (unsigned long long)size);
		else if (nblock > have ||
			 (nblock < have && have - nblock > c->sb->s_prealloc_dir_blocks))
			chk_err_ino(c, ino, "DIR_SIZE", "directory i_size is %llu, should be %llu",
				    (unsigned long long)size, (unsigned long long)have * c->bs);
	} else if (LINUX_S_ISREG(in->i_mode) && b->last_init >= 0 &&
		   size < (uint64_t)b->last_init * c->bs && !(in->i_flags & EXT4_VERITY_FL)) {
		chk_err_ino(c, ino, "INODE_SIZE", "i_size is %llu but block %lld is mapped",
			    (unsigned long long)size, (long long)b->last_init);
	}
}

/* The resize inode's blocks are the reserved descriptor blocks (metadata). */
static void check_resize_inode(struct chk_ctx *c, struct ext2_inode_large *in)
{
	int any = 0;

	for (int i = 0; i < EXT2_N_BLOCKS; i++)
		any |= in->i_block[i] != 0;
	if (!ext2fs_has_feature_resize_inode(c->sb)) {
		if (any)
			chk_err_ino(c, EXT2_RESIZE_INO, "RESIZE_INODE_NOT_ENABLED",
				    "resize_inode feature off but the resize inode is not empty");
		return;
	}
	if (!chk_block_valid(c, in->i_block[EXT2_DIND_BLOCK], 1)) {
		chk_err_ino(c, EXT2_RESIZE_INO, "RESIZE_INODE_BAD", "resize inode has an invalid block map");
		return;
	}
	chk_claim(c, EXT2_RESIZE_INO, in->i_block[EXT2_DIND_BLOCK], 1, "resize inode");
}

static void walk_blocks(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
			struct chk_blocks *b)
{
	if (in->i_flags & EXT4_INLINE_DATA_FL)
		chk_inline(c, ino, in, b);
	else if (in->i_flags & EXT4_EXTENTS_FL) {
		if (ext2fs_has_feature_extents(c->sb))
			chk_extent_tree(c, ino, in, b);
		else
			b->bad = 1;
	} else if (LINUX_S_ISLNK(in->i_mode) && ext2fs_is_fast_symlink((struct ext2_inode *)in)) {
		return;
	} else if (ext2fs_inode_has_valid_blocks2(c->fs, (struct ext2_inode *)in)) {
		chk_blockmap(c, ino, in, b);
	}
}

static void check_used_inode(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in)
{
	struct chk_inode *ci = &c->ino[ino];
	struct chk_blocks b = { .last_lblk = -1, .last_init = -1 };
	uint16_t mode = in->i_mode;

	ci->ftype = mode_ftype(mode);
	b.orphan = (ci->state & CHK_I_ORPHAN) != 0;
	if (ino == EXT2_RESIZE_INO) {
		check_resize_inode(c, in);
		return;
	}
	if (ino == EXT2_BAD_INO) {
		if (in->i_flags & EXT4_EXTENTS_FL)
			chk_err_ino(c, ino, "BADBLOCKS_INODE_BAD", "bad blocks inode has the EXTENTS flag");
		else
			chk_blockmap(c, ino, in, &b);
		return;
	}
	if (ino < c->first_ino && ino != EXT2_ROOT_INO && !sb_special_inode(c, ino)) {
		if (mode && !LINUX_S_ISREG(mode))
			chk_err_ino(c, ino, "RESERVED_INODE_BAD_MODE", "reserved inode has bad mode 0%o", mode);
		if (!mode)
			return;
	}
	if (ci->ftype == EXT2_FT_UNKNOWN) {
		chk_err_ino(c, ino, "INODE_BAD_MODE", "inode has bad mode 0%o", mode);
		ci->state |= CHK_I_BAD;
		return;
	}
	check_flags(c, ino, in);
	if (LINUX_S_ISDIR(mode)) {
		ci->state |= CHK_I_DIR;
		c->ndirs++;
		b.is_dir = 1;
	}
	if (in->i_flags & EXT4_EA_INODE_FL)
		ci->state |= CHK_I_EA_INODE;
	if (LINUX_S_ISDIR(mode) && (in->i_flags & EXT2_INDEX_FL))
		ci->state |= CHK_I_HTREE;
	if (in->i_flags & EXT4_ENCRYPT_FL)
		ci->state |= CHK_I_ENCRYPTED;
	chk_xattrs(c, ino, in, &b);
	if (is_special(mode)) {
		check_special(c, ino, in);
		b.bad |= (in->i_flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)) != 0;
		check_sizes(c, ino, in, &b);
		chk_quota_account(c, ino, in, b.nblocks);
		return;
	}
	if (LINUX_S_ISLNK(mode) && !(in->i_flags & EXT4_INLINE_DATA_FL) &&
	    (in->i_flags & EXT4_EXTENTS_FL) && !ext2fs_inode_has_valid_blocks2(c->fs, (struct ext2_inode *)in)) {
		chk_err_ino(c, ino, "SYMLINK_FAST_EXTENTS", "fast symlink has the EXTENTS flag");
		return;
	}
	walk_blocks(c, ino, in, &b);
	if (LINUX_S_ISLNK(mode))
		check_symlink(c, ino, in, &b);
	check_sizes(c, ino, in, &b);
	chk_quota_account(c, ino, in, b.nblocks);
}

static void check_inode(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in)
{
	struct chk_inode *ci = &c->ino[ino];
	int orphan = ci->state & CHK_I_ORPHAN;

	if (c->csum && !ext2fs_inode_csum_verify(c->fs, ino, in))
		chk_err_ino(c, ino, "INODE_CSUM", "inode checksum does not match");
	ci->mode = in->i_mode;
	ci->links = in->i_links_count;
	if (in->i_links_count == 0 && ino >= c->first_ino && !orphan) {
		if (in->i_mode && !in->i_dtime && !sb_special_inode(c, ino))
			chk_err_ino(c, ino, "INODE_ZERO_DTIME", "deleted inode has zero dtime");
		if (!sb_special_inode(c, ino))
			return;
	}
	if (in->i_links_count && in->i_dtime && ino >= c->first_ino && !orphan)
		chk_err_ino(c, ino, "INODE_DTIME_SET", "inode is in use but has dtime set");
	ci->state |= CHK_I_USED;
	ext2fs_mark_inode_bitmap2(c->iused, ino);
	if (ino == EXT2_ROOT_INO && !LINUX_S_ISDIR(in->i_mode)) {
		chk_err_ino(c, ino, "ROOT_NOT_DIR", "root inode is not a directory (mode 0%o)", in->i_mode);
		ci->state |= CHK_I_BAD;
		return;
	}
	if (ino == c->sb->s_journal_inum && !ext2fs_has_feature_journal(c->sb) &&
	    ino < c->first_ino) {
		for (int i = 0; i < EXT2_N_BLOCKS; i++)
			if (in->i_block[i]) {
				chk_err_ino(c, ino, "JOURNAL_INODE_UNUSED_DATA",
					    "journal inode is not in use, but contains data");
				return;
			}
		return;
	}
	check_used_inode(c, ino, in);
}

/* How many inodes of group @g to scan: none when INODE_UNINIT, else up to the unused tail. */
static uint32_t group_scan_count(struct chk_ctx *c, dgrp_t g)
{
	uint32_t unused;

	if (!c->gdt_csum)
		return c->ipg;
	if (ext2fs_bg_flags_test(c->fs, g, EXT2_BG_INODE_UNINIT) && ext2fs_group_desc_csum_verify(c->fs, g))
		return 0;
	unused = ext2fs_bg_itable_unused(c->fs, g);
	return unused > c->ipg ? c->ipg : c->ipg - unused;
}

static int scan_group(struct chk_ctx *c, dgrp_t g, uint8_t *table,
		      struct ext2_inode_large *in, size_t insz)
{
	uint32_t n = group_scan_count(c, g);
	uint64_t off = ext2fs_inode_table_loc(c->fs, g) * (uint64_t)c->bs;
	int ret;

	if (g == 0 && n < c->first_ino - 1)	/* reserved inodes: always */
		n = c->first_ino - 1 < c->ipg ? c->first_ino - 1 : c->ipg;
	if (n == 0)
		return 0;
	ret = chk_read(c, off, table, (size_t)n * c->isz);
	if (ret) {
		chk_err_grp(c, g, "INODE_TABLE_READ", "group %u inode table cannot be read", g);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t ino = g * c->ipg + i + 1;

		if (ino > c->ninodes)
			break;
		memset(in, 0, insz);
		memcpy(in, table + (size_t)i * c->isz, c->isz);
		if (ino < c->first_ino) {
			c->ino[ino].state |= CHK_I_USED;
			ext2fs_mark_inode_bitmap2(c->iused, ino);
		}
		check_inode(c, ino, in);
	}
	return 0;
}

int chk_inodes(struct chk_ctx *c)
{
	size_t insz = c->isz > sizeof(struct ext2_inode_large) ? c->isz : sizeof(struct ext2_inode_large);
	uint8_t *table = malloc((size_t)c->ipg * c->isz);
	struct ext2_inode_large *in = malloc(insz);
	int ret = 0;

	if (!table || !in) {
		ret = -ENOMEM;
		goto out;
	}
	for (dgrp_t g = 0; g < c->ngroups && !ret; g++) {
		chk_progress(c, "inodes", g, c->ngroups);
		if (c->group_ok[g])
			ret = scan_group(c, g, table, in, insz);
	}
	chk_progress(c, "inodes", c->ngroups, c->ngroups);
	chk_xattr_blocks(c);
out:
	free(in);
	free(table);
	return ret;
}
