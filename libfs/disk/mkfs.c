/*
 * libfs/disk/mkfs.c - e4_mkfs: a new ext4 file system in an image file, built with
 * libext2fs through our block layer.  Calls libfs/blk and libext2fs only.
 * The result is what `mke2fs -t ext4` would make (plus inline_data), e2fsck-clean:
 * reserved inodes, root, a block-mapped lost+found of 16 KiB, resize inode, journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <e2p/e2p.h>
#include <uuid/uuid.h>

#include "e4lab.h"
#include "libfs/blk/blk.h"

/* What mke2fs.conf's ext4 type enables, plus inline_data. */
static const char default_features[] =
	"sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr,"
	"has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,"
	"extra_isize,inline_data";

void e4_mkfs_opts_init(struct e4_mkfs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->block_size = 4096;
	o->inode_size = 256;
	o->inode_ratio = 16384;
}

static int log2_of(unsigned v)
{
	int n = 0;

	while (v > 1) {
		if (v & 1)
			return -1;
		v >>= 1;
		n++;
	}
	return n;
}

static int mkfs_check_opts(const struct e4_mkfs_opts *o)
{
	if (o->block_size != 1024 && o->block_size != 2048 && o->block_size != 4096) {
		fprintf(stderr, "e4lab: mkfs: block size %u: must be 1024, 2048 or 4096\n",
			o->block_size);
		return -EINVAL;
	}
	if (o->inode_size < 128 || o->inode_size > o->block_size ||
	    log2_of(o->inode_size) < 0) {
		fprintf(stderr, "e4lab: mkfs: inode size %u: must be a power of two "
			"from 128 to the block size\n", o->inode_size);
		return -EINVAL;
	}
	if (o->size < (1u << 20)) {
		fprintf(stderr, "e4lab: mkfs: %llu bytes is too small for a file system\n",
			(unsigned long long)o->size);
		return -EINVAL;
	}
	return 0;
}

/* Feature words from the defaults, edited by the caller's -O list. */
static int mkfs_features(struct ext2_super_block *param, const struct e4_mkfs_opts *o)
{
	__u32 *words = &param->s_feature_compat;

	if (e2p_edit_feature(default_features, words, NULL))
		return -EINVAL;
	if (o->features && e2p_edit_feature(o->features, words, NULL)) {
		fprintf(stderr, "e4lab: mkfs: invalid feature list '%s'\n", o->features);
		return -EINVAL;
	}
	if (o->no_journal)
		ext2fs_clear_feature_journal(param);
	if (ext2fs_has_feature_metadata_csum(param))
		ext2fs_clear_feature_gdt_csum(param);
	if (ext2fs_has_feature_inline_data(param) && !ext2fs_has_feature_xattr(param)) {
		fprintf(stderr, "e4lab: mkfs: inline_data needs ext_attr\n");
		return -EINVAL;
	}
	if (ext2fs_has_feature_inline_data(param) && o->inode_size < 256) {
		fprintf(stderr, "e4lab: mkfs: inline_data needs inodes of 256 bytes or more\n");
		return -EINVAL;
	}
	if (!ext2fs_has_feature_64bit(param) &&
	    o->size / o->block_size > 0xffffffffull) {
		fprintf(stderr, "e4lab: mkfs: too many blocks without 64bit\n");
		return -EINVAL;
	}
	return 0;
}

static int mkfs_param(struct ext2_super_block *param, const struct e4_mkfs_opts *o)
{
	uint64_t blocks = o->size / o->block_size;

	memset(param, 0, sizeof(*param));
	param->s_rev_level = EXT2_DYNAMIC_REV;
	param->s_log_block_size = (unsigned)log2_of(o->block_size) - 10;
	param->s_log_cluster_size = param->s_log_block_size;
	param->s_inode_size = (__u16)o->inode_size;
	ext2fs_blocks_count_set(param, blocks);
	param->s_inodes_count = (__u32)(o->size / (o->inode_ratio ? o->inode_ratio : 16384));
	param->s_log_groups_per_flex = 4;
	param->s_max_mnt_count = (__u16)-1;
	param->s_errors = EXT2_ERRORS_DEFAULT;
	param->s_default_mount_opts = EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL;
	if (o->inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
		param->s_min_extra_isize = sizeof(struct ext2_inode_large) -
					   EXT2_GOOD_OLD_INODE_SIZE;
		param->s_want_extra_isize = param->s_min_extra_isize;
	}
	return mkfs_features(param, o);
}

static void mkfs_identity(ext2_filsys fs, const struct e4_mkfs_opts *o)
{
	struct ext2_super_block *sb = fs->super;

	if (o->uuid)
		memcpy(sb->s_uuid, o->uuid, 16);
	else
		uuid_generate(sb->s_uuid);
	uuid_generate((unsigned char *)sb->s_hash_seed);
	sb->s_def_hash_version = EXT2_HASH_HALF_MD4;
	if (o->label)
		strncpy((char *)sb->s_volume_name, o->label, sizeof(sb->s_volume_name));
	sb->s_mkfs_time = sb->s_wtime = sb->s_lastcheck = (__u32)time(NULL);
	if (ext2fs_has_feature_metadata_csum(sb))
		sb->s_checksum_type = EXT2_CRC32C_CHKSUM;
	ext2fs_init_csum_seed(fs);
}

