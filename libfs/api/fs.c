/*
 * libfs/api, the file system as a whole: mount (device stack, disk layer, page
 * cache), unmount, sync, info, error strings.  Calls libfs/blk, libfs/disk,
 * libfs/vfs and inline/.  Invariant: an e4_fs owns its whole device stack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <e2p/e2p.h>

#include "libfs/api/api_internal.h"
#include "libfs/vfs/vfs.h"
#include "journal/jbd.h"
#include "inline/inline.h"

void e4_mount_opts_init(struct e4_mount_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->data_mode = E4_DATA_ORDERED;
}

static void default_crash(void *arg)
{
	(void)arg;
	_exit(3);
}

/* The image, and the write log with its crash cut when asked for. */
static int open_stack(struct e4_fs *fs, const char *image)
{
	struct blk_dev *dev, *log;
	int err = 0;

	dev = blk_open_image(image, fs->read_only, &err);
	if (!dev && err == -EROFS && !fs->read_only) {
		/* a gzip image: always read-only, in memory */
		fs->read_only = 1;
		dev = blk_open_image(image, 1, &err);
	}
	if (!dev)
		return err ? err : -EIO;
	if (dev->read_only)
		fs->read_only = 1;
	if (fs->opts.crash_after) {
		log = blk_log_create(dev, fs->opts.crash_after,
				     fs->opts.crash_fn ? fs->opts.crash_fn : default_crash,
				     fs->opts.crash_arg, &err);
		if (!log) {
			blk_close(dev);
			return err ? err : -ENOMEM;
		}
		dev = log;
	}
	fs->dev = dev;
	return 0;
}

/* Ordered mode: the journal writes back file data before each commit. */
static int flush_data(void *arg)
{
	struct e4_fs *fs = arg;

	return fs->dfs ? vfs_writeback_all(fs->dfs) : 0;
}

/* Every mode, after flush_data: what libext2fs and the inode cache still hold
 * in memory joins the transaction, so each commit is a consistent state. */
static int flush_meta(void *arg)
{
	struct e4_fs *fs = arg;

	return fs->dfs ? disk_write_metadata(fs->dfs) : 0;
}

static int mount_disk(struct e4_fs *fs)
{
	static const enum jbd_data_mode modes[] = {
		[E4_DATA_ORDERED] = JBD_DATA_ORDERED,
		[E4_DATA_WRITEBACK] = JBD_DATA_WRITEBACK,
		[E4_DATA_JOURNAL] = JBD_DATA_JOURNAL,
	};
	struct disk_mount_opts dopts;
	struct jbd_options jopts;

	jbd_options_init(&jopts);
	if ((unsigned)fs->opts.data_mode < sizeof(modes) / sizeof(modes[0]))
		jopts.mode = modes[fs->opts.data_mode];
	else
		return -EINVAL;
	jopts.commit_interval_ms = fs->opts.commit_interval_ms;
	jopts.data_flush = flush_data;
	jopts.data_flush_arg = fs;
	jopts.meta_flush = flush_meta;
	jopts.meta_flush_arg = fs;
	disk_mount_opts_init(&dopts);
	dopts.read_only = fs->read_only;
	dopts.no_recovery = fs->opts.no_recovery;
	dopts.jopts = &jopts;
	return disk_mount_opts(fs->dev, &dopts, &fs->dfs);
}

/* The disk layer and the page cache over fs->dev. */
static int mount_stack(struct e4_fs *fs, struct e4_fs **fsp)
{
	int err = mount_disk(fs);

	if (err)
		goto fail;
	fs->read_only = fs->dfs->read_only;
	fs->dfs->inline_dir_link = inl_dir_link;
	err = vfs_cache_init(fs->dfs, fs->opts.pcache_bytes);
	if (err)
		goto fail;
	*fsp = fs;
	return 0;
fail:
	if (fs->dfs)
		disk_unmount(fs->dfs);
	if (fs->dev)
		blk_close(fs->dev);
	free(fs);
	return err;
}

static struct e4_fs *fs_alloc(const struct e4_mount_opts *o)
{
	struct e4_fs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	if (o)
		fs->opts = *o;
	else
		e4_mount_opts_init(&fs->opts);
	fs->read_only = fs->opts.read_only;
	return fs;
}

int e4_mount(const char *image, const struct e4_mount_opts *o, struct e4_fs **fsp)
{
	struct e4_fs *fs = fs_alloc(o);
	int err;

	*fsp = NULL;
	if (!fs)
		return -ENOMEM;
	err = open_stack(fs, image);
	if (err) {
		free(fs);
		return err;
	}
	return mount_stack(fs, fsp);
}

