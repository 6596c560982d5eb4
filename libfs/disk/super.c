/*
 * libfs/disk, the file system as a whole: mount, unmount, metadata sync, the
 * transaction hooks and error translation.  Calls libext2fs and libfs/blk only.
 * Invariant: every open disk_fs has bitmaps loaded; errcode_t never leaves here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <et/com_err.h>

#include "libfs/disk/disk_internal.h"
#include "journal/jbd.h"

/* ---- errors ---- */

struct err_map {
	errcode_t code;
	int err;
};

static const struct err_map err_table[] = {
	{ EXT2_ET_DIR_NO_SPACE, ENOSPC },
	{ EXT2_ET_DIR_NO_SPACE_FOR_CSUM, ENOSPC },
	{ EXT2_ET_BLOCK_ALLOC_FAIL, ENOSPC },
	{ EXT2_ET_INODE_ALLOC_FAIL, ENOSPC },
	{ EXT2_ET_EA_NO_SPACE, ENOSPC },
	{ EXT2_ET_INLINE_DATA_NO_SPACE, ENOSPC },
	{ EXT2_ET_EXTENT_NO_SPACE, ENOSPC },
	{ EXT2_ET_RO_FILSYS, EROFS },
	{ EXT2_ET_FILE_RO, EROFS },
	{ EXT2_ET_NO_MEMORY, ENOMEM },
	{ EXT2_ET_FILE_NOT_FOUND, ENOENT },
	{ EXT2_ET_EA_KEY_NOT_FOUND, ENODATA },
	{ EXT2_ET_FILE_EXISTS, EEXIST },
	{ EXT2_ET_DIR_EXISTS, EEXIST },
	{ EXT2_ET_FILE_TOO_BIG, EFBIG },
	{ EXT2_ET_NO_DIRECTORY, ENOTDIR },
	{ EXT2_ET_TOO_MANY_REFS, EMLINK },
	{ EXT2_ET_SYMLINK_LOOP, ELOOP },
	{ EXT2_ET_SHORT_READ, EIO },
	{ EXT2_ET_SHORT_WRITE, EIO },
	{ EXT2_ET_LLSEEK_FAILED, EIO },
	{ EXT2_ET_GDESC_READ, EIO },
	{ EXT2_ET_GDESC_WRITE, EIO },
	{ EXT2_ET_BLOCK_BITMAP_READ, EIO },
	{ EXT2_ET_BLOCK_BITMAP_WRITE, EIO },
	{ EXT2_ET_INODE_BITMAP_READ, EIO },
	{ EXT2_ET_INODE_BITMAP_WRITE, EIO },
	{ EXT2_ET_INODE_TABLE_READ, EIO },
	{ EXT2_ET_INODE_TABLE_WRITE, EIO },
	{ EXT2_ET_NEXT_INODE_READ, EIO },
	{ EXT2_ET_EA_BAD_NAME_LEN, ERANGE },
	{ EXT2_ET_EA_BAD_VALUE_SIZE, E2BIG },
	{ EXT2_ET_INVALID_ARGUMENT, EINVAL },
	{ EXT2_ET_BAD_DEVICE_NAME, EINVAL },
	{ EXT2_ET_OP_NOT_SUPPORTED, EOPNOTSUPP },
	{ EXT2_ET_UNIMPLEMENTED, EOPNOTSUPP },
	{ EXT2_ET_UNSUPP_FEATURE, EOPNOTSUPP },
	{ EXT2_ET_RO_UNSUPP_FEATURE, EOPNOTSUPP },
	{ EXT2_ET_EXTENT_NOT_SUPPORTED, EOPNOTSUPP },
	{ EXT2_ET_EXTERNAL_JOURNAL_NOSUPP, EOPNOTSUPP },
	{ EXT2_ET_INLINE_DATA_NO_BLOCK, EINVAL },
	{ EXT2_ET_NO_INLINE_DATA, ENODATA },
	{ EXT2_ET_TOOSMALL, EINVAL },
	{ EXT2_ET_MMP_FAILED, EBUSY },
	{ EXT2_ET_MISSING_EA_FEATURE, EOPNOTSUPP },
	{ EXT2_ET_MMP_FSCK_ON, EBUSY },
};