/* Inode 1..first_ino-1 are reserved: in use from the start, as mke2fs leaves them. */
static void mkfs_reserve_inodes(ext2_filsys fs)
{
	ext2_ino_t ino;

	for (ino = EXT2_ROOT_INO + 1; ino < EXT2_FIRST_INODE(fs->super); ino++)
		ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	ext2fs_inode_alloc_stats2(fs, EXT2_BAD_INO, +1, 0);
	ext2fs_mark_ib_dirty(fs);
}

static errcode_t mkfs_root(ext2_filsys fs)
{
	struct ext2_inode inode;
	errcode_t ret;

	ret = ext2fs_mkdir(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, 0);
	if (ret)
		return ret;
	ret = ext2fs_read_inode(fs, EXT2_ROOT_INO, &inode);
	if (ret)
		return ret;
	inode.i_uid = (__u16)getuid();
	inode.i_gid = (__u16)getgid();
	ext2fs_set_i_uid_high(inode, getuid() >> 16);
	ext2fs_set_i_gid_high(inode, getgid() >> 16);
	return ext2fs_write_inode(fs, EXT2_ROOT_INO, &inode);
}

/* lost+found: a block directory of at least 16 KiB, never inline (e2fsck insists). */
static errcode_t mkfs_lost_and_found(ext2_filsys fs)
{
	int had_inline = ext2fs_has_feature_inline_data(fs->super);
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t ret;
	int i;

	ext2fs_clear_feature_inline_data(fs->super);
	ret = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "lost+found");
	if (had_inline)
		ext2fs_set_feature_inline_data(fs->super);
	if (ret)
		return ret;
	ret = ext2fs_lookup(fs, EXT2_ROOT_INO, "lost+found", 10, NULL, &ino);
	if (ret)
		return ret;
	for (i = 1; i < EXT2_NDIR_BLOCKS; i++) {
		ret = ext2fs_read_inode(fs, ino, &inode);
		if (ret)
			return ret;
		if (EXT2_I_SIZE(&inode) >= 16384)
			break;
		ret = ext2fs_expand_dir(fs, ino);
		if (ret)
			return ret;
	}
	return 0;
}

static errcode_t mkfs_journal(ext2_filsys fs, const struct e4_mkfs_opts *o)
{
	struct ext2fs_journal_params jparams;
	errcode_t ret;

	if (!ext2fs_has_feature_journal(fs->super))
		return 0;
	ret = ext2fs_get_journal_params(&jparams, fs);
	if (ret)
		return ret;
	if (o->journal_blocks)
		jparams.num_journal_blocks = o->journal_blocks;
	/* add_journal_inode3 wants the feature clear and sets it itself */
	ext2fs_clear_feature_journal(fs->super);
	return ext2fs_add_journal_inode3(fs, &jparams, ~0ULL, 0);
}

/*
 * Inode tables of a fresh sparse file read as zeros already; say so, as mke2fs
 * does after zeroing them, so neither the kernel nor e2fsck zeroes them again.
 */
static void mkfs_mark_itables_zeroed(ext2_filsys fs)
{
	dgrp_t g;

	for (g = 0; g < fs->group_desc_count; g++) {
		ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
		ext2fs_group_desc_csum_set(fs, g);
	}
}

static errcode_t mkfs_build(ext2_filsys fs, const struct e4_mkfs_opts *o)
{
	errcode_t ret;

	mkfs_identity(fs, o);
	ret = ext2fs_allocate_tables(fs);
	if (ret)
		return ret;
	ret = ext2fs_convert_subcluster_bitmap(fs, &fs->block_map);
	if (ret)
		return ret;
	mkfs_mark_itables_zeroed(fs);
	ret = mkfs_root(fs);
	if (!ret)
		ret = mkfs_lost_and_found(fs);
	if (!ret)
		mkfs_reserve_inodes(fs);
	if (!ret && ext2fs_has_feature_resize_inode(fs->super))
		ret = ext2fs_create_resize_inode(fs);
	if (!ret)
		ret = ext2fs_update_bb_inode(fs, NULL);
	if (!ret)
		ret = mkfs_journal(fs, o);
	return ret;
}

/* A fresh, all-zero (sparse) image file of @size bytes. */
static int mkfs_create_file(const char *image, uint64_t size)
{
	struct stat st;
	int fd, ret = 0;

	if (stat(image, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "e4lab: mkfs: %s: not a regular file\n", image);
		return -EINVAL;
	}
	fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int e4_mkfs(const char *image, const struct e4_mkfs_opts *o)
{
	struct ext2_super_block param;
	struct blk_dev *dev = NULL;
	ext2_filsys fs = NULL;
	errcode_t eret;
	char name[64];
	int ret;

	ret = mkfs_check_opts(o);
	if (!ret)
		ret = mkfs_param(&param, o);
	if (!ret)
		ret = mkfs_create_file(image, o->size - o->size % o->block_size);
	if (ret)
		return ret;
	dev = blk_file_open(image, 0, &ret);
	if (!dev)
		return ret;
	blk_io_name(dev, name, sizeof(name));
	eret = ext2fs_initialize(name, EXT2_FLAG_64BITS, &param, blk_io_manager, &fs);
	if (!eret)
		eret = mkfs_build(fs, o);
	if (eret) {
		fprintf(stderr, "e4lab: mkfs: %s: %s\n", image, error_message(eret));
		ret = blk_errcode_to_errno(eret);
		if (fs)
			ext2fs_free(fs);
		goto out;
	}
	eret = ext2fs_close_free(&fs);
	if (eret)
		ret = blk_errcode_to_errno(eret);
	else
		ret = blk_flush(dev);
out:
	blk_close(dev);
	return ret;
}
