/*
 * inline/symlink.c - the three kinds of symlink: fast (target in i_block),
 * inline (INLINE_DATA_FL: i_block + system.data; made by e2fsprogs, read by the
 * kernel) and block (target in block 0).  Created as kernel 6.18 creates them:
 * fast below 60 bytes, a block otherwise; never inline.  Calls libfs/disk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>

#include "inline/inline_internal.h"

/* The target's bytes land in @buf (up to @size, NUL-terminated if room). */
static ssize_t finish(char *buf, size_t size, const void *src, size_t len)
{
	size_t n = len < size ? len : size;

	memcpy(buf, src, n);
	if (len < size)
		buf[len] = '\0';
	return (ssize_t)len;
}

static ssize_t read_block_link(struct disk_inode *inode, char *buf, size_t size,
			       size_t len)
{
	struct disk_map map = { .lblk = 0, .len = 1 };
	unsigned bs = inode->dfs->block_size;
	uint8_t *blk;
	ssize_t ret;
	int err;

	if (len >= bs)
		return inl_corrupt(inode, "symlink longer than a block");
	err = disk_map_blocks(inode, &map, 0);
	if (err)
		return err;
	if (!(map.flags & DISK_MAP_MAPPED))
		return inl_corrupt(inode, "block symlink without a block");
	blk = malloc(bs);
	if (!blk)
		return -ENOMEM;
	err = disk_read_data(inode->dfs, map.pblk, 1, blk);
	ret = err ? err : finish(buf, size, blk, len);
	free(blk);
	return ret;
}

ssize_t inl_readlink(struct disk_inode *inode, char *buf, size_t size)
{
	uint64_t len = disk_i_size(inode);
	char tmp[EXT2_N_BLOCKS * 4];
	char *data;
	ssize_t n;

	if (!LINUX_S_ISLNK(inode->raw.i_mode))
		return -EINVAL;
	if (inl_has_inline_data(inode)) {
		data = malloc(len + 1);
		if (!data)
			return -ENOMEM;
		n = inl_read(inode, data, len, 0);
		if (n >= 0)
			n = finish(buf, size, data, (size_t)n);
		free(data);
		return n;
	}
	if (ext2fs_is_fast_symlink((struct ext2_inode *)&inode->raw)) {
		memcpy(tmp, inode->raw.i_block, sizeof(tmp));
		return finish(buf, size, tmp, len);
	}
	return read_block_link(inode, buf, size, (size_t)len);
}

int inl_symlink_is_fast(size_t len)
{
	return len < EXT2_N_BLOCKS * 4;
}

/* A block symlink: block 0 holds the target and a NUL, zero padded. */
static int init_block_link(struct disk_inode *inode, const char *target, size_t len)
{
	struct disk_map map = { .lblk = 0, .len = 1 };
	unsigned bs = inode->dfs->block_size;
	uint8_t *blk;
	int err;

	if (len >= bs)
		return -ENAMETOOLONG;
	blk = calloc(1, bs);
	if (!blk)
		return -ENOMEM;
	memcpy(blk, target, len);
	if (ext2fs_has_feature_extents(inode->dfs->fs->super) &&
	    !(inode->raw.i_flags & EXT4_EXTENTS_FL))
		inl_set_extent_root(inode->dfs->fs, &inode->raw);
	disk_mark_inode_dirty(inode);
	err = disk_map_blocks(inode, &map, 1);
	if (!err && !(map.flags & DISK_MAP_MAPPED))
		err = -EIO;
	if (!err)
		err = disk_write_data(inode->dfs, map.pblk, 1, blk);
	free(blk);
	return err;
}

int inl_symlink_init(struct disk_inode *inode, const char *target, size_t len)
{
	int err, err2;

	if (!LINUX_S_ISLNK(inode->raw.i_mode) || inl_has_inline_data(inode))
		return -EINVAL;
	err = disk_handle_start(inode->dfs, 8);
	if (err)
		return err;
	if (inl_symlink_is_fast(len)) {
		memset(inode->raw.i_block, 0, sizeof(inode->raw.i_block));
		memcpy(inode->raw.i_block, target, len);
		inode->raw.i_flags &= ~EXT4_EXTENTS_FL;
		disk_mark_inode_dirty(inode);
	} else {
		err = init_block_link(inode, target, len);
	}
	if (!err) {
		disk_set_i_size(inode, len);
		err = disk_write_inode(inode);
	}
	err2 = disk_handle_stop(inode->dfs);
	return err ? err : err2;
}
