/*
 * libfs/check driver: opens the image read-only, replays the journal into a
 * memory overlay when it needs recovery, then runs the passes in order.
 * Calls libfs/blk and libext2fs.  The image itself is never written: the
 * device is opened read-only and libext2fs gets no EXT2_FLAG_RW.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libfs/check/chk_internal.h"

int chk_read(struct chk_ctx *c, uint64_t off, void *buf, size_t len)
{
	if (off > c->dev->size || len > c->dev->size - off)
		return -EIO;
	return blk_read(c->dev, off, buf, len);
}

int chk_block_valid(const struct chk_ctx *c, uint64_t blk, uint64_t len)
{
	return blk >= c->first_data && blk < c->nblocks && len <= c->nblocks - blk;
}

int chk_read_block(struct chk_ctx *c, uint64_t blk, void *buf)
{
	if (!chk_block_valid(c, blk, 1) && blk != 0)
		return -EUCLEAN;
	return chk_read(c, blk * c->bs, buf, c->bs);
}

/* Tries the primary superblock, then the first backups at each block size. */
static errcode_t open_fs(struct chk_ctx *c, struct blk_dev *dev, ext2_filsys *fsp,
			 int *used_backup)
{
	const int flags = EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS |
			  EXT2_FLAG_SKIP_MMP | EXT2_FLAG_IGNORE_SB_ERRORS;
	char name[64];
	errcode_t err;

	blk_io_name(dev, name, sizeof(name));
	*used_backup = 0;
	err = ext2fs_open2(name, NULL, flags, 0, 0, blk_io_manager, fsp);
	if (!err)
		return 0;
	for (unsigned bs = 1024; bs <= 65536; bs *= 2) {
		blk64_t sb = bs == 1024 ? 8193 : bs * 8;

		if (ext2fs_open2(name, NULL, flags, sb, bs, blk_io_manager, fsp) == 0) {
			*used_backup = 1;
			return 0;
		}
	}
	return err;
}

static void set_geometry(struct chk_ctx *c)
{
	ext2_filsys fs = c->fs;

	c->sb = fs->super;
	c->bs = fs->blocksize;
	c->nblocks = ext2fs_blocks_count(fs->super);
	c->first_data = fs->super->s_first_data_block;
	c->ninodes = fs->super->s_inodes_count;
	c->ngroups = fs->group_desc_count;
	c->ipg = fs->super->s_inodes_per_group;
	c->first_ino = EXT2_FIRST_INODE(fs->super);
	c->isz = EXT2_INODE_SIZE(fs->super);
	c->csum = ext2fs_has_feature_metadata_csum(fs->super);
	c->gdt_csum = ext2fs_has_group_desc_csum(fs);
	c->progress = c->opts && (c->opts->progress >= 2 ||
				  (c->opts->progress == 1 && c->ninodes >= CHK_PROGRESS_INODES));
}

static int alloc_maps(struct chk_ctx *c)
{
	errcode_t err;

	err = ext2fs_allocate_block_bitmap(c->fs, "used", &c->used);
	if (!err)
		err = ext2fs_allocate_block_bitmap(c->fs, "meta", &c->meta);
	if (!err)
		err = ext2fs_allocate_inode_bitmap(c->fs, "iused", &c->iused);
	if (err)
		return -ENOMEM;
	c->ino = calloc((size_t)c->ninodes + 1, sizeof(*c->ino));
	c->group_ok = calloc(c->ngroups ? c->ngroups : 1, 1);
	return c->ino && c->group_ok ? 0 : -ENOMEM;
}

static void free_ctx(struct chk_ctx *c)
{
	if (c->used)
		ext2fs_free_block_bitmap(c->used);
	if (c->meta)
		ext2fs_free_block_bitmap(c->meta);
	if (c->iused)
		ext2fs_free_inode_bitmap(c->iused);
	free(c->ino);
	free(c->group_ok);
	free(c->dblk);
	free(c->ea);
	free(c->inl);
	free(c->inl_ino);
	chk_quota_free(c);
	if (c->fs)
		ext2fs_close_free(&c->fs);
}