int api_mount_dev(struct blk_dev *dev, const struct e4_mount_opts *o, struct e4_fs **fsp)
{
	struct e4_fs *fs = fs_alloc(o);

	*fsp = NULL;
	if (!fs) {
		blk_close(dev);
		return -ENOMEM;
	}
	fs->dev = dev;
	if (dev->read_only)
		fs->read_only = 1;
	return mount_stack(fs, fsp);
}

int e4_unmount(struct e4_fs *fs)
{
	int err, err2;

	if (!fs)
		return 0;
	err = vfs_writeback_all(fs->dfs);
	err2 = vfs_cache_destroy(fs->dfs);
	if (err2 && !err)
		err = err2;
	err2 = disk_unmount(fs->dfs);
	if (err2 && !err)
		err = err2;
	blk_close(fs->dev);
	free(fs);
	return err;
}

int e4_sync(struct e4_fs *fs)
{
	int err;

	if (fs->read_only)
		return 0;
	err = vfs_writeback_all(fs->dfs);
	if (err)
		return err;
	return disk_commit(fs->dfs);
}

/* ---- info ---- */

/* Feature names in dumpe2fs order: compat, incompat, ro_compat, bit by bit. */
static void feature_string(const struct ext2_super_block *sb, __u32 extra_incompat,
			   char *out, size_t size)
{
	const __u32 words[3] = { sb->s_feature_compat,
				 sb->s_feature_incompat | extra_incompat,
				 sb->s_feature_ro_compat };
	size_t used = 0;
	int type, bit;

	out[0] = 0;
	for (type = 0; type < 3; type++)
		for (bit = 0; bit < 32; bit++) {
			const char *name;
			size_t n;

			if (!(words[type] & (1u << bit)))
				continue;
			name = e2p_feature2string(type, 1u << bit);
			n = strlen(name);
			if (used + n + 2 > size)
				return;
			if (used)
				out[used++] = ' ';
			memcpy(out + used, name, n + 1);
			used += n;
		}
}

/* The inline capacity of a new file with no other xattr: i_block plus the
 * largest system.data value the in-inode area can hold. */
static unsigned max_inline_size(ext2_filsys fs)
{
	int isize = EXT2_INODE_SIZE(fs->super);
	int extra = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	int room;

	if (!ext2fs_has_feature_inline_data(fs->super) || isize <= EXT2_GOOD_OLD_INODE_SIZE)
		return 0;
	/* in-inode xattr header magic, the "data" entry, the end marker */
	room = isize - EXT2_GOOD_OLD_INODE_SIZE - extra - 4 -
	       (int)EXT2_EXT_ATTR_LEN(4) - 4;
	if (room < 0)
		room = 0;
	return EXT4_MIN_INLINE_DATA_SIZE + (room & ~3);
}

/* needs_recovery as the image has it now (the journal sets it in place). */
static int image_needs_recovery(struct e4_fs *fs)
{
	struct ext2_super_block sb;

	if (blk_read(fs->dev, 1024, &sb, sizeof(sb)))
		return 0;
	return !!(ext2fs_le32_to_cpu(sb.s_feature_incompat) &
		  EXT3_FEATURE_INCOMPAT_RECOVER);
}

int e4_info(struct e4_fs *fs, struct e4_info *info)
{
	ext2_filsys efs = fs->dfs->fs;
	struct ext2_super_block *sb = efs->super;
	int recover = image_needs_recovery(fs);

	memset(info, 0, sizeof(*info));
	info->blocks_count = ext2fs_blocks_count(sb);
	info->free_blocks = ext2fs_free_blocks_count(sb);
	info->inodes_count = sb->s_inodes_count;
	info->free_inodes = sb->s_free_inodes_count;
	info->block_size = efs->blocksize;
	info->inode_size = EXT2_INODE_SIZE(sb);
	info->groups = efs->group_desc_count;
	memcpy(info->volume_name, sb->s_volume_name, sizeof(sb->s_volume_name));
	info->volume_name[16] = 0;
	memcpy(info->uuid, sb->s_uuid, 16);
	feature_string(sb, recover ? EXT3_FEATURE_INCOMPAT_RECOVER : 0,
		       info->features, sizeof(info->features));
	info->needs_recovery = recover;
	info->max_inline_size = max_inline_size(efs);
	return 0;
}

const char *e4_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err == EUCLEAN)
		return "Structure needs cleaning (corrupt file system)";
	return strerror(err);
}