/* Codes that mean the on-disk structures are damaged. */
static const errcode_t corrupt_table[] = {
	EXT2_ET_BAD_MAGIC, EXT2_ET_SB_CSUM_INVALID, EXT2_ET_CORRUPT_SUPERBLOCK,
	EXT2_ET_REV_TOO_HIGH, EXT2_ET_BAD_DESC_SIZE, EXT2_ET_UNEXPECTED_BLOCK_SIZE,
	EXT2_ET_GDESC_BAD_BLOCK_MAP, EXT2_ET_GDESC_BAD_INODE_MAP,
	EXT2_ET_GDESC_BAD_INODE_TABLE, EXT2_ET_MISSING_INODE_TABLE,
	EXT2_ET_BLOCK_BITMAP_CSUM_INVALID, EXT2_ET_INODE_BITMAP_CSUM_INVALID,
	EXT2_ET_INODE_CSUM_INVALID, EXT2_ET_INODE_CORRUPTED, EXT2_ET_INODE_IS_GARBAGE,
	EXT2_ET_BAD_INODE_NUM, EXT2_ET_BAD_BLOCK_NUM, EXT2_ET_BAD_IND_BLOCK,
	EXT2_ET_BAD_DIND_BLOCK, EXT2_ET_BAD_TIND_BLOCK, EXT2_ET_DIR_CORRUPTED,
	EXT2_ET_DIR_CSUM_INVALID, EXT2_ET_EXTENT_CSUM_INVALID,
	EXT2_ET_EXTENT_HEADER_BAD, EXT2_ET_EXTENT_INDEX_BAD, EXT2_ET_EXTENT_LEAF_BAD,
	EXT2_ET_EXTENT_CYCLE, EXT2_ET_EXTENT_INVALID_LENGTH,
	EXT2_ET_EXT_ATTR_CSUM_INVALID, EXT2_ET_BAD_EA_HEADER, EXT2_ET_BAD_EA_HASH,
	EXT2_ET_BAD_EA_BLOCK_NUM, EXT2_ET_EA_BAD_VALUE_OFFSET,
	EXT2_ET_EA_INODE_CORRUPTED, EXT2_ET_FILESYSTEM_CORRUPTED,
	EXT2_ET_CORRUPT_JOURNAL_SB, EXT2_ET_RESIZE_INODE_CORRUPT, EXT2_ET_BAD_CRC,
	EXT2_ET_UNKNOWN_CSUM, EXT2_ET_MMP_CSUM_INVALID, EXT2_ET_MMP_MAGIC_INVALID,
	EXT2_ET_DIRHASH_UNSUPP, EXT2_ET_INLINE_DATA_CANT_ITERATE,
};

int disk_err(errcode_t err)
{
	size_t i;

	if (err == 0)
		return 0;
	if (err > 0 && err < 4096)	/* libext2fs passes errno values through */
		return -(int)err;
	for (i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].code == err)
			return -err_table[i].err;
	for (i = 0; i < sizeof(corrupt_table) / sizeof(corrupt_table[0]); i++)
		if (corrupt_table[i] == err)
			return -EUCLEAN;
	return -EIO;
}