/* The geometry must be sane before any pass trusts it. */
static int geometry_sane(struct chk_ctx *c)
{
	if (c->ninodes == 0 || c->ipg == 0 || c->ngroups == 0 || c->nblocks == 0)
		return 0;
	if ((uint64_t)c->ipg * c->ngroups < c->ninodes)
		return 0;
	if (c->isz < EXT2_GOOD_OLD_INODE_SIZE || c->isz > c->bs)
		return 0;
	if (c->nblocks > c->dev->size / c->bs + 1) {
		chk_err_fs(c, "SUPER_SIZE_BEYOND_DEVICE",
			   "superblock says %llu blocks, the image holds %llu",
			   (unsigned long long)c->nblocks,
			   (unsigned long long)(c->dev->size / c->bs));
	}
	return 1;
}

typedef int (*chk_pass_fn)(struct chk_ctx *c);

static int run_passes(struct chk_ctx *c)
{
	static const struct { const char *name; chk_pass_fn fn; } passes[] = {
		{ "superblock and group descriptors", chk_super },
		{ "orphans", chk_orphans },
		{ "inodes, blocks and sizes", chk_inodes },
		{ "directory structure", chk_dirs },
		{ "connectivity and reference counts", chk_links },
		{ "quota usage", chk_quota },
		{ "group summary information", chk_bitmaps },
	};
	int ret;

	ret = alloc_maps(c);
	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(passes) / sizeof(passes[0]); i++) {
		chk_verbose(c, "pass %zu: %s", i + 1, passes[i].name);
		ret = passes[i].fn(c);
		if (ret == -EUCLEAN)
			break;		/* reported; later passes would trust garbage */
		if (ret)
			return ret;
	}
	return 0;
}

/* Opens libext2fs on @dev into @c; a finding when only a backup works. */
static int open_on(struct chk_ctx *c, struct blk_dev *dev)
{
	int backup;
	errcode_t err;

	c->dev = dev;
	err = open_fs(c, dev, &c->fs, &backup);
	if (err) {
		struct ext2_super_block sb;

		if (blk_read(dev, 1024, &sb, sizeof(sb)) || sb.s_magic != EXT2_SUPER_MAGIC) {
			c->rep->op_error = -EINVAL;
			chk_err_fs(c, "SUPER_BAD_MAGIC", "no ext2/3/4 superblock found");
			return -EINVAL;
		}
		chk_err_fs(c, "SUPER_CORRUPT", "superblock cannot be used (%s), no usable backup",
			   error_message(err));
		return -EUCLEAN;
	}
	if (backup)
		chk_err_fs(c, "SUPER_PRIMARY_BAD",
			   "primary superblock or group descriptors unusable (%s); using a backup",
			   error_message(err));
	set_geometry(c);
	if (!geometry_sane(c)) {
		chk_err_fs(c, "SUPER_GEOMETRY", "superblock geometry is inconsistent");
		return -EUCLEAN;
	}
	return 0;
}

int chk_image(const char *path, const struct chk_opts *opts, struct chk_report *rep)
{
	struct chk_ctx c;
	struct blk_dev *dev, *replay = NULL;
	int err = 0, ret;

	memset(rep, 0, sizeof(*rep));
	memset(&c, 0, sizeof(c));
	c.opts = opts;
	c.rep = rep;
	dev = blk_open_image(path, 1, &err);
	if (!dev) {
		rep->op_error = err ? err : -EIO;
		return rep->op_error;
	}
	ret = open_on(&c, dev);
	if (ret == 0) {
		chk_verbose(&c, "pass 0: journal");
		ret = chk_journal(&c, &replay);
	}
	if (ret == 0 && replay) {
		ext2fs_close_free(&c.fs);
		ret = open_on(&c, replay);
		c.replayed = 1;
	}
	if (ret == 0)
		ret = run_passes(&c);
	free_ctx(&c);
	if (replay)
		blk_close(replay);	/* closes the image below it too */
	else
		blk_close(dev);
	if (ret == -EUCLEAN)
		ret = 0;
	if (ret && !rep->op_error)
		rep->op_error = ret;
	return rep->op_error;
}