void disk_report(struct disk_fs *dfs, const char *fmt, ...)
{
	va_list ap;
	(void)dfs;

	fputs("e4lab: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- transactions ---- */

int disk_handle_start(struct disk_fs *dfs, unsigned credits)
{
	int err;

	if (dfs->task_hooks)
		dfs->task_hooks->handle_start(dfs->task_hooks_arg);
	err = dfs->jops ? dfs->jops->handle_start(dfs->journal, credits) : 0;
	if (err && dfs->task_hooks)
		dfs->task_hooks->handle_stop(dfs->task_hooks_arg);
	return err;
}

int disk_handle_stop(struct disk_fs *dfs)
{
	int err = dfs->jops ? dfs->jops->handle_stop(dfs->journal) : 0;

	if (dfs->task_hooks)
		dfs->task_hooks->handle_stop(dfs->task_hooks_arg);
	return err;
}

int disk_handle_start_concurrent(struct disk_fs *dfs, unsigned credits)
{
	return dfs->task_hooks ? disk_handle_start(dfs, credits) : 0;
}

int disk_handle_stop_concurrent(struct disk_fs *dfs)
{
	return dfs->task_hooks ? disk_handle_stop(dfs) : 0;
}

/* Writes every dirty cached inode. */
static int write_dirty_inodes(struct disk_fs *dfs)
{
	struct disk_inode *inode;
	unsigned i;
	int err, ret = 0;

	for (i = 0; i < dfs->icache_size; i++)
		for (inode = dfs->icache[i]; inode; inode = inode->hash_next) {
			err = disk_inode_flush(inode);
			if (err && !ret)
				ret = err;
		}
	return ret;
}

/* Inodes, then the bitmaps, descriptors and superblock blocks that changed. */
int disk_write_metadata(struct disk_fs *dfs)
{
	int err;

	if (dfs->read_only)
		return 0;
	err = write_dirty_inodes(dfs);
	if (err)
		return err;
	return disk_flush_changed(dfs);
}

int disk_sync_metadata(struct disk_fs *dfs)
{
	int err;

	err = disk_handle_start(dfs, 64);
	if (err)
		return err;
	err = disk_write_metadata(dfs);
	disk_handle_stop(dfs);
	if (err)
		return err;
	if (dfs->read_only)
		return 0;
	return blk_flush(dfs->meta_dev);
}

/*
 * Makes everything so far durable: with a journal the metadata goes into the
 * running transaction, which is committed; without one it is written in place.
 */
int disk_commit(struct disk_fs *dfs)
{
	int err;

	err = disk_sync_metadata(dfs);
	if (err || !dfs->jops)
		return err;
	return dfs->jops->commit(dfs->journal);
}

/* ---- mount ---- */

/*
 * Features this code cannot keep consistent when writing.  Returns a feature
 * name, or NULL when the image may be opened read-write.
 */
static const char *unwritable_feature(ext2_filsys fs)
{
	struct ext2_super_block *sb = fs->super;

	if (ext2fs_has_feature_bigalloc(sb))
		return "bigalloc";
	if (ext2fs_has_feature_encrypt(sb))
		return "encrypt";
	if (ext2fs_has_feature_casefold(sb))
		return "casefold";
	if (ext2fs_has_feature_verity(sb))
		return "verity";
	if (ext2fs_has_feature_quota(sb))
		return "quota";
	if (ext2fs_has_feature_mmp(sb))
		return "mmp";
	if (ext2fs_has_feature_journal_dev(sb))
		return "journal_dev";
	return NULL;
}

/* Refuses states and features we cannot write; read-only is more permissive. */
static int check_mountable(struct disk_fs *dfs, const char *what)
{
	ext2_filsys fs = dfs->fs;
	const char *feat;

	if (dfs->read_only) {
		if (ext2fs_has_feature_journal_needs_recovery(fs->super))
			disk_report(dfs, "%s: journal needs recovery; reading without it", what);
		return 0;
	}
	feat = unwritable_feature(fs);
	if (feat) {
		disk_report(dfs, "%s: feature '%s' is not supported for writing; "
			    "open read-only", what, feat);
		return -EINVAL;
	}
	if (ext2fs_has_feature_journal_needs_recovery(fs->super) && !dfs->jops) {
		disk_report(dfs, "%s: the journal needs recovery; run e2fsck or "
			    "open read-only", what);
		return -EUCLEAN;
	}
	if (ext2fs_has_feature_orphan_present(fs->super)) {
		disk_report(dfs, "%s: orphan inodes present; run e2fsck first", what);
		return -EUCLEAN;
	}
	if (fs->super->s_state & EXT2_ERROR_FS)
		disk_report(dfs, "%s: file system has errors recorded; writing anyway",
			    what);
	return 0;
}

/*
 * The device stack under libext2fs: the one place where meta_dev and data_dev
 * are chosen.  Read-write with a journal: recovery first, then the journal's
 * device (passing through until jbd_attach makes it live).  Read-only: a view
 * with the journal replayed in memory, when it needs one.
 */
static int attach_devices(struct disk_fs *dfs, struct blk_dev *dev,
			  const struct disk_mount_opts *o)
{
	struct blk_dev *meta;
	int err = 0;

	dfs->dev = dev;
	dfs->meta_dev = dev;
	dfs->data_dev = dev;
	if (dfs->read_only) {
		if (o->no_recovery)
			return 0;
		meta = jbd_ro_view(dev, NULL, &err);
		if (!meta)
			return err ? err : -EIO;
		dfs->meta_dev = dfs->data_dev = meta;
		return 0;
	}
	if (o->no_journal)
		return 0;
	err = jbd_recover(dev, 0, NULL, NULL);
	if (err == -ENOENT)
		return 0;		/* no journal */
	if (err) {
		disk_report(dfs, "journal recovery failed (%d); run e2fsck", err);
		return err;
	}
	meta = jbd_dev_create(dev, &err);
	if (!meta)
		return err ? err : -ENOMEM;
	dfs->meta_dev = meta;
	return 0;
}

/* Before each commit (no page cache here): what we and libext2fs hold. */
static int flush_before_commit(void *arg)
{
	return disk_write_metadata(arg);
}

/* Goes live once libext2fs is open on the journal's device. */
static int start_journal(struct disk_fs *dfs, const struct disk_mount_opts *o)
{
	struct jbd_options jo;
	int err;

	if (dfs->read_only || dfs->meta_dev == dfs->dev ||
	    !ext2fs_has_feature_journal(dfs->fs->super))
		return 0;
	if (!o->jopts) {
		jbd_options_init(&jo);
		jo.meta_flush = flush_before_commit;
		jo.meta_flush_arg = dfs;
	}
	err = jbd_attach(dfs, o->jopts ? o->jopts : &jo);
	if (!err)
		disk_freed_attach(dfs);
	return err;
}

/* What attach_devices stacked on the caller's device. */
static void detach_devices(struct disk_fs *dfs)
{
	if (dfs->meta_dev && dfs->meta_dev != dfs->dev)
		blk_close(dfs->meta_dev);
	dfs->meta_dev = dfs->data_dev = NULL;
}

static int open_fs(struct disk_fs *dfs)
{
	char name[64];
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_MASTER_SB_ONLY;
	errcode_t rc;

	if (!dfs->read_only)
		flags |= EXT2_FLAG_RW;
	blk_io_name(dfs->meta_dev, name, sizeof(name));
	rc = ext2fs_open2(name, NULL, flags, 0, 0, blk_io_manager, &dfs->fs);
	if (rc) {
		dfs->fs = NULL;
		disk_report(dfs, "cannot open the file system: %s", error_message(rc));
		return disk_err(rc);
	}
	rc = ext2fs_read_bitmaps(dfs->fs);
	if (rc) {
		disk_report(dfs, "cannot read the allocation bitmaps: %s",
			    error_message(rc));
		return disk_err(rc);
	}
	return dfs->read_only ? 0 : disk_flush_init(dfs);
}

/* Frees what a crash left on the orphan list, in one transaction. */
static int cleanup_orphans(struct disk_fs *dfs)
{
	int err;

	if (dfs->read_only || !dfs->fs->super->s_last_orphan)
		return 0;
	err = disk_handle_start(dfs, 64);
	if (err)
		return err;
	err = disk_process_orphans(dfs);
	disk_handle_stop(dfs);
	if (err)
		disk_report(dfs, "mount: cannot clean up the orphan list (%d)", err);
	return err;
}

void disk_mount_opts_init(struct disk_mount_opts *o)
{
	memset(o, 0, sizeof(*o));
}

/* Everything but the orphan cleanup: devices, libext2fs, checks, journal. */
static int mount_fs(struct blk_dev *dev, const struct disk_mount_opts *o,
		    struct disk_fs **out)
{
	struct disk_fs *dfs;
	int err;

	dfs = calloc(1, sizeof(*dfs));
	if (!dfs)
		return -ENOMEM;
	dfs->read_only = o->read_only || dev->read_only;
	dfs->icache_size = DISK_ICACHE_BUCKETS;
	dfs->icache = calloc(dfs->icache_size, sizeof(*dfs->icache));
	if (!dfs->icache) {
		err = -ENOMEM;
		goto fail;
	}
	err = attach_devices(dfs, dev, o);
	if (err)
		goto fail;
	err = open_fs(dfs);
	if (err)
		goto fail;
	err = check_mountable(dfs, "mount");
	if (err)
		goto fail;
	dfs->block_size = dfs->fs->blocksize;
	dfs->fs->umask = 0;
	err = start_journal(dfs, o);
	if (err) {
		disk_report(dfs, "cannot start the journal (%d)", err);
		goto fail;
	}
	*out = dfs;
	return 0;
fail:
	disk_flush_free(dfs);
	if (dfs->fs)
		ext2fs_free(dfs->fs);
	detach_devices(dfs);
	free(dfs->icache);
	free(dfs);
	return err;
}

int disk_mount_opts(struct blk_dev *dev, const struct disk_mount_opts *o,
		    struct disk_fs **out)
{
	struct disk_fs *dfs;
	int err;

	*out = NULL;
	initialize_ext2_error_table();
	err = mount_fs(dev, o, &dfs);
	if (err)
		return err;
	err = cleanup_orphans(dfs);
	if (err) {
		disk_unmount(dfs);
		return err;
	}
	*out = dfs;
	return 0;
}

int disk_mount(struct blk_dev *dev, int read_only, struct disk_fs **out)
{
	struct disk_mount_opts o;

	disk_mount_opts_init(&o);
	o.read_only = read_only;
	return disk_mount_opts(dev, &o, out);
}

/* Frees every cached inode, referenced or not (unmount). */
static void drop_icache(struct disk_fs *dfs)
{
	struct disk_inode *inode, *next;
	unsigned i;

	for (i = 0; i < dfs->icache_size; i++) {
		for (inode = dfs->icache[i]; inode; inode = next) {
			next = inode->hash_next;
			disk_dcache_free(inode);
			free(inode->i_private);
			free(inode);
		}
		dfs->icache[i] = NULL;
	}
}

int disk_unmount(struct disk_fs *dfs)
{
	int err = 0, err2;

	if (!dfs)
		return 0;
	if (!dfs->read_only) {
		err = disk_handle_start(dfs, 64);
		if (!err) {
			err = disk_write_metadata(dfs);
			disk_handle_stop(dfs);
		}
	}
	if (dfs->jops) {
		err2 = dfs->jops->unmount(dfs->journal);
		if (err2 && !err)
			err = err2;
	}
	/*
	 * ext2fs_close writes the superblock once more (s_kbytes_written), past
	 * the journal.  Knowing what is on disk (orig_super), libext2fs writes
	 * only the changed 16-bit words, each as its own write: a crash between
	 * two of them leaves a primary superblock whose checksum does not match,
	 * and e2fsck falls back to the stale backups.  Without it the superblock
	 * goes out whole, in one write.
	 */
	if (dfs->fs->orig_super)
		ext2fs_free_mem(&dfs->fs->orig_super);
	err2 = disk_err(ext2fs_close_free(&dfs->fs));
	if (err2 && !err)
		err = err2;
	if (dfs->jops)
		dfs->jops->destroy(dfs->journal);
	disk_freed_detach(dfs);
	detach_devices(dfs);
	if (!dfs->read_only) {
		err2 = blk_flush(dfs->dev);
		if (err2 && !err)
			err = err2;
	}
	disk_flush_free(dfs);
	drop_icache(dfs);
	free(dfs->icache);
	free(dfs);
	return err;
}
